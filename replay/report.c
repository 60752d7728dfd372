/* The replay's report: see report.h. Printed after every measurement is taken. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"
#include "tape.h"

const char *touch_name(enum touch_policy t)
{
	return t == TOUCH_NONE ? "none" : t == TOUCH_ALL ? "all" : "page";
}

static const char *op_name(int k)
{
	switch (k) {
	case OP_FORK:
		return "fork";
	case OP_EXEC:
		return "exec";
	default:
		return tape_type_name(k);
	}
}

/* Totals over every process image that ran. */
struct totals {
	uint64_t ops, by_kind[OP_KINDS], timed_ns[OP_KINDS], timed_n[OP_KINDS];
	uint64_t wall_ns, cpu_ns, peak_rss, final_rss, engine_bytes, failures, waits, empty, untouched;
	uint32_t images, faithful, threads;
	uint64_t peak_live;	/* one image: exact; several: the sum of each one's peak */
	const struct proc_result *first;
};

static void total(const struct report_ctx *c, struct totals *t)
{
	memset(t, 0, sizeof(*t));
	for (uint32_t i = 0; i < c->r->nprocesses; i++) {
		const struct proc_result *pr = &c->r->procs[i];

		if (!pr->ran)
			continue;
		if (!t->first)
			t->first = pr;
		t->images++;
		t->faithful |= pr->faithful;
		t->threads += pr->nthreads;
		for (int k = 0; k < OP_KINDS; k++) {
			t->by_kind[k] += pr->ops[k];
			t->ops += k <= OP_FREE ? pr->ops[k] : 0;
			t->timed_ns[k] += pr->timed_ns[k];
			t->timed_n[k] += pr->timed_n[k];
		}
		/* Images of a tree overlap in time: wall time is the longest. */
		if (pr->wall_ns > t->wall_ns)
			t->wall_ns = pr->wall_ns;
		t->cpu_ns += pr->cpu_ns;
		t->peak_rss += pr->peak_rss;
		t->final_rss += pr->final_rss;
		t->engine_bytes += pr->engine_bytes;
		t->failures += pr->replay_failures;
		t->waits += pr->waits;
		t->empty += pr->empty_releases;
		t->untouched += pr->untouched;
		t->peak_live += c->p->procs[i].peak_live_bytes;
	}
}

/* "1.5 MiB"; buffers rotate so that a line can hold several. */
static const char *bytes(uint64_t b)
{
	static char buf[8][32];
	static int next;
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	char *out = buf[next++ % 8];
	double v = b;
	int u = 0;

	while (v >= 1024 && u < 4) {
		v /= 1024;
		u++;
	}
	snprintf(out, 32, u ? "%.1f %s" : "%.0f %s", v, units[u]);
	return out;
}

/* Peak resident over peak live requested, each summed over the process images. */
static double fragmentation(const struct totals *t)
{
	return t->peak_live ? (double)t->peak_rss / t->peak_live : 0;
}

void report_text(FILE *out, const struct report_ctx *c)
{
	const struct prep_header *h = c->p->h;
	const struct prep_stats *s = &h->stats;
	struct totals t;
	bool first = true;

	total(c, &t);
	const char *alloc = t.first ? t.first->allocator : "?";

	fprintf(out, "bpftape-replay: %s (%s, %u process%s, %u thread%s) against %s%s%s%s, %s, touch=%s\n",
		h->source, h->source_format == SOURCE_MWRAP ? "mwrap" : "bpftape", t.images,
		t.images == 1 ? "" : "es", t.threads, t.threads == 1 ? "" : "s",
		c->label ? c->label : alloc, c->label ? " (" : "", c->label ? alloc : "",
		c->label ? ")" : "", t.faithful ? "faithful threads" : "serial",
		touch_name(c->touch));
	fprintf(out, "  replayed       %" PRIu64 " calls:", t.ops);
	for (int k = 1; k <= OP_FREE; k++)
		if (t.by_kind[k]) {
			fprintf(out, "%s %s %" PRIu64, first ? "" : ",", op_name(k), t.by_kind[k]);
			first = false;
		}
	if (t.by_kind[OP_FORK] || t.by_kind[OP_EXEC])
		fprintf(out, "; %" PRIu64 " forks, %" PRIu64 " execs", t.by_kind[OP_FORK],
			t.by_kind[OP_EXEC]);
	fprintf(out, "\n");
	fprintf(out, "  not replayed   %" PRIu64 " failed calls (never replayed as successes), %" PRIu64
		" releases of blocks from before the recording, %" PRIu64 " of blocks lost to loss records\n",
		s->skipped_failed, s->skipped_pre_attach, s->skipped_lost);
	if (s->realloc_zero_frees)
		fprintf(out, "  realloc(p, 0)  %" PRIu64 " that freed p and returned NULL, replayed as free(p)\n",
			s->realloc_zero_frees);
	if (s->inversions)
		fprintf(out, "  repaired       %" PRIu64 " inversions (an address handed out again before the tape released it: its old block was set aside until its release came)%s\n",
			s->inversions, s->unresolved_inversions ? "; some releases never came" : "");
	if (s->lost_events || s->follow_gaps || s->damaged_events)
		fprintf(out, "  the tape lost  %" PRIu64 " events (loss records), %" PRIu64
			" follow gaps, %" PRIu64 " to damage\n",
			s->lost_events, s->follow_gaps, s->damaged_events);
	if (t.failures)
		fprintf(out, "  failed here    %" PRIu64 " allocations returned NULL in this replay\n",
			t.failures);
	if (t.empty)
		fprintf(out, "  inconsistent   %" PRIu64 " releases found their block not yet made\n",
			t.empty);
	if (t.untouched)
		fprintf(out, "  not touched    %" PRIu64 " blocks larger than half this machine's memory\n",
			t.untouched);
	fprintf(out, "  time           %.3f s wall, %.3f s CPU: %.1f ns per call", t.wall_ns / 1e9,
		t.cpu_ns / 1e9, t.ops ? (double)t.wall_ns / t.ops : 0);
	first = true;
	for (int k = 1; k <= OP_FREE; k++)
		if (t.timed_n[k]) {
			fprintf(out, "%s %s %.0f", first ? "; sampled: " : ",", op_name(k),
				(double)t.timed_ns[k] / t.timed_n[k]);
			first = false;
		}
	fprintf(out, "%s\n", first ? "" : " ns");
	if (t.faithful)
		fprintf(out, "  threads        %" PRIu64 " ops waited on another thread, %" PRIu64 " had to block\n",
			s->cross_thread, t.waits);
	fprintf(out, "  resident heap  peak %s, final %s (sampled every %" PRIu64 " calls)\n",
		bytes(t.peak_rss), bytes(t.final_rss), c->r->sample_every);
	fprintf(out, "  live requested peak %s, final %s (exact%s)\n", bytes(t.peak_live),
		bytes(s->final_live_bytes), t.images > 1 ? "; peaks summed over the processes" : "");
	fprintf(out, "  fragmentation  %.2f (peak resident / peak live requested)\n",
		fragmentation(&t));
	fprintf(out, "  engine         %s of bookkeeping from mmap, outside the allocator\n",
		bytes(t.engine_bytes));
	if (t.first && t.first->allocator_stats[0])
		fprintf(out, "  allocator      %s: %s\n", t.first->allocator, t.first->allocator_stats);
	if (t.first && t.first->emulated[0])
		fprintf(out, "  emulated       %s: the allocator has none, so its own equivalents were called\n",
			t.first->emulated);
	if (h->damage[0])
		fprintf(out, "  damage         %s\n", h->damage);
	if (t.images > 1)
		for (uint32_t i = 0; i < c->r->nprocesses; i++) {
			const struct proc_result *pr = &c->r->procs[i];

			uint64_t calls = 0;

			for (int k = 1; k <= OP_FREE; k++)
				calls += pr->ops[k];
			if (pr->ran && calls)
				fprintf(out, "  process %-6u %" PRIu64 " calls, peak %s, final %s, %.3f s\n",
					pr->pid, calls, bytes(pr->peak_rss), bytes(pr->final_rss),
					pr->wall_ns / 1e9);
		}
}

static void json_str(FILE *out, const char *key, const char *v)
{
	fprintf(out, ",\"%s\":\"", key);
	for (; *v; v++) {
		if (*v == '"' || *v == '\\')
			fputc('\\', out);
		if ((unsigned char)*v >= 0x20)
			fputc(*v, out);
	}
	fputc('"', out);
}

void report_json(FILE *out, const struct report_ctx *c)
{
	const struct prep_header *h = c->p->h;
	const struct prep_stats *s = &h->stats;
	struct totals t;

	total(c, &t);
	fprintf(out, "{\"tool\":\"bpftape-replay\"");
	json_str(out, "source", h->source);
	json_str(out, "format", h->source_format == SOURCE_MWRAP ? "mwrap" : "bpftape");
	json_str(out, "allocator", t.first ? t.first->allocator : "");
	json_str(out, "label", c->label ? c->label : t.first ? t.first->allocator : "");
	json_str(out, "threads", t.faithful ? "faithful" : "serial");
	json_str(out, "touch", touch_name(c->touch));
	fprintf(out, ",\"processes\":%u,\"replay_threads\":%u,\"ops\":%" PRIu64, t.images,
		t.threads, t.ops);
	for (int k = 1; k <= OP_FREE; k++)
		fprintf(out, ",\"ops_%s\":%" PRIu64, op_name(k), t.by_kind[k]);
	fprintf(out, ",\"forks\":%" PRIu64 ",\"execs\":%" PRIu64, t.by_kind[OP_FORK],
		t.by_kind[OP_EXEC]);
	fprintf(out, ",\"skipped_failed\":%" PRIu64 ",\"skipped_pre_attach\":%" PRIu64
		",\"skipped_lost\":%" PRIu64 ",\"realloc_zero_frees\":%" PRIu64
		",\"inversions\":%" PRIu64 ",\"unresolved_inversions\":%" PRIu64
		",\"cross_thread\":%" PRIu64 ",\"blocked_waits\":%" PRIu64
		",\"replay_failures\":%" PRIu64 ",\"empty_releases\":%" PRIu64 ",\"untouched\":%" PRIu64,
		s->skipped_failed, s->skipped_pre_attach, s->skipped_lost, s->realloc_zero_frees,
		s->inversions, s->unresolved_inversions, s->cross_thread, t.waits, t.failures,
		t.empty, t.untouched);
	fprintf(out, ",\"wall_s\":%.6f,\"cpu_s\":%.6f,\"ns_per_call\":%.2f", t.wall_ns / 1e9,
		t.cpu_ns / 1e9, t.ops ? (double)t.wall_ns / t.ops : 0);
	for (int k = 1; k <= OP_FREE; k++)
		if (t.timed_n[k])
			fprintf(out, ",\"ns_%s\":%.1f", op_name(k), (double)t.timed_ns[k] / t.timed_n[k]);
	fprintf(out, ",\"peak_rss\":%" PRIu64 ",\"final_rss\":%" PRIu64 ",\"peak_live\":%" PRIu64
		",\"final_live\":%" PRIu64 ",\"fragmentation\":%.4f,\"engine_bytes\":%" PRIu64
		",\"sample_every\":%" PRIu64,
		t.peak_rss, t.final_rss, t.peak_live, s->final_live_bytes,
		fragmentation(&t), t.engine_bytes, c->r->sample_every);
	fprintf(out, ",\"lost_events\":%" PRIu64 ",\"damaged_events\":%" PRIu64, s->lost_events,
		s->damaged_events);
	json_str(out, "damage", h->damage);
	json_str(out, "emulated", t.first ? t.first->emulated : "");
	json_str(out, "allocator_stats", t.first ? t.first->allocator_stats : "");
	fprintf(out, ",\"images\":[");
	for (uint32_t i = 0, n = 0; i < c->r->nprocesses; i++) {
		const struct proc_result *pr = &c->r->procs[i];

		if (!pr->ran)
			continue;
		fprintf(out, "%s{\"pid\":%u,\"threads\":%u,\"peak_rss\":%" PRIu64 ",\"final_rss\":%" PRIu64
			",\"wall_s\":%.6f}", n++ ? "," : "", pr->pid, pr->nthreads, pr->peak_rss,
			pr->final_rss, pr->wall_ns / 1e9);
	}
	fprintf(out, "]}\n");
}

static int by_op(const void *a, const void *b)
{
	const struct timeline_point *x = a, *y = b;

	return x->op < y->op ? -1 : x->op > y->op;
}

int report_timeline(const char *path, const struct report_ctx *c)
{
	struct timeline_point *pts = results_points((struct results *)c->r);
	FILE *f = fopen(path, "w");

	if (!f)
		return -errno;
	fprintf(f, "process,pid,op,rss_bytes,live_bytes\n");
	for (uint32_t i = 0; i < c->r->nprocesses; i++) {
		const struct proc_result *pr = &c->r->procs[i];

		/* Threads sample as they go: put each image's points in order. */
		if (pr->ran)
			qsort(pts + pr->first_point, pr->ntimeline, sizeof(*pts), by_op);
		for (uint64_t k = 0; pr->ran && k < pr->ntimeline; k++) {
			const struct timeline_point *pt = &pts[pr->first_point + k];

			fprintf(f, "%u,%u,%" PRIu64 ",%" PRIu64 ",%" PRIu64 "\n", i, pr->pid, pt->op,
				pt->rss, pt->live);
		}
	}
	return fclose(f) ? -errno : 0;
}
