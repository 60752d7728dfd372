/*
 * Output files: created 0600 (tapes hold addresses, paths and arguments of
 * production processes), never overwritten without force, and given to the
 * invoking user when bpftape runs under sudo.
 */
#ifndef BPFTAPE_OUTPUT_FILE_H
#define BPFTAPE_OUTPUT_FILE_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Opens path for writing ("-" is standard output). Returns the fd, or a
 * negative errno with a sentence in msg ("x.tape exists; use --force").
 */
int output_file__create(const char *path, bool force, char *msg, size_t msglen);
/* Closes fd unless it is standard output. */
int output_file__close(int fd);

#endif
