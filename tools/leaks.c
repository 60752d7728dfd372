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

/* Where the site column starts: a stack's further frames line up under it. */
#define SITE_COLUMN 42

struct site_total {
	uint64_t blocks, bytes, oldest_ts;
};

struct leaks {
	struct heap_model heap;
	struct site_total *sites;	/* indexed like heap.sites */
	struct site_row *rows;
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

static int by_bytes(const void *a, const void *b)
{
	const struct site_row *x = a, *y = b;

	if (x->sum[1] != y->sum[1])
		return x->sum[1] < y->sum[1] ? 1 : -1;
	return x->sum[0] < y->sum[0] ? 1 : x->sum[0] > y->sum[0] ? -1 : 0;
}

/*
 * One row per site that holds blocks: sites that show alike merge (the same
 * code in several processes, the same frames at --site-depth). Returns the
 * number of rows, largest first; SIZE_MAX when out of memory.
 */
static size_t group(struct leaks *l, struct sites *view)
{
	struct heap_model *h = &l->heap;
	size_t n = 0;

	for (uint32_t i = 0; i < h->nsites; i++) {
		const struct site_total *s = &l->sites[i];

		if (s->blocks)
			l->rows[n++] = (struct site_row){ { 0, 0 }, h->sites[i].pid, h->sites[i].caller,
							  h->sites[i].stack, { s->blocks, s->bytes },
							  s->oldest_ts };
	}
	n = sites__merge(view, l->rows, n);
	if (n != SIZE_MAX)
		qsort(l->rows, n, sizeof(*l->rows), by_bytes);
	return n;
}

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: bpftape leaks [OPTIONS] TAPE\n\n"
		"The blocks still live at the end of TAPE (or at --at), grouped by the call site\n"
		"that made them, largest first, with their count and bytes: what the process\n"
		"is holding on to. A process's blocks at its exit count as held; an exec\n"
		"drops the old image's heap. Blocks made before the recording are unknown.\n"
		"When the tape has call stacks, a site is a stack, shown from the first frame\n"
		"outside allocator and wrapper code (--skip-frames), one frame a line.\n\n"
		"Options:\n"
		"  --at T             the blocks live at time T (seconds since the tape's start)\n"
		"  --top N            how many sites (default 20)\n"
		"  --pid LIST         only these processes\n"
		"  --json             one JSON object\n"
		STACK_OPTIONS_HELP
		SITE_OPTIONS_HELP
		"  -h, --help         this help\n\n"
		"Examples:\n"
		"  bpftape leaks service.tape\n"
		"  bpftape leaks --at 30 --top 5 service.tape\n"
		"  bpftape leaks --site-depth 1 --symfs /srv/host1 service.tape\n");
}

int do_leaks(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "at", required_argument, NULL, 'a' },
		{ "top", required_argument, NULL, 'n' },
		{ "pid", required_argument, NULL, 'p' },
		{ "json", no_argument, NULL, 'j' },
		STACK_OPTIONS,
		SITE_OPTIONS,
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct leaks l = { 0 };
	struct event_filter filter;
	struct tool_input in;
	struct tape_event ev;
	struct stack_opts so = { 0 };
	bool json = false;
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
		case OPT_NO_SYMBOLS ... OPT_SKIP_FRAMES:
			err = stack_opts__option(&so, c, optarg);
			if (err)
				return err;
			break;
		case 'h':
			usage(stdout);
			return EXIT_OK;
		default:
			return cli_usage("unknown option");
		}
	}
	status = tool_input__open_one(&in, argc, argv, optind, &so);
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
		/* Sites by stack: the tape's per-process stack id becomes the table's handle. */
		if (tape_type_is_alloc(ev.type))
			ev.alloc.stack = in.stack;
		if (event_filter__pid(&filter, ev.pid))
			heap_model__event(&l.heap, &ev);
	}
	l.sites = calloc(l.heap.nsites + 1, sizeof(*l.sites));
	l.rows = calloc(l.heap.nsites + 1, sizeof(*l.rows));
	if (!l.sites || !l.rows) {
		free(l.sites);
		free(l.rows);
		tool_input__finish(&in);
		return EXIT_FAIL;
	}
	heap_model__each_live(&l.heap, count_live, &l);
	rows = group(&l, in.sites);
	if (rows == SIZE_MAX) {
		cli_error("out of memory");
		free(l.sites);
		free(l.rows);
		tool_input__finish(&in);
		return EXIT_FAIL;
	}
	if (json) {
		printf("{\"at\":%" PRIu64 ",\"blocks\":%" PRIu64 ",\"bytes\":%" PRIu64 ",\"sites\":[",
		       at == UINT64_MAX ? last_ts : at, l.blocks, l.bytes);
		for (size_t i = 0; i < rows && i < top; i++) {
			const struct site_row *r = &l.rows[i];

			printf("%s{\"bytes\":%" PRIu64 ",\"blocks\":%" PRIu64 ",\"oldest_ts\":%" PRIu64
			       ",\"caller\":\"0x%" PRIx64 "\"", i ? "," : "", r->sum[1], r->sum[0], r->min,
			       r->caller);
			sites__print_json(in.sites, stdout, r->pid, r->caller, r->stack);
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
		for (size_t i = 0; i < rows && i < top; i++) {
			const struct site_row *r = &l.rows[i];

			printf("  %14" PRIu64 " %10" PRIu64 " %12.6f  ", r->sum[1], r->sum[0],
			       r->min / 1e9);
			sites__print_text(in.sites, stdout, r->pid, r->caller, r->stack, SITE_COLUMN);
			putchar('\n');
		}
		if (rows > top)
			printf("  ... and %zu more sites (--top)\n", rows - (size_t)top);
	}
	fflush(stdout);
	free(l.rows);
	free(l.sites);
	heap_model__free(&l.heap);
	return tool_input__finish(&in);
}
