/* Buffered, optionally compressing output: see byte_output.h. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zstd.h>

#include "byte_output.h"

#define OUTPUT_BUF (64u << 10)

struct byte_output {
	int fd;			/* where bytes go: the file, or the compressor's stdin */
	enum byte_compression comp;
	uint8_t buf[OUTPUT_BUF];
	size_t len;
	ZSTD_CCtx *zc;
	uint8_t *zbuf;
	size_t zcap;
	pid_t child;
	const char *child_name;
	int err;
};

static int write_fd(int fd, const void *data, size_t len)
{
	const char *p = data;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= n;
	}
	return 0;
}

static int zstd_push(struct byte_output *o, const void *data, size_t len, ZSTD_EndDirective end)
{
	ZSTD_inBuffer in = { data, len, 0 };
	size_t left;

	do {
		ZSTD_outBuffer out = { o->zbuf, o->zcap, 0 };
		int err;

		left = ZSTD_compressStream2(o->zc, &out, &in, end);
		if (ZSTD_isError(left))
			return -EIO;
		err = write_fd(o->fd, o->zbuf, out.pos);
		if (err)
			return err;
	} while (end == ZSTD_e_end ? left != 0 : in.pos < in.size);
	return 0;
}

static int flush_buf(struct byte_output *o)
{
	int err;

	if (!o->len)
		return 0;
	err = o->zc ? zstd_push(o, o->buf, o->len, ZSTD_e_continue) : write_fd(o->fd, o->buf, o->len);
	o->len = 0;
	return err;
}

/* Starts "prog -c" writing to fd; our bytes go to its stdin. */
static int start_compressor(struct byte_output *o, int fd, const char *prog)
{
	int p[2];
	pid_t pid;

	if (pipe2(p, O_CLOEXEC))
		return -errno;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		dup2(p[0], 0);
		dup2(fd, 1);
		execlp(prog, prog, "-c", (char *)NULL);
		_exit(127);
	}
	close(p[0]);
	o->fd = p[1];
	o->child = pid;
	o->child_name = prog;
	/* A compressor that dies must give us EPIPE, not kill us. */
	signal(SIGPIPE, SIG_IGN);
	return 0;
}

int byte_output__open(struct byte_output **out, int fd, enum byte_compression comp, char *msg,
		      size_t msglen)
{
	struct byte_output *o = calloc(1, sizeof(*o));
	int err = 0;

	if (!o)
		return -ENOMEM;
	o->fd = fd;
	o->comp = comp;
	o->child = -1;
	if (comp == BYTE_ZSTD) {
		o->zc = ZSTD_createCCtx();
		o->zcap = ZSTD_CStreamOutSize();
		o->zbuf = malloc(o->zcap);
		if (!o->zc || !o->zbuf)
			err = -ENOMEM;
		else
			ZSTD_CCtx_setParameter(o->zc, ZSTD_c_compressionLevel, 3);
	} else if (comp == BYTE_GZIP || comp == BYTE_BZIP2) {
		err = start_compressor(o, fd, comp == BYTE_GZIP ? "gzip" : "bzip2");
	}
	if (err) {
		snprintf(msg, msglen, "cannot start %s compression: %s", byte_compression_name(comp),
			 strerror(-err));
		ZSTD_freeCCtx(o->zc);
		free(o->zbuf);
		free(o);
		return err;
	}
	*out = o;
	return 0;
}

int byte_output__write(struct byte_output *o, const void *data, size_t len)
{
	if (o->err)
		return o->err;
	if (o->len + len > sizeof(o->buf)) {
		o->err = flush_buf(o);
		if (o->err)
			return o->err;
	}
	if (len > sizeof(o->buf))
		return o->err = o->zc ? zstd_push(o, data, len, ZSTD_e_continue) :
					write_fd(o->fd, data, len);
	memcpy(o->buf + o->len, data, len);
	o->len += len;
	return 0;
}

int byte_output__close(struct byte_output *o, char *msg, size_t msglen)
{
	int err = o->err;

	if (!err)
		err = flush_buf(o);
	if (!err && o->zc)
		err = zstd_push(o, NULL, 0, ZSTD_e_end);
	if (err && msg)
		snprintf(msg, msglen, "cannot write: %s", strerror(-err));
	if (o->child > 0) {
		int status;

		close(o->fd);
		while (waitpid(o->child, &status, 0) < 0 && errno == EINTR)
			;
		if (!err && !(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
			bool missing = WIFEXITED(status) && WEXITSTATUS(status) == 127;

			err = missing ? -ENOENT : -EIO;
			if (msg && missing)
				snprintf(msg, msglen, "%s is not installed (apt-get install %s)",
					 o->child_name, o->child_name);
			else if (msg)
				snprintf(msg, msglen, "%s failed while compressing the output",
					 o->child_name);
		}
	}
	ZSTD_freeCCtx(o->zc);
	free(o->zbuf);
	free(o);
	return err;
}
