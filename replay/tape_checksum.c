/*
 * Chunk and header checksums: XXH3-64 from xxHash, compiled in from its
 * header so that the replay engine gains no library dependency. Measured
 * against zlib's crc32 by `make bench` (tools/bench/checksum_cost.c): XXH3 costs far less
 * per byte.
 */
#define XXH_INLINE_ALL
#include <xxhash.h>

#include "tape_format.h"

uint64_t tape_checksum(const void *data, uint64_t len)
{
	return XXH3_64bits(data, len);
}
