/*
 * Buffered reading of a file, a pipe or standard input, decompressing on the
 * way when the data is zstd (libzstd, in process), gzip or bzip2 (the gzip or
 * bzip2 program, as mwrap itself does). Every reader in the project reads
 * through this, so that memory stays bounded and damage is reported alike.
 */
#ifndef BPFTAPE_BYTE_INPUT_H
#define BPFTAPE_BYTE_INPUT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct byte_input;

enum byte_compression {
	BYTE_RAW = 0,
	BYTE_ZSTD,
	BYTE_GZIP,
	BYTE_BZIP2,
};

const char *byte_compression_name(enum byte_compression c);
/* The compression a file name's suffix promises (.zst, .gz, .bz2), or BYTE_RAW. */
enum byte_compression byte_compression_from_suffix(const char *path);

/*
 * Opens path ("-" for standard input), detecting compression from the data's
 * own magic bytes. On failure returns a negative errno and a sentence in msg.
 */
int byte_input__open(struct byte_input **out, const char *path, char *msg, size_t msglen);
/* Reads an uncompressed stream from fd (not owned) with no detection. */
int byte_input__from_fd(struct byte_input **out, int fd);
/* Reads from memory (fuzzing, tests); the buffer must outlive the input. */
int byte_input__from_memory(struct byte_input **out, const void *data, size_t len);

enum byte_compression byte_input__compression(const struct byte_input *in);

/*
 * Makes at least want bytes available unless the stream ends first. Returns
 * how many are available (fewer than want only at the end), or a negative errno.
 */
ssize_t byte_input__fill(struct byte_input *in, size_t want);
const uint8_t *byte_input__data(const struct byte_input *in);
void byte_input__consume(struct byte_input *in, size_t n);
/* Reads up to n bytes into dst; fewer only at the end. Returns the count or -errno. */
ssize_t byte_input__read(struct byte_input *in, void *dst, size_t n);
/* Offset in the (decompressed) stream of the next unread byte. */
uint64_t byte_input__offset(const struct byte_input *in);
/*
 * Closes; for an external decompressor, waits for it and returns -EBADMSG
 * with msg filled when it reported an error (garbage where gzip was expected).
 */
int byte_input__close(struct byte_input *in, char *msg, size_t msglen);

#endif
