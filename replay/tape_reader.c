/*
 * Streaming tape reader. Memory is bounded by one chunk. Damage never stops
 * it: a chunk that fails its checksum is skipped and counted, a damaged chunk
 * header is passed over by searching for the next valid one, and a tape cut
 * short ends at its last complete chunk, with the cut reported.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "byte_input.h"
#include "bytes.h"
#include "tape.h"
#include "tape_codec.h"
#include "tape_format.h"

struct tape_reader {
	struct byte_input *in;
	struct tape_header hdr;
	struct tape_damage damage;
	uint8_t *stored;
	size_t stored_cap;
	uint8_t *raw;
	size_t raw_cap;
	const uint8_t *p, *end;
	uint32_t chunk_events;	/* events the current chunk declared */
	uint32_t chunk_decoded;
	struct tape_delta_state st;
	ZSTD_DCtx *zd;
	bool done;
	bool damaged;
};

static void note_damage(struct tape_reader *r, uint64_t at)
{
	if (!r->damaged) {
		r->damaged = true;
		r->damage.first_damage_at = at;
	}
}

static int grow(uint8_t **buf, size_t *cap, size_t want)
{
	uint8_t *p;

	if (*cap >= want)
		return 0;
	p = realloc(*buf, want);
	if (!p)
		return -ENOMEM;
	*buf = p;
	*cap = want;
	return 0;
}

static bool chunk_header_valid(const uint8_t *h)
{
	uint32_t stored = get_le32(h + TAPE_CHUNK_OFF_STORED);
	uint32_t raw = get_le32(h + TAPE_CHUNK_OFF_RAW);

	if (memcmp(h, TAPE_CHUNK_MAGIC, 4))
		return false;
	if ((uint32_t)tape_checksum(h, TAPE_CHUNK_OFF_HDR_CHECKSUM) !=
	    get_le32(h + TAPE_CHUNK_OFF_HDR_CHECKSUM))
		return false;
	if (get_le16(h + TAPE_CHUNK_OFF_HDR_SIZE) < TAPE_CHUNK_HDR)
		return false;
	if (raw > TAPE_CHUNK_RAW_MAX || stored > ZSTD_compressBound(raw))
		return false;
	return h[TAPE_CHUNK_OFF_CODEC] == TAPE_CODEC_NONE ? stored == raw :
	       h[TAPE_CHUNK_OFF_CODEC] == TAPE_CODEC_ZSTD;
}

/*
 * Skips forward to the next position holding a valid chunk header. Returns
 * 1 when found, 0 at the end of the input, or a negative errno.
 */
static int resync(struct tape_reader *r)
{
	note_damage(r, byte_input__offset(r->in));
	for (;;) {
		ssize_t avail = byte_input__fill(r->in, 64 << 10);
		const uint8_t *d = byte_input__data(r->in);
		const uint8_t *hit;

		if (avail < 0)
			return (int)avail;
		if (avail < TAPE_CHUNK_HDR) {
			r->damage.skipped_bytes += avail;
			byte_input__consume(r->in, avail);
			return 0;
		}
		/* Position 0 is known bad: look from 1 on. */
		hit = memmem(d + 1, avail - 1, TAPE_CHUNK_MAGIC, 4);
		while (hit && hit + TAPE_CHUNK_HDR <= d + avail && !chunk_header_valid(hit))
			hit = memmem(hit + 1, d + avail - hit - 1, TAPE_CHUNK_MAGIC, 4);
		if (hit && hit + TAPE_CHUNK_HDR <= d + avail) {
			r->damage.skipped_bytes += hit - d;
			byte_input__consume(r->in, hit - d);
			return 1;
		}
		/* A magic near the end may be a header that is not all buffered yet. */
		if (hit) {
			r->damage.skipped_bytes += hit - d;
			byte_input__consume(r->in, hit - d);
			if (byte_input__fill(r->in, TAPE_CHUNK_HDR) < TAPE_CHUNK_HDR)
				continue;
			if (chunk_header_valid(byte_input__data(r->in)))
				return 1;
			r->damage.skipped_bytes++;
			byte_input__consume(r->in, 1);
			continue;
		}
		r->damage.skipped_bytes += avail - 3;
		byte_input__consume(r->in, avail - 3);
	}
}

/* Loads the next chunk's events. Returns 1, 0 at the end, or a negative errno. */
static int load_chunk(struct tape_reader *r)
{
	for (;;) {
		uint64_t at = byte_input__offset(r->in);
		ssize_t avail = byte_input__fill(r->in, TAPE_CHUNK_HDR);
		uint8_t h[TAPE_CHUNK_HDR];
		uint32_t stored, rawlen, count, extra;
		ssize_t n;
		int err;

		if (avail < 0)
			return (int)avail;
		if (avail == 0)
			return 0;
		if (avail < TAPE_CHUNK_HDR) {
			if (memcmp(byte_input__data(r->in), TAPE_CHUNK_MAGIC,
				   avail < 4 ? avail : 4) == 0) {
				note_damage(r, at);
				r->damage.truncated_at = at;
				r->damage.truncated_bytes = avail;
				byte_input__consume(r->in, avail);
				return 0;
			}
			err = resync(r);
			if (err <= 0)
				return err;
			continue;
		}
		if (!chunk_header_valid(byte_input__data(r->in))) {
			err = resync(r);
			if (err <= 0)
				return err;
			continue;
		}
		memcpy(h, byte_input__data(r->in), sizeof(h));
		stored = get_le32(h + TAPE_CHUNK_OFF_STORED);
		rawlen = get_le32(h + TAPE_CHUNK_OFF_RAW);
		count = get_le32(h + TAPE_CHUNK_OFF_COUNT);
		extra = get_le16(h + TAPE_CHUNK_OFF_HDR_SIZE) - TAPE_CHUNK_HDR;
		byte_input__consume(r->in, TAPE_CHUNK_HDR);
		if (extra && byte_input__fill(r->in, extra) < extra) {
			note_damage(r, at);
			r->damage.truncated_at = at;
			r->damage.truncated_bytes = TAPE_CHUNK_HDR;
			return 0;
		}
		byte_input__consume(r->in, extra);

		err = grow(&r->stored, &r->stored_cap, stored ? stored : 1);
		if (err)
			return err;
		n = byte_input__read(r->in, r->stored, stored);
		if (n < 0)
			return (int)n;
		if ((uint32_t)n < stored) {
			note_damage(r, at);
			r->damage.truncated_at = at;
			r->damage.truncated_bytes = TAPE_CHUNK_HDR + extra + n;
			return 0;
		}
		if (tape_checksum(r->stored, stored) != get_le64(h + TAPE_CHUNK_OFF_CHECKSUM))
			goto corrupt;
		if (h[TAPE_CHUNK_OFF_CODEC] == TAPE_CODEC_ZSTD) {
			size_t got;

			err = grow(&r->raw, &r->raw_cap, rawlen ? rawlen : 1);
			if (err)
				return err;
			if (!r->zd && !(r->zd = ZSTD_createDCtx()))
				return -ENOMEM;
			got = ZSTD_decompressDCtx(r->zd, r->raw, rawlen, r->stored, stored);
			if (ZSTD_isError(got) || got != rawlen)
				goto corrupt;
			r->p = r->raw;
		} else {
			r->p = r->stored;
		}
		r->end = r->p + rawlen;
		r->chunk_events = count;
		r->chunk_decoded = 0;
		memset(&r->st, 0, sizeof(r->st));
		return 1;
corrupt:
		note_damage(r, at);
		r->damage.corrupt_chunks++;
		r->damage.corrupt_events += count;
	}
}

int tape_reader__next(struct tape_reader *r, struct tape_event *ev)
{
	for (;;) {
		if (r->p < r->end) {
			size_t used = 0;
			int res = tape_decode_record(&r->st, r->p, r->end, ev, &used);

			if (res == TAPE_DECODE_BAD) {
				/* Valid checksum, invalid contents: a hostile or buggy writer. */
				r->damage.corrupt_chunks++;
				if (r->chunk_events > r->chunk_decoded)
					r->damage.corrupt_events += r->chunk_events - r->chunk_decoded;
				note_damage(r, byte_input__offset(r->in));
				r->p = r->end;
				continue;
			}
			r->p += used;
			r->chunk_decoded++;
			if (res == TAPE_DECODE_UNKNOWN) {
				r->damage.unknown_records++;
				continue;
			}
			return 1;
		}
		if (r->done)
			return 0;
		int err = load_chunk(r);

		if (err <= 0) {
			r->done = true;
			return err;
		}
	}
}

int tape_reader__open(struct tape_reader **out, struct byte_input *in, char *msg, size_t msglen)
{
	struct tape_reader *r;
	char local[256];
	uint32_t size;
	ssize_t n;
	int err;

	if (!msg) {
		msg = local;
		msglen = sizeof(local);
	}
	n = byte_input__fill(in, TAPE_HDR_FIXED);
	if (n < 0) {
		snprintf(msg, msglen, "cannot read the tape: %s", strerror((int)-n));
		return (int)n;
	}
	if (n == 0) {
		snprintf(msg, msglen, "the file is empty: no tape header");
		return -ENODATA;
	}
	if (n < TAPE_MAGIC_LEN || memcmp(byte_input__data(in), TAPE_MAGIC, TAPE_MAGIC_LEN)) {
		snprintf(msg, msglen, "not a bpftape tape (no BPFTAPE magic)");
		return -EINVAL;
	}
	if (n < TAPE_HDR_FIXED) {
		snprintf(msg, msglen, "the tape is cut off inside its header (%zd bytes)", n);
		return -EBADMSG;
	}
	err = tape_header__parse_fixed(byte_input__data(in), &size, msg, msglen);
	if (err)
		return err;
	n = byte_input__fill(in, size);
	if (n < 0)
		return (int)n;
	if ((uint32_t)n < size) {
		snprintf(msg, msglen,
			 "the tape is cut off inside its header (%zd of %u bytes): nothing was recorded",
			 n, size);
		return -EBADMSG;
	}
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	err = tape_header__decode(byte_input__data(in), size, &r->hdr, msg, msglen);
	if (err) {
		free(r);
		return err;
	}
	byte_input__consume(in, size);
	r->in = in;
	*out = r;
	return 0;
}

const struct tape_header *tape_reader__header(const struct tape_reader *r)
{
	return &r->hdr;
}

const struct tape_damage *tape_reader__damage(const struct tape_reader *r)
{
	return &r->damage;
}

uint64_t tape_reader__offset(const struct tape_reader *r)
{
	return byte_input__offset(r->in);
}

void tape_damage__describe(const struct tape_damage *d, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = 0;
#define ADD(...)                                                                   \
	do {                                                                       \
		if (off < len)                                                     \
			off += snprintf(buf + off, len - off, __VA_ARGS__);        \
	} while (0)
	if (d->corrupt_chunks)
		ADD("%s%" PRIu64 " damaged chunk%s skipped (%" PRIu64 " events lost)",
		    off ? "; " : "", d->corrupt_chunks, d->corrupt_chunks == 1 ? "" : "s",
		    d->corrupt_events);
	if (d->skipped_bytes)
		ADD("%s%" PRIu64 " unreadable bytes passed over", off ? "; " : "",
		    d->skipped_bytes);
	if (d->truncated_at)
		ADD("%scut off at byte %" PRIu64 ": the last chunk is incomplete (%" PRIu64
		    " bytes of it present) and its events are lost",
		    off ? "; " : "", d->truncated_at, d->truncated_bytes);
	if (off && d->first_damage_at)
		ADD(" (first damage at byte %" PRIu64 ")", d->first_damage_at);
#undef ADD
}

void tape_reader__close(struct tape_reader *r)
{
	if (!r)
		return;
	byte_input__close(r->in, NULL, 0);
	tape_header__free(&r->hdr);
	ZSTD_freeDCtx(r->zd);
	free(r->stored);
	free(r->raw);
	free(r);
}
