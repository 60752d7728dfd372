/*
 * On-disk layout constants shared by the tape reader and writer (internal to
 * the format library). docs/FORMAT.md describes the same bytes in prose; the
 * test suite checks that the two agree.
 */
#ifndef BPFTAPE_TAPE_FORMAT_H
#define BPFTAPE_TAPE_FORMAT_H

#include <stddef.h>
#include <stdint.h>

/* File header: fixed part, then configuration entries, then padding to header_size. */
#define TAPE_HDR_FIXED 32
#define TAPE_HDR_OFF_VERSION_MAJOR 8
#define TAPE_HDR_OFF_VERSION_MINOR 10
#define TAPE_HDR_OFF_SIZE 12
#define TAPE_HDR_OFF_BYTE_ORDER 16
#define TAPE_HDR_OFF_POINTER_SIZE 17
#define TAPE_HDR_OFF_FLAGS 18
#define TAPE_HDR_OFF_PAGE_SIZE 20
#define TAPE_HDR_OFF_NENTRIES 24
#define TAPE_HDR_OFF_CHECKSUM 28	/* low 32 bits of XXH3-64 over the header, this field zero */
#define TAPE_CFG_ENTRY_FIXED 8		/* u16 key, u16 reserved, u32 length */
#define TAPE_HDR_MAX (16u << 20)

/* Chunk header. */
#define TAPE_CHUNK_MAGIC "TCHK"
#define TAPE_CHUNK_HDR 48
#define TAPE_CHUNK_OFF_CODEC 4
#define TAPE_CHUNK_OFF_FLAGS 5
#define TAPE_CHUNK_OFF_HDR_SIZE 6
#define TAPE_CHUNK_OFF_STORED 8
#define TAPE_CHUNK_OFF_RAW 12
#define TAPE_CHUNK_OFF_COUNT 16
#define TAPE_CHUNK_OFF_FIRST_TS 20
#define TAPE_CHUNK_OFF_LAST_TS 28
#define TAPE_CHUNK_OFF_CHECKSUM 36	/* XXH3-64 of the stored payload */
#define TAPE_CHUNK_OFF_HDR_CHECKSUM 44	/* low 32 bits of XXH3-64 of bytes [0, 44) */

/* Limits a reader enforces so that hostile lengths cannot exhaust memory. */
#define TAPE_CHUNK_RAW_MAX (64u << 20)
#define TAPE_CHUNK_DEFAULT_BYTES (1u << 20)

/* Record framing inside a chunk: u8 type, varint payload length, payload. */
#define TAPE_RECORD_MAX_PAYLOAD (1u << 20)

/* Alloc record flags (encoded, derived from field values). */
#define TAPE_AF_RESULT_NULL 1
#define TAPE_AF_PTR_NULL 2
#define TAPE_AF_NO_CALLER 4
#define TAPE_AF_STACK 8		/* a stack ID follows the caller (1.1) */
/* Bits 4 to 7: the form of new and delete (TAPE_VARIANT_*), 1.1. */
#define TAPE_AF_VARIANT_SHIFT 4

/* Syscall record flags (encoded): low bits are TAPE_SYS_*, path state above. */
#define TAPE_SF_PATH_SHIFT 8

uint64_t tape_checksum(const void *data, uint64_t len);

struct tape_header;
/* Serialises h into a malloc'd buffer of *len bytes (a multiple of 8). */
int tape_header__encode(const struct tape_header *h, uint8_t **buf, size_t *len);
/*
 * Parses the fixed part (TAPE_HDR_FIXED bytes at buf) and returns the whole
 * header's size in *size, or a negative errno with a sentence in msg.
 */
int tape_header__parse_fixed(const uint8_t *buf, uint32_t *size, char *msg, size_t msglen);
/* Parses a whole header of len bytes into h (which the caller frees). */
int tape_header__decode(const uint8_t *buf, size_t len, struct tape_header *h, char *msg,
			size_t msglen);

#endif
