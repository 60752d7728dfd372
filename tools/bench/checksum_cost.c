/*
 * The chunk checksum's cost per byte: XXH3 (libxxhash) against zlib's
 * crc32 over the same buffer, the measurement behind the format's choice.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
/* Compiled in from the header, exactly as replay/tape_checksum.c does. */
#define XXH_INLINE_ALL
#include <xxhash.h>
#include <zlib.h>

#define BYTES (64u << 20)
#define ROUNDS 8

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(void)
{
	unsigned char *buf = malloc(BYTES);
	volatile uint64_t sink = 0;
	double t0, xxh = 1e9, crc = 1e9;

	if (!buf)
		return 1;
	for (size_t i = 0; i < BYTES; i++)
		buf[i] = (unsigned char)(i * 2654435761u >> 13);
	/* Best of several rounds: the cost, not the noise. */
	for (int r = 0; r < ROUNDS; r++) {
		t0 = now();
		sink += XXH3_64bits(buf, BYTES);
		xxh = xxh < now() - t0 ? xxh : now() - t0;
		t0 = now();
		sink += crc32(0, buf, BYTES);
		crc = crc < now() - t0 ? crc : now() - t0;
	}
	printf("xxh3 %.4f ns/byte crc32 %.4f ns/byte\n", xxh * 1e9 / BYTES, crc * 1e9 / BYTES);
	free(buf);
	return sink == 42;
}
