/* Event filtering for the reading subcommands. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "event_filter.h"
#include "parse.h"

void event_filter__init(struct event_filter *f)
{
	memset(f, 0, sizeof(*f));
	f->types = ~0ull;
	f->until_ns = UINT64_MAX;
}

static uint64_t class_bits(const char *name)
{
	uint64_t bits = 0;
	unsigned t;

	if (!strcmp(name, "alloc")) {
		for (t = TAPE_EV_MALLOC; t <= TAPE_EV_DELETE; t++)
			bits |= 1ull << t;
	} else if (!strcmp(name, "lifecycle")) {
		bits = 1ull << TAPE_EV_FORK | 1ull << TAPE_EV_EXEC | 1ull << TAPE_EV_EXIT |
		       1ull << TAPE_EV_COMM;
	} else if (!strcmp(name, "marker")) {
		bits = 1ull << TAPE_EV_ATTACH | 1ull << TAPE_EV_DETACH;
	} else if ((t = tape_type_from_name(name))) {
		bits = 1ull << t;	/* "loss", "map", "syscall" and every single name */
	}
	return bits;
}

static int parse_types(struct event_filter *f, const char *value)
{
	char *copy = strdup(value), *save = NULL, *tok;
	uint64_t types = 0;

	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		uint64_t bits = class_bits(tok);

		if (!bits) {
			free(copy);
			return cli_usage("unknown event '%s' for --event", tok);
		}
		types |= bits;
	}
	free(copy);
	f->types = types;
	return 0;
}

int event_filter__option(struct event_filter *f, const char *opt, const char *value)
{
	double secs;
	int n;

	if (!strcmp(opt, "pid") || !strcmp(opt, "tid")) {
		bool pid = !strcmp(opt, "pid");

		n = parse_u32_list(value, pid ? f->pids : f->tids, FILTER_MAX_IDS);
		if (n < 0)
			return cli_bad_value(pid ? "--pid" : "--tid", value, n,
					     "expected a comma-separated list of IDs");
		*(pid ? &f->npids : &f->ntids) = n;
		return 0;
	}
	if (!strcmp(opt, "event"))
		return parse_types(f, value);
	if (!strcmp(opt, "since") || !strcmp(opt, "until")) {
		n = parse_duration(value, 1e9, &secs);
		if (n)
			return cli_bad_value(!strcmp(opt, "since") ? "--since" : "--until", value, n,
					     "expected seconds since the start, such as 1.5 or 200ms");
		*(!strcmp(opt, "since") ? &f->since_ns : &f->until_ns) = (uint64_t)(secs * 1e9);
		return 0;
	}
	return cli_usage("unknown filter option %s", opt);
}

static bool in_list(const uint32_t *ids, int n, uint32_t id)
{
	for (int i = 0; i < n; i++)
		if (ids[i] == id)
			return true;
	return false;
}

bool event_filter__pid(const struct event_filter *f, uint32_t pid)
{
	return !f->npids || in_list(f->pids, f->npids, pid);
}

bool event_filter__match(const struct event_filter *f, const struct tape_event *ev)
{
	if (ev->type < 64 && !(f->types >> ev->type & 1))
		return false;
	if (!event_filter__pid(f, ev->pid))
		return false;
	if (f->ntids && !in_list(f->tids, f->ntids, ev->tid))
		return false;
	return ev->ts >= f->since_ns && ev->ts <= f->until_ns;
}
