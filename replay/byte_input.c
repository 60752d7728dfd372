/* Buffered, optionally decompressing input: see byte_input.h. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zstd.h>

#include "byte_input.h"

#define INPUT_BUF (256u << 10)

struct byte_input {
	int fd;
	bool own_fd;
	enum byte_compression comp;
	/* Decoded bytes [start, end) of buf are buffered; buf[start] is at offset. */
	uint8_t *buf;
	size_t cap, start, end;
	uint64_t offset;
	bool eof;
	/* In-memory source. */
	const uint8_t *mem;
	size_t mem_len, mem_pos;
	/* zstd: compressed bytes waiting in zin[zpos, zlen). */
	ZSTD_DCtx *zd;
	uint8_t *zin;
	size_t zpos, zlen;
	bool zraw_eof;
	size_t zlast;		/* last ZSTD_decompressStream hint: 0 when a frame ended */
	/* External decompressor. */
	pid_t child;
	int child_stderr;
	const char *child_name;
};

const char *byte_compression_name(enum byte_compression c)
{
	switch (c) {
	case BYTE_ZSTD:
		return "zstd";
	case BYTE_GZIP:
		return "gzip";
	case BYTE_BZIP2:
		return "bzip2";
	default:
		return "uncompressed";
	}
}

static bool has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && !strcmp(s + n - m, suffix);
}

enum byte_compression byte_compression_from_suffix(const char *path)
{
	if (has_suffix(path, ".zst"))
		return BYTE_ZSTD;
	if (has_suffix(path, ".gz"))
		return BYTE_GZIP;
	if (has_suffix(path, ".bz2"))
		return BYTE_BZIP2;
	return BYTE_RAW;
}

static enum byte_compression sniff(const uint8_t *p, size_t n)
{
	if (n >= 4 && p[0] == 0x28 && p[1] == 0xb5 && p[2] == 0x2f && p[3] == 0xfd)
		return BYTE_ZSTD;
	if (n >= 2 && p[0] == 0x1f && p[1] == 0x8b)
		return BYTE_GZIP;
	if (n >= 3 && p[0] == 'B' && p[1] == 'Z' && p[2] == 'h')
		return BYTE_BZIP2;
	return BYTE_RAW;
}

static struct byte_input *input_new(int fd, bool own_fd)
{
	struct byte_input *in = calloc(1, sizeof(*in));

	if (!in)
		return NULL;
	in->buf = malloc(INPUT_BUF);
	if (!in->buf) {
		free(in);
		return NULL;
	}
	in->cap = INPUT_BUF;
	in->fd = fd;
	in->own_fd = own_fd;
	in->child = -1;
	in->child_stderr = -1;
	return in;
}

static ssize_t read_fd(int fd, void *dst, size_t n)
{
	for (;;) {
		ssize_t r = read(fd, dst, n);

		if (r >= 0 || errno != EINTR)
			return r < 0 ? -errno : r;
	}
}

/* Raw (still compressed) bytes from the source. */
static ssize_t read_raw(struct byte_input *in, void *dst, size_t n)
{
	if (in->mem) {
		size_t left = in->mem_len - in->mem_pos;

		if (n > left)
			n = left;
		memcpy(dst, in->mem + in->mem_pos, n);
		in->mem_pos += n;
		return n;
	}
	return read_fd(in->fd, dst, n);
}

static ssize_t read_zstd(struct byte_input *in, uint8_t *dst, size_t n)
{
	ZSTD_outBuffer out = { dst, n, 0 };

	while (out.pos == 0) {
		ZSTD_inBuffer zi;
		size_t ret;

		if (in->zpos == in->zlen && !in->zraw_eof) {
			ssize_t r = read_raw(in, in->zin, ZSTD_DStreamInSize());

			if (r < 0)
				return r;
			in->zpos = 0;
			in->zlen = r;
			in->zraw_eof = r == 0;
		}
		if (in->zpos == in->zlen && in->zraw_eof) {
			/* A frame cut short is damage, not a clean end. */
			return in->zlast ? -EBADMSG : 0;
		}
		zi = (ZSTD_inBuffer){ in->zin, in->zlen, in->zpos };
		ret = ZSTD_decompressStream(in->zd, &out, &zi);
		in->zpos = zi.pos;
		if (ZSTD_isError(ret))
			return -EBADMSG;
		in->zlast = ret;
	}
	return out.pos;
}

static ssize_t read_decoded(struct byte_input *in, void *dst, size_t n)
{
	if (in->zd)
		return read_zstd(in, dst, n);
	return read_raw(in, dst, n);
}

ssize_t byte_input__fill(struct byte_input *in, size_t want)
{
	while (in->end - in->start < want && !in->eof) {
		ssize_t r;

		if (want > in->cap) {
			uint8_t *p = realloc(in->buf, want);

			if (!p)
				return -ENOMEM;
			in->buf = p;
			in->cap = want;
		}
		if (in->cap - in->start < want) {
			memmove(in->buf, in->buf + in->start, in->end - in->start);
			in->end -= in->start;
			in->start = 0;
		}
		r = read_decoded(in, in->buf + in->end, in->cap - in->end);
		if (r < 0)
			return r;
		if (r == 0)
			in->eof = true;
		in->end += r;
	}
	return in->end - in->start;
}

const uint8_t *byte_input__data(const struct byte_input *in)
{
	return in->buf + in->start;
}

void byte_input__consume(struct byte_input *in, size_t n)
{
	if (n > in->end - in->start)
		n = in->end - in->start;
	in->start += n;
	in->offset += n;
	if (in->start == in->end)
		in->start = in->end = 0;
}

ssize_t byte_input__read(struct byte_input *in, void *dst, size_t n)
{
	size_t got = in->end - in->start;

	if (got > n)
		got = n;
	memcpy(dst, in->buf + in->start, got);
	byte_input__consume(in, got);
	/* Large reads (chunk payloads) go straight to dst, not through buf. */
	while (got < n && !in->eof) {
		ssize_t r = read_decoded(in, (uint8_t *)dst + got, n - got);

		if (r < 0)
			return r;
		if (r == 0)
			in->eof = true;
		got += r;
		in->offset += r;
	}
	return got;
}

uint64_t byte_input__offset(const struct byte_input *in)
{
	return in->offset;
}

enum byte_compression byte_input__compression(const struct byte_input *in)
{
	return in->comp;
}

static int start_zstd(struct byte_input *in)
{
	in->zd = ZSTD_createDCtx();
	in->zin = malloc(ZSTD_DStreamInSize());
	if (!in->zd || !in->zin)
		return -ENOMEM;
	/* Bytes already read while sniffing become the first compressed input. */
	if (in->end - in->start > ZSTD_DStreamInSize())
		return -EINVAL;
	memcpy(in->zin, in->buf + in->start, in->end - in->start);
	in->zlen = in->end - in->start;
	in->start = in->end = 0;
	return 0;
}

/* Runs "prog -dc" on fd (at offset 0) and reads its output instead. */
static int start_decompressor(struct byte_input *in, const char *prog, char *msg, size_t msglen)
{
	int out[2], errp[2];
	pid_t pid;

	if (lseek(in->fd, 0, SEEK_SET) != 0) {
		snprintf(msg, msglen,
			 "%s input cannot be read from a pipe; decompress it first (%s -dc FILE | ...)",
			 prog, prog);
		return -ESPIPE;
	}
	if (pipe2(out, O_CLOEXEC) || pipe2(errp, O_CLOEXEC))
		return -errno;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		dup2(in->fd, 0);
		dup2(out[1], 1);
		dup2(errp[1], 2);
		execlp(prog, prog, "-dc", (char *)NULL);
		_exit(127);
	}
	close(out[1]);
	close(errp[1]);
	if (in->own_fd)
		close(in->fd);
	in->fd = out[0];
	in->own_fd = true;
	in->child = pid;
	in->child_stderr = errp[0];
	in->child_name = prog;
	in->start = in->end = 0;
	return 0;
}

int byte_input__from_fd(struct byte_input **out, int fd)
{
	*out = input_new(fd, false);
	return *out ? 0 : -ENOMEM;
}

int byte_input__from_memory(struct byte_input **out, const void *data, size_t len)
{
	struct byte_input *in = input_new(-1, false);

	if (!in)
		return -ENOMEM;
	in->mem = data;
	in->mem_len = len;
	*out = in;
	return 0;
}

int byte_input__open(struct byte_input **out, const char *path, char *msg, size_t msglen)
{
	bool is_stdin = !strcmp(path, "-");
	enum byte_compression want = is_stdin ? BYTE_RAW : byte_compression_from_suffix(path);
	struct byte_input *in;
	struct stat st;
	bool raw_eof;
	ssize_t n;
	int fd, err;

	fd = is_stdin ? 0 : open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		snprintf(msg, msglen, "cannot open %s: %s", path, strerror(errno));
		return err;
	}
	if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
		snprintf(msg, msglen, "%s is a directory, not a tape", path);
		if (!is_stdin)
			close(fd);
		return -EISDIR;
	}
	in = input_new(fd, !is_stdin);
	if (!in) {
		if (!is_stdin)
			close(fd);
		return -ENOMEM;
	}
	n = byte_input__fill(in, 4);
	if (n < 0) {
		snprintf(msg, msglen, "cannot read %s: %s", path, strerror((int)-n));
		byte_input__close(in, NULL, 0);
		return (int)n;
	}
	raw_eof = in->eof;
	in->comp = sniff(byte_input__data(in), n);
	if (want != BYTE_RAW && in->comp != want) {
		snprintf(msg, msglen, "%s: expected %s data (from its suffix) but found %s",
			 path, byte_compression_name(want),
			 n == 0 ? "an empty file" : in->comp == BYTE_RAW ? "something else" :
			 byte_compression_name(in->comp));
		byte_input__close(in, NULL, 0);
		return -EBADMSG;
	}
	err = 0;
	in->eof = in->comp == BYTE_RAW && raw_eof;
	if (in->comp == BYTE_ZSTD)
		err = start_zstd(in);
	else if (in->comp == BYTE_GZIP)
		err = start_decompressor(in, "gzip", msg, msglen);
	else if (in->comp == BYTE_BZIP2)
		err = start_decompressor(in, "bzip2", msg, msglen);
	if (err) {
		if (err != -ESPIPE)
			snprintf(msg, msglen, "cannot decompress %s: %s", path, strerror(-err));
		byte_input__close(in, NULL, 0);
		return err;
	}
	*out = in;
	return 0;
}

int byte_input__close(struct byte_input *in, char *msg, size_t msglen)
{
	int err = 0;

	if (!in)
		return 0;
	if (in->child > 0) {
		char text[256] = "";
		ssize_t n;
		int status;

		/* Unblock the child if we stopped reading early. */
		if (in->fd >= 0)
			close(in->fd);
		in->fd = -1;
		n = read_fd(in->child_stderr, text, sizeof(text) - 1);
		text[n > 0 ? n : 0] = 0;
		text[strcspn(text, "\n")] = 0;
		close(in->child_stderr);
		while (waitpid(in->child, &status, 0) < 0 && errno == EINTR)
			;
		if (WIFEXITED(status) && WEXITSTATUS(status) == 127) {
			err = -ENOENT;
			if (msg)
				snprintf(msg, msglen, "%s is not installed (apt-get install %s)",
					 in->child_name, in->child_name);
		} else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
			/* gzip's status 2 is a warning, such as trailing garbage. */
			bool killed_by_us = WIFSIGNALED(status) && WTERMSIG(status) == SIGPIPE;

			if (!killed_by_us && !(WIFEXITED(status) && WEXITSTATUS(status) == 2)) {
				err = -EBADMSG;
				if (msg)
					snprintf(msg, msglen, "%s failed: %s", in->child_name,
						 text[0] ? text : "corrupt input");
			}
		}
	}
	if (in->own_fd && in->fd >= 0)
		close(in->fd);
	ZSTD_freeDCtx(in->zd);
	free(in->zin);
	free(in->buf);
	free(in);
	return err;
}
