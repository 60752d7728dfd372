/* mwrap trace records to and from tape events. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "byte_output.h"
#include "mwrap.h"

#define WORD sizeof(uintptr_t)
#define TAG_MASK ((uintptr_t)7)

struct mwrap_reader {
	struct byte_input *in;
	struct mwrap_read_stats stats;
};

int mwrap_reader__open(struct mwrap_reader **out, struct byte_input *in)
{
	struct mwrap_reader *r = calloc(1, sizeof(*r));

	if (!r)
		return -ENOMEM;
	r->in = in;
	*out = r;
	return 0;
}

/* Words after the first, by tag. */
static const uint8_t extra_words[8] = {
	[MWRAP_FREE] = 0, [MWRAP_MEMALIGN] = 2, [MWRAP_MALLOC] = 1,
	[MWRAP_REALLOC] = 2, [MWRAP_CALLOC] = 1,
};

static uintptr_t word_at(const uint8_t *p)
{
	uintptr_t w;

	/* Native byte order, as mwrap writes it. */
	memcpy(&w, p, sizeof(w));
	return w;
}

int mwrap_reader__next(struct mwrap_reader *r, struct tape_event *ev)
{
	for (;;) {
		ssize_t avail = byte_input__fill(r->in, 3 * WORD);
		const uint8_t *p = byte_input__data(r->in);
		uintptr_t first;
		unsigned tag;
		size_t need;

		if (avail < 0)
			return (int)avail;
		if (avail == 0)
			return 0;
		if ((size_t)avail < WORD) {
			r->stats.truncated_bytes = avail;
			byte_input__consume(r->in, avail);
			return 0;
		}
		first = word_at(p);
		tag = first & TAG_MASK;
		if (tag > MWRAP_CALLOC) {
			/* Unknown tag: its length is unknown too; move on one word. */
			r->stats.bad_entries++;
			byte_input__consume(r->in, WORD);
			continue;
		}
		need = (1 + extra_words[tag]) * WORD;
		if ((size_t)avail < need) {
			r->stats.truncated_bytes = avail;
			byte_input__consume(r->in, avail);
			return 0;
		}
		memset(ev, 0, sizeof(*ev));
		switch (tag) {
		case MWRAP_FREE:
			ev->type = TAPE_EV_FREE;
			ev->alloc.ptr = first;
			break;
		case MWRAP_MEMALIGN:
			ev->type = TAPE_EV_MEMALIGN;
			ev->alloc.align = word_at(p + WORD);
			ev->alloc.size = word_at(p + 2 * WORD);
			break;
		case MWRAP_MALLOC:
			ev->type = TAPE_EV_MALLOC;
			ev->alloc.size = word_at(p + WORD);
			break;
		case MWRAP_REALLOC:
			ev->type = TAPE_EV_REALLOC;
			ev->alloc.ptr = word_at(p + WORD);
			ev->alloc.size = word_at(p + 2 * WORD);
			break;
		case MWRAP_CALLOC:
			/* mwrap stores nmemb * size already multiplied. */
			ev->type = TAPE_EV_CALLOC;
			ev->alloc.nmemb = 1;
			ev->alloc.size = word_at(p + WORD);
			break;
		}
		if (tag != MWRAP_FREE)
			ev->alloc.result = first & ~TAG_MASK;
		byte_input__consume(r->in, need);
		r->stats.records++;
		return 1;
	}
}

const struct mwrap_read_stats *mwrap_reader__stats(const struct mwrap_reader *r)
{
	return &r->stats;
}

uint64_t mwrap_reader__offset(const struct mwrap_reader *r)
{
	return byte_input__offset(r->in);
}

int mwrap_reader__close(struct mwrap_reader *r, char *msg, size_t msglen)
{
	int err;

	if (!r)
		return 0;
	err = byte_input__close(r->in, msg, msglen);
	free(r);
	return err;
}

/* ------------------------------------------------------------------ writer */

struct mwrap_writer {
	struct byte_output *out;
	uint64_t page_size;
	uint64_t records;
	uint64_t bytes;
	struct mwrap_drops drops;
};

int mwrap_writer__open(struct mwrap_writer **w, struct byte_output *out, uint32_t page_size)
{
	*w = calloc(1, sizeof(**w));
	if (!*w)
		return -ENOMEM;
	(*w)->out = out;
	(*w)->page_size = page_size ? page_size : 4096;
	return 0;
}

/*
 * The record mwrap would have written for this call, in words; 0 words when
 * it writes nothing. Mirrors its rules: failures and free(NULL) write
 * nothing, every aligned form is a memalign record, reallocarray reaches
 * mwrap as the realloc it calls.
 */
static unsigned mwrap_words(struct mwrap_writer *w, const struct tape_event *ev, uintptr_t *words)
{
	const struct tape_alloc *a = &ev->alloc;
	uintptr_t result = a->result;
	uint64_t total;

	if (tape_type_frees(ev->type)) {
		if (!a->ptr) {
			w->drops.free_null++;
			return 0;
		}
		if (a->ptr & TAG_MASK) {
			w->drops.misaligned++;
			return 0;
		}
		words[0] = a->ptr | MWRAP_FREE;
		return 1;
	}
	if (!result && (ev->type == TAPE_EV_REALLOC || ev->type == TAPE_EV_REALLOCARRAY) &&
	    a->ptr && !(a->ptr & TAG_MASK) &&
	    (ev->type == TAPE_EV_REALLOC ? !a->size : !a->size || !a->nmemb)) {
		/* glibc's realloc(p, 0) frees p and returns NULL: mwrap sees that free. */
		words[0] = a->ptr | MWRAP_FREE;
		return 1;
	}
	if (!result || (ev->type == TAPE_EV_POSIX_MEMALIGN && a->err)) {
		w->drops.failed++;
		return 0;
	}
	if (result & TAG_MASK) {
		w->drops.misaligned++;
		return 0;
	}
	switch (ev->type) {
	case TAPE_EV_NEW:
		/* What mwrap sees of operator new: the malloc (memalign) it makes. */
		if (a->variant & TAPE_VARIANT_ALIGNED) {
			words[0] = result | MWRAP_MEMALIGN;
			words[1] = a->align;
			words[2] = a->size;
			return 3;
		}
		words[0] = result | MWRAP_MALLOC;
		words[1] = a->size;
		return 2;
	case TAPE_EV_MALLOC:
		words[0] = result | MWRAP_MALLOC;
		words[1] = a->size;
		return 2;
	case TAPE_EV_CALLOC:
		total = a->nmemb * a->size;
		words[0] = result | MWRAP_CALLOC;
		words[1] = total;
		return 2;
	case TAPE_EV_REALLOC:
	case TAPE_EV_REALLOCARRAY:
		total = ev->type == TAPE_EV_REALLOC ? a->size : a->nmemb * a->size;
		words[0] = result | MWRAP_REALLOC;
		words[1] = a->ptr;
		words[2] = total;
		return 3;
	case TAPE_EV_POSIX_MEMALIGN:
	case TAPE_EV_ALIGNED_ALLOC:
	case TAPE_EV_MEMALIGN:
		words[0] = result | MWRAP_MEMALIGN;
		words[1] = a->align;
		words[2] = a->size;
		return 3;
	case TAPE_EV_VALLOC:
		words[0] = result | MWRAP_MEMALIGN;
		words[1] = w->page_size;
		words[2] = a->size;
		return 3;
	case TAPE_EV_PVALLOC:
		/* pvalloc rounds the size up to whole pages before allocating. */
		words[0] = result | MWRAP_MEMALIGN;
		words[1] = w->page_size;
		words[2] = (a->size + w->page_size - 1) / w->page_size * w->page_size;
		return 3;
	}
	return 0;
}

int mwrap_writer__add(struct mwrap_writer *w, const struct tape_event *ev)
{
	uintptr_t words[3];
	unsigned n;
	int err;

	if (!tape_type_is_alloc(ev->type)) {
		if (ev->type == TAPE_EV_LOSS)
			w->drops.losses++;
		else
			w->drops.other++;
		if (ev->type == TAPE_EV_STACK)
			w->drops.stacks++;
		return 0;
	}
	n = mwrap_words(w, ev, words);
	if (!n)
		return 0;
	err = byte_output__write(w->out, words, n * WORD);
	if (err)
		return err;
	w->records++;
	w->bytes += n * WORD;
	return 1;
}

const struct mwrap_drops *mwrap_writer__drops(const struct mwrap_writer *w)
{
	return &w->drops;
}

uint64_t mwrap_writer__records(const struct mwrap_writer *w)
{
	return w->records;
}

uint64_t mwrap_writer__bytes(const struct mwrap_writer *w)
{
	return w->bytes;
}

void mwrap_writer__free(struct mwrap_writer *w)
{
	free(w);
}
