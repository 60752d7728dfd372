/*
 * Buffered output to a file descriptor, compressed on the way: zstd through
 * libzstd, gzip and bzip2 through the external programs, as mwrap does.
 */
#ifndef BPFTAPE_BYTE_OUTPUT_H
#define BPFTAPE_BYTE_OUTPUT_H

#include <stddef.h>

#include "byte_input.h"

struct byte_output;

/* fd is not owned. msg receives a sentence on failure. */
int byte_output__open(struct byte_output **out, int fd, enum byte_compression comp, char *msg,
		      size_t msglen);
int byte_output__write(struct byte_output *o, const void *data, size_t len);
/* Flushes, ends the compressed stream, waits for an external compressor. */
int byte_output__close(struct byte_output *o, char *msg, size_t msglen);

#endif
