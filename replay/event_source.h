/*
 * Events from any input the project reads: a native tape or an mwrap trace
 * (raw, .gz, .zst, .bz2), told apart by their bytes. The tools and the
 * replay engine read through this and never care which it was.
 */
#ifndef BPFTAPE_EVENT_SOURCE_H
#define BPFTAPE_EVENT_SOURCE_H

#include <stdbool.h>
#include <stddef.h>

#include "byte_input.h"
#include "tape.h"

enum source_format {
	SOURCE_NATIVE,
	SOURCE_MWRAP,
};

struct event_source;

/* On failure: a negative errno and one sentence in msg naming the problem. */
int event_source__open(struct event_source **out, const char *path, char *msg, size_t msglen);
/* 1 with *ev set, 0 at the end, negative errno on an I/O error. */
int event_source__next(struct event_source *s, struct tape_event *ev);
enum source_format event_source__format(const struct event_source *s);
const char *event_source__format_name(const struct event_source *s);
enum byte_compression event_source__compression(const struct event_source *s);
/* For mwrap input, a header made up from this machine, saying where it came from. */
const struct tape_header *event_source__header(const struct event_source *s);
/* mwrap traces have no threads, times, callers, failures or syscalls. */
bool event_source__has_threads(const struct event_source *s);
/* Offset reached in the (decompressed) input, for progress. */
uint64_t event_source__offset(const struct event_source *s);
/*
 * One sentence about damage seen so far (truncation, corrupt chunks, bad
 * mwrap entries); empty when none. Returns true when there was damage.
 */
bool event_source__damage(const struct event_source *s, char *buf, size_t len);
const struct tape_damage *event_source__tape_damage(const struct event_source *s);
/* Bad mwrap entries (unknown tags); 0 for native tapes. */
uint64_t event_source__bad_entries(const struct event_source *s);
/* Closes; returns an error (with msg) when an external decompressor failed. */
int event_source__close(struct event_source *s, char *msg, size_t msglen);

#endif
