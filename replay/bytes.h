/*
 * Fixed-width little-endian fields and LEB128 varints: the two ways the tape
 * stores integers. Every on-disk integer goes through these, so a tape reads
 * the same on any host whatever its byte order.
 */
#ifndef BPFTAPE_BYTES_H
#define BPFTAPE_BYTES_H

#include <stddef.h>
#include <stdint.h>

static inline void put_le16(uint8_t *p, uint16_t v)
{
	p[0] = v;
	p[1] = v >> 8;
}

static inline void put_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = v >> (8 * i);
}

static inline void put_le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = v >> (8 * i);
}

static inline uint16_t get_le16(const uint8_t *p)
{
	return p[0] | (uint16_t)p[1] << 8;
}

static inline uint32_t get_le32(const uint8_t *p)
{
	return p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t get_le64(const uint8_t *p)
{
	return get_le32(p) | (uint64_t)get_le32(p + 4) << 32;
}

#define VARINT_MAX 10

/* Appends v as an unsigned LEB128 varint; returns the bytes written (1..10). */
static inline size_t varint_put(uint8_t *p, uint64_t v)
{
	size_t n = 0;

	while (v >= 0x80) {
		p[n++] = (uint8_t)v | 0x80;
		v >>= 7;
	}
	p[n++] = (uint8_t)v;
	return n;
}

/*
 * Reads one varint from [p, end). Returns the bytes consumed, or 0 when the
 * input ends first or the varint is longer than 64 bits can hold.
 */
static inline size_t varint_get(const uint8_t *p, const uint8_t *end, uint64_t *v)
{
	uint64_t out = 0;

	for (size_t n = 0; n < VARINT_MAX && p + n < end; n++) {
		uint64_t b = p[n];

		if (n == VARINT_MAX - 1 && b > 1)
			return 0;
		out |= (b & 0x7f) << (7 * n);
		if (!(b & 0x80)) {
			*v = out;
			return n + 1;
		}
	}
	return 0;
}

/* Signed values (deltas) go through zigzag so that small magnitudes stay short. */
static inline uint64_t zigzag(int64_t v)
{
	return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
}

static inline int64_t unzigzag(uint64_t v)
{
	return (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
}

#endif
