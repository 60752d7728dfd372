/*
 * The chunk checksum's cost per byte: XXH3 (libxxhash) against zlib's
 * crc32 over the same buffer, the measurement behind the format's choice.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
/* Compiled in from the header, exactly as replay/tape_checksum.c does. */
#define XXH_INLINE_ALL
#include <xxhash.h>
#include <zlib.h>

#include "bench.h"

#define BYTES (64u << 20)
#define ROUNDS 8

int main(void)
{
	unsigned char *buf = malloc(BYTES);
	volatile uint64_t sink = 0;
	double t0, t, xxh = 1e9, crc = 1e9;

	if (!buf)
		return 1;
	for (size_t i = 0; i < BYTES; i++)
		buf[i] = (unsigned char)(i * 2654435761u >> 13);
	/* Best of several rounds: the cost, not the noise. */
	for (int r = 0; r < ROUNDS; r++) {
		t0 = bench_now();
		sink += XXH3_64bits(buf, BYTES);
		t = bench_now() - t0;
		xxh = t < xxh ? t : xxh;
		t0 = bench_now();
		sink += crc32(0, buf, BYTES);
		t = bench_now() - t0;
		crc = t < crc ? t : crc;
	}
	printf("xxh3 %.4f ns/byte crc32 %.4f ns/byte\n", xxh * 1e9 / BYTES, crc * 1e9 / BYTES);
	free(buf);
	return sink == 42;
}
