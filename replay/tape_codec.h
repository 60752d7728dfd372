/*
 * Record layer of the tape (internal to the format library): one event to and
 * from its varint encoding. Deltas are taken against a state that starts
 * fresh in every chunk, so that each chunk decodes on its own.
 */
#ifndef BPFTAPE_TAPE_CODEC_H
#define BPFTAPE_TAPE_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "tape.h"

struct tape_delta_state {
	uint32_t pid;
	uint32_t tid;
	uint64_t ts;
	uint64_t ptr;		/* last pointer seen in an allocator record */
	uint64_t caller;	/* last caller address */
	/* Last: a decoded stack record's frames (the encoder saves only what precedes). */
	uint64_t frames[TAPE_STACK_MAX_FRAMES];
};

/* Longest encoding of one record, strings excluded (a stack record's frames included). */
#define TAPE_RECORD_FIXED_MAX (160 + 10 * TAPE_STACK_MAX_FRAMES)
/* Strings longer than this are cut when encoded. */
#define TAPE_STRING_MAX 4096

/*
 * Encodes ev's payload (without type and length) into out, which must hold
 * TAPE_RECORD_FIXED_MAX + 2 * TAPE_STRING_MAX bytes. Returns the length.
 */
size_t tape_encode_payload(struct tape_delta_state *s, const struct tape_event *ev, uint8_t *out);

enum tape_decode_result {
	TAPE_DECODE_OK = 1,
	TAPE_DECODE_UNKNOWN = 2,	/* a kind this reader does not know: skip it */
	TAPE_DECODE_BAD = -1,
};

/*
 * Decodes one framed record from [p, end). On OK and UNKNOWN, *used is the
 * number of bytes the record took. Strings in ev point into [p, end).
 */
int tape_decode_record(struct tape_delta_state *s, const uint8_t *p, const uint8_t *end,
		       struct tape_event *ev, size_t *used);

#endif
