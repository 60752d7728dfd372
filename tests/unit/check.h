/*
 * The unit tests' harness: each TEST prints "ok NAME" or "not ok NAME: why"
 * on stdout, which tests/run.sh counts. A failed CHECK ends its test.
 */
#ifndef BPFTAPE_CHECK_H
#define BPFTAPE_CHECK_H

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static jmp_buf check_jump;
static char check_why[512];
static int check_failed_tests;

#define CHECK(cond)                                                                \
	do {                                                                       \
		if (!(cond)) {                                                     \
			snprintf(check_why, sizeof(check_why), "%s:%d: %s", __FILE__, \
				 __LINE__, #cond);                                 \
			longjmp(check_jump, 1);                                    \
		}                                                                  \
	} while (0)

/* CHECK with a printf-style explanation. */
#define CHECKF(cond, ...)                                                          \
	do {                                                                       \
		if (!(cond)) {                                                     \
			int n_ = snprintf(check_why, sizeof(check_why), "%s:%d: ",     \
					  __FILE__, __LINE__);                     \
			snprintf(check_why + n_, sizeof(check_why) - n_, __VA_ARGS__); \
			longjmp(check_jump, 1);                                    \
		}                                                                  \
	} while (0)

#define RUN(fn)                                                                    \
	do {                                                                       \
		if (setjmp(check_jump) == 0) {                                     \
			fn();                                                      \
			printf("ok %s\n", #fn);                                    \
		} else {                                                           \
			printf("not ok %s: %s\n", #fn, check_why);                 \
			check_failed_tests++;                                      \
		}                                                                  \
		fflush(stdout);                                                    \
	} while (0)

#define SKIP(fn, why) printf("skip %s: %s\n", #fn, why)

static inline int check_exit(void)
{
	return check_failed_tests ? 1 : 0;
}

/* A file's whole contents; the caller frees. */
static inline unsigned char *check_slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	unsigned char *buf = NULL;
	size_t cap = 0, n = 0, r;

	if (!f)
		return NULL;
	do {
		if (n == cap) {
			cap = cap ? cap * 2 : 4096;
			buf = realloc(buf, cap);
		}
		r = fread(buf + n, 1, cap - n, f);
		n += r;
	} while (r > 0);
	fclose(f);
	*len = n;
	return buf;
}

#endif
