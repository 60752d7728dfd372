/*
 * A minimal HTTP/1.1 file server on 127.0.0.1, so that the debuginfod
 * client is tested without a network: GET /PATH answers ROOT/PATH (a
 * regular file; no ".." in PATH), 404 otherwise. It writes its port to
 * PORT_FILE, serves one connection at a time, and exits after IDLE seconds
 * without a request (default 60), so that a test that dies leaves nothing.
 * Each request is logged to stderr.
 * Usage: http_files ROOT PORT_FILE [IDLE_SECONDS]
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

static void answer(int c, const char *root)
{
	char req[4096], method[16], path[2048], file[4096], head[256], buf[1 << 16];
	ssize_t n = 0, r;
	struct stat st;
	int fd = -1;

	/* The request line and headers, up to the blank line. */
	while (n < (ssize_t)sizeof(req) - 1 && (r = read(c, req + n, sizeof(req) - 1 - n)) > 0) {
		n += r;
		req[n] = 0;
		if (strstr(req, "\r\n\r\n"))
			break;
	}
	req[n > 0 ? n : 0] = 0;
	if (sscanf(req, "%15s %2047s", method, path) == 2 && !strstr(path, "..") &&
	    snprintf(file, sizeof(file), "%s%s", root, path) < (int)sizeof(file) &&
	    (fd = open(file, O_RDONLY | O_NONBLOCK)) >= 0 && !fstat(fd, &st) && S_ISREG(st.st_mode)) {
		fprintf(stderr, "http_files: 200 %s %s\n", method, path);
		n = snprintf(head, sizeof(head),
			     "HTTP/1.1 200 OK\r\nContent-Length: %lld\r\nConnection: close\r\n\r\n",
			     (long long)st.st_size);
		if (write(c, head, n) != n)
			goto out;
		if (!strcmp(method, "HEAD"))
			goto out;
		while ((r = read(fd, buf, sizeof(buf))) > 0)
			if (write(c, buf, r) != r)
				break;
	} else {
		static const char nf[] =
			"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";

		fprintf(stderr, "http_files: 404 %s\n", path);
		if (write(c, nf, sizeof(nf) - 1) < 0)
			goto out;
	}
out:
	if (fd >= 0)
		close(fd);
}

int main(int argc, char **argv)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t alen = sizeof(a);
	int idle = argc > 3 ? atoi(argv[3]) : 60, s;
	FILE *pf;

	if (argc < 3)
		return 2;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof(a)) || listen(s, 16) ||
	    getsockname(s, (struct sockaddr *)&a, &alen)) {
		perror("http_files");
		return 1;
	}
	pf = fopen(argv[2], "w");
	if (!pf || fprintf(pf, "%d\n", ntohs(a.sin_port)) < 0 || fclose(pf))
		return 1;
	for (;;) {
		struct pollfd p = { s, POLLIN, 0 };
		int c;

		if (poll(&p, 1, idle * 1000) <= 0)
			return 0;
		c = accept(s, NULL, NULL);
		if (c < 0)
			continue;
		answer(c, argv[1]);
		close(c);
	}
}
