/*
 * Prints the shared objects user/ld_search.c finds for an executable, one
 * path per line, for comparison with what the real loader loads (ldd).
 * Usage: ld_list EXE   (LD_PRELOAD and LD_LIBRARY_PATH from the environment)
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ld_search.h"
#include "safe_open.h"

static int print(int fd, const char *path, void *ctx)
{
	(void)fd;
	(void)ctx;
	printf("%s\n", path);
	return 0;
}

int main(int argc, char **argv)
{
	struct ld_env env = { getenv("LD_PRELOAD"), getenv("LD_LIBRARY_PATH"), false };
	int fd, r;

	if (argc != 2) {
		fprintf(stderr, "usage: ld_list EXE\n");
		return 2;
	}
	fd = safe_open(-1, argv[1], 1ull << 32);
	if (fd < 0) {
		fprintf(stderr, "ld_list: cannot open %s: %s\n", argv[1], strerror(-fd));
		return 1;
	}
	r = ld_search(-1, fd, argv[1], &env, print, NULL);
	close(fd);
	if (r < 0) {
		fprintf(stderr, "ld_list: %s\n", strerror(-r));
		return 1;
	}
	return 0;
}
