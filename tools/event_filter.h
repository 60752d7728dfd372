/* --pid, --tid, --event, --since, --until: which events a tool looks at. */
#ifndef BPFTAPE_EVENT_FILTER_H
#define BPFTAPE_EVENT_FILTER_H

#include <stdbool.h>
#include <stdint.h>

#include "tape.h"

#define FILTER_MAX_IDS 256

struct event_filter {
	uint32_t pids[FILTER_MAX_IDS];
	int npids;
	uint32_t tids[FILTER_MAX_IDS];
	int ntids;
	uint64_t types;		/* bit t: event type t passes; all ones by default */
	uint64_t since_ns, until_ns;
};

void event_filter__init(struct event_filter *f);
/*
 * Takes one option's value ("pid", "tid", "event", "since", "until").
 * Prints a usage error and returns EXIT_USAGE when it is bad, else 0.
 */
int event_filter__option(struct event_filter *f, const char *opt, const char *value);
bool event_filter__match(const struct event_filter *f, const struct tape_event *ev);
/* Does the filter pass this pid at all (for per-process state)? */
bool event_filter__pid(const struct event_filter *f, uint32_t pid);

/* Help text for the options, for the tools' --help. */
#define EVENT_FILTER_HELP                                                                      \
	"  --pid LIST         only these processes (comma-separated)\n"                          \
	"  --tid LIST         only these threads\n"                                              \
	"  --event LIST       only these events: names (malloc, free, syscall, fork, ...)\n"     \
	"                     or classes (alloc, lifecycle, loss, map, marker)\n"                \
	"  --since T, --until T  only events in this time window (seconds since the\n"           \
	"                     tape's start: 1.5, 200ms, 2m)\n"

#endif
