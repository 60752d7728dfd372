/*
 * What the fuzzers share: a fuzz input as a file (a memfd), so that it goes
 * through the same door as a real one: format detection, decompression,
 * then the reader.
 */
#ifndef BPFTAPE_FUZZ_INPUT_H
#define BPFTAPE_FUZZ_INPUT_H

#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

/* A memfd holding data, and its /proc path in path; -1 on failure. */
static int fuzz_file(const uint8_t *data, size_t size, char *path, size_t len)
{
	int fd = memfd_create("fuzz", 0);

	if (fd < 0)
		return -1;
	if (size && write(fd, data, size) != (ssize_t)size) {
		close(fd);
		return -1;
	}
	snprintf(path, len, "/proc/self/fd/%d", fd);
	return fd;
}

#endif
