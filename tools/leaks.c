/*
 * bpftape leaks: the blocks still live at the end of a tape (or at a given
 * time), grouped by the call site that made them, largest first. The offline
 * answer to "what is this process holding on to".
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "event_filter.h"
#include "heap_model.h"
#include "parse.h"
#include "tool_input.h"

struct site_total {
	char where[256];
	uint32_t pid;
	uint64_t caller;
	uint64_t blocks, bytes, oldest_ts;
};

struct leaks {
	struct heap_model heap;
	struct site_total *sites;	/* indexed like heap.sites */
	uint64_t blocks, bytes;
};

static void count_live(const struct heap_block *b, uint64_t addr, void *ctx)
{
	struct leaks *l = ctx;
	struct site_total *s = &l->sites[b->site];

	(void)addr;
	if (!s->blocks || b->ts < s->oldest_ts)
		s->oldest_ts = b->ts;
	s->blocks++;
	s->bytes += b->size;
	l->blocks++;
	l->bytes += b->size;
}

static int by_where(const void *a, const void *b)
{
	return strcmp(((const struct site_total *)a)->where, ((const struct site_total *)b)->where);
}

static int by_bytes(const void *a, const void *b)
{
	const struct site_total *x = a, *y = b;

	if (x->bytes != y->bytes)
		return x->bytes < y->bytes ? 1 : -1;
	return x->blocks < y->blocks ? 1 : x->blocks > y->blocks ? -1 : 0;
}

/*
 * One row per site: sites that symbolise alike (the same code in several
 * processes) merge. Returns the number of rows, sorted largest first.
 */
static size_t group(struct leaks *l, struct print_ctx *pctx)
{
	struct heap_model *h = &l->heap;
	size_t n = 0;

	for (uint32_t i = 0; i < h->nsites; i++) {
		struct site_total *s = &l->sites[i];

		if (!s->blocks)
			continue;
		s->pid = h->sites[i].pid;
		s->caller = h->sites[i].caller;
		describe_caller(pctx, s->pid, s->caller, s->where, sizeof(s->where));
		l->sites[n++] = *s;
	}
	qsort(l->sites, n, sizeof(*l->sites), by_where);
	size_t out = 0;

	for (size_t i = 0; i < n; i++) {
		if (out && !strcmp(l->sites[out - 1].where, l->sites[i].where)) {
			struct site_total *d = &l->sites[out - 1];

			d->blocks += l->sites[i].blocks;
			d->bytes += l->sites[i].bytes;
			if (l->sites[i].oldest_ts < d->oldest_ts)
				d->oldest_ts = l->sites[i].oldest_ts;
			continue;
		}
		l->sites[out++] = l->sites[i];
	}
	qsort(l->sites, out, sizeof(*l->sites), by_bytes);
	return out;
}

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: bpftape leaks [OPTIONS] TAPE\n\n"
		"The blocks still live at the end of TAPE (or at --at), grouped by the call site\n"
		"that made them, largest first, with their count and bytes: what the process\n"
		"is holding on to. A process's blocks at its exit count as held; an exec\n"
		"drops the old image's heap. Blocks made before the recording are unknown.\n\n"
		"Options:\n"
		"  --at T             the blocks live at time T (seconds since the tape's start)\n"
		"  --top N            how many sites (default 20)\n"
		"  --pid LIST         only these processes\n"
		"  --json             one JSON object\n"
		"  --no-symbols       show callers as addresses\n"
		"  --symfs DIR        look for the recorded files under DIR\n"
		"  -h, --help         this help\n\n"
		"Examples:\n"
		"  bpftape leaks service.tape\n"
		"  bpftape leaks --at 30 --top 5 service.tape\n");
}

int do_leaks(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "at", required_argument, NULL, 'a' },
		{ "top", required_argument, NULL, 'n' },
		{ "pid", required_argument, NULL, 'p' },
		{ "json", no_argument, NULL, 'j' },
		{ "no-symbols", no_argument, NULL, 'S' },
		{ "symfs", required_argument, NULL, 'F' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct leaks l = { 0 };
	struct event_filter filter;
	struct tool_input in;
	struct tape_event ev;
	bool json = false, symbols = true;
	const char *symfs = NULL;
	uint64_t at = UINT64_MAX, top = 20, last_ts = 0;
	double secs;
	size_t rows;
	int c, err, status;

	event_filter__init(&filter);
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'a':
			err = parse_duration(optarg, 1e9, &secs);
			if (err)
				return cli_bad_value("--at", optarg, err,
						     "expected seconds since the start, such as 12.5");
			at = (uint64_t)(secs * 1e9);
			break;
		case 'n':
			err = parse_u64(optarg, 1, 1000000, &top);
			if (err)
				return cli_bad_value("--top", optarg, err, "expected a count");
			break;
		case 'p':
			err = event_filter__option(&filter, "pid", optarg);
			if (err)
				return err;
			break;
		case 'j':
			json = true;
			break;
		case 'S':
			symbols = false;
			break;
		case 'F':
			symfs = optarg;
			break;
		case 'h':
			usage(stdout);
			return EXIT_OK;
		default:
			return cli_usage("unknown option");
		}
	}
	status = tool_input__open_one(&in, argc, argv, optind, symbols, symfs);
	if (status)
		return status;
	if (at != UINT64_MAX && !in.pctx.has_threads) {
		tool_input__finish(&in);
		return cli_usage("--at needs times: mwrap traces have none");
	}
	heap_model__init(&l.heap, in.pctx.has_threads, NULL, NULL);
	while (tool_input__next(&in, &ev)) {
		/* Map records past --at are still learnt, for symbols. */
		if (ev.ts > at && ev.type != TAPE_EV_MAP)
			continue;
		if (ev.ts > last_ts)
			last_ts = ev.ts;
		if (event_filter__pid(&filter, ev.pid))
			heap_model__event(&l.heap, &ev);
	}
	l.sites = calloc(l.heap.nsites + 1, sizeof(*l.sites));
	if (!l.sites) {
		tool_input__finish(&in);
		return EXIT_FAIL;
	}
	heap_model__each_live(&l.heap, count_live, &l);
	rows = group(&l, &in.pctx);
	if (json) {
		printf("{\"at\":%" PRIu64 ",\"blocks\":%" PRIu64 ",\"bytes\":%" PRIu64 ",\"sites\":[",
		       at == UINT64_MAX ? last_ts : at, l.blocks, l.bytes);
		for (size_t i = 0; i < rows && i < top; i++) {
			printf("%s{\"bytes\":%" PRIu64 ",\"blocks\":%" PRIu64 ",\"oldest_ts\":%" PRIu64
			       ",\"caller\":\"0x%" PRIx64 "\",\"site\":", i ? "," : "", l.sites[i].bytes,
			       l.sites[i].blocks, l.sites[i].oldest_ts, l.sites[i].caller);
			print_json_string(stdout, l.sites[i].where, strlen(l.sites[i].where));
			printf("}");
		}
		printf("]}\n");
	} else {
		if (at == UINT64_MAX)
			printf("%s: at the end", argv[optind]);
		else
			printf("%s: at %.6f s", argv[optind], at / 1e9);
		printf(", %" PRIu64 " blocks (%" PRIu64 " bytes) still live, from %zu sites\n", l.blocks,
		       l.bytes, rows);
		if (rows)
			printf("  %14s %10s %12s  site\n", "bytes", "blocks", "oldest (s)");
		for (size_t i = 0; i < rows && i < top; i++)
			printf("  %14" PRIu64 " %10" PRIu64 " %12.6f  %s\n", l.sites[i].bytes,
			       l.sites[i].blocks, l.sites[i].oldest_ts / 1e9, l.sites[i].where);
		if (rows > top)
			printf("  ... and %zu more sites (--top)\n", rows - (size_t)top);
	}
	fflush(stdout);
	free(l.sites);
	heap_model__free(&l.heap);
	return tool_input__finish(&in);
}
