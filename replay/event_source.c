/* Native tapes and mwrap traces behind one interface. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event_source.h"
#include "mwrap.h"
#include "prepared_magic.h"

struct event_source {
	enum source_format format;
	enum byte_compression comp;
	struct tape_reader *tape;
	struct mwrap_reader *mwrap;
	struct tape_header mwrap_header;
};

int event_source__open(struct event_source **out, const char *path, char *msg, size_t msglen)
{
	struct event_source *s;
	struct byte_input *in;
	ssize_t n;
	int err;

	err = byte_input__open(&in, path, msg, msglen);
	if (err)
		return err;
	s = calloc(1, sizeof(*s));
	if (!s) {
		byte_input__close(in, NULL, 0);
		return -ENOMEM;
	}
	s->comp = byte_input__compression(in);
	n = byte_input__fill(in, TAPE_MAGIC_LEN);
	if (n < 0) {
		err = (int)n;
		snprintf(msg, msglen, "cannot read %s: %s", path, strerror(-err));
		goto fail;
	}
	if (n == 0) {
		/* An external decompressor that failed also yields nothing: say which. */
		char why[256];

		err = byte_input__close(in, why, sizeof(why));
		in = NULL;
		if (err)
			snprintf(msg, msglen, "cannot decompress %s: %s", path, why);
		else
			snprintf(msg, msglen, "%s is empty: no tape and no mwrap records", path);
		err = err ? err : -ENODATA;
		goto fail;
	}
	if (n >= PREPARED_MAGIC_LEN && !memcmp(byte_input__data(in), PREPARED_MAGIC,
					       PREPARED_MAGIC_LEN)) {
		err = -EINVAL;
		snprintf(msg, msglen,
			 "%s is a prepared replay file: only bpftape replay reads it", path);
		goto fail;
	}
	if (n >= TAPE_MAGIC_LEN && !memcmp(byte_input__data(in), TAPE_MAGIC, TAPE_MAGIC_LEN)) {
		char why[256];

		s->format = SOURCE_NATIVE;
		err = tape_reader__open(&s->tape, in, why, sizeof(why));
		if (err) {
			snprintf(msg, msglen, "%s: %s", path, why);
			goto fail;
		}
	} else {
		/* No magic: mwrap's format has none. Its records say whether it is one. */
		s->format = SOURCE_MWRAP;
		err = mwrap_reader__open(&s->mwrap, in);
		if (err)
			goto fail;
		tape_header__init_host(&s->mwrap_header);
		tape_header__add_str(&s->mwrap_header, TAPE_CFG_MODE, "mwrap");
		tape_header__add_str(&s->mwrap_header, TAPE_CFG_SOURCE, path);
	}
	*out = s;
	return 0;
fail:
	byte_input__close(in, NULL, 0);
	free(s);
	return err;
}

int event_source__next(struct event_source *s, struct tape_event *ev)
{
	if (s->tape)
		return tape_reader__next(s->tape, ev);
	return mwrap_reader__next(s->mwrap, ev);
}

enum source_format event_source__format(const struct event_source *s)
{
	return s->format;
}

const char *event_source__format_name(const struct event_source *s)
{
	return s->format == SOURCE_NATIVE ? "bpftape" : "mwrap";
}

enum byte_compression event_source__compression(const struct event_source *s)
{
	return s->comp;
}

const struct tape_header *event_source__header(const struct event_source *s)
{
	return s->tape ? tape_reader__header(s->tape) : &s->mwrap_header;
}

bool event_source__has_threads(const struct event_source *s)
{
	return s->format == SOURCE_NATIVE;
}

uint64_t event_source__offset(const struct event_source *s)
{
	return s->tape ? tape_reader__offset(s->tape) : mwrap_reader__offset(s->mwrap);
}

const struct tape_damage *event_source__tape_damage(const struct event_source *s)
{
	static const struct tape_damage none;

	return s->tape ? tape_reader__damage(s->tape) : &none;
}

uint64_t event_source__bad_entries(const struct event_source *s)
{
	return s->mwrap ? mwrap_reader__stats(s->mwrap)->bad_entries : 0;
}

bool event_source__damage(const struct event_source *s, char *buf, size_t len)
{
	const struct mwrap_read_stats *st;

	buf[0] = 0;
	if (s->tape) {
		tape_damage__describe(tape_reader__damage(s->tape), buf, len);
		return buf[0] != 0;
	}
	st = mwrap_reader__stats(s->mwrap);
	if (st->bad_entries && st->truncated_bytes)
		snprintf(buf, len, "%" PRIu64 " bad entries (unknown tags); the last record is cut short (%" PRIu64 " bytes)",
			 st->bad_entries, st->truncated_bytes);
	else if (st->bad_entries)
		snprintf(buf, len, "%" PRIu64 " bad entries (unknown tags)", st->bad_entries);
	else if (st->truncated_bytes)
		snprintf(buf, len, "truncated: the last record is cut short (%" PRIu64 " bytes)",
			 st->truncated_bytes);
	return buf[0] != 0;
}

int event_source__close(struct event_source *s, char *msg, size_t msglen)
{
	int err = 0;

	if (!s)
		return 0;
	if (s->tape)
		tape_reader__close(s->tape);
	if (s->mwrap)
		err = mwrap_reader__close(s->mwrap, msg, msglen);
	tape_header__free(&s->mwrap_header);
	free(s);
	return err;
}
