/*
 * bpftape stat: what a tape says, summed up. Streams the tape once (memory
 * bounded by its live blocks, never by its length): calls per function and
 * per thread, size and lifetime histograms, peak live bytes and when, the
 * top allocation sites, a syscall summary like strace -c, the process tree,
 * losses and pre-attach frees.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "event_filter.h"
#include "grow_array.h"
#include "heap_model.h"
#include "parse.h"
#include "syscalls.h"
#include "tool_input.h"

#define HIST 65

struct fn_stats {
	uint64_t calls, failures, bytes;
};

struct thread_stats {
	uint32_t pid, tid;
	uint64_t allocs, frees, bytes, syscalls, sys_errors, sys_ns;
};

struct sys_stats {
	uint32_t pid, nr;	/* pid 0: every process */
	uint64_t calls, errors, total_ns, max_ns;
};

struct proc_node {
	uint32_t pid, parent;
	char name[64];
	char exec[128];
	int32_t code;
	bool exited;
};

struct loss_stats {
	uint32_t reason, type;
	uint64_t count, records;
};

struct stat_state {
	struct fn_stats fns[TAPE_EV_DELETE + 1];
	uint64_t sizes[HIST];		/* log2 of requested bytes */
	uint64_t life_ns[HIST];		/* log2 of a block's lifetime */
	uint64_t life_ops[HIST];	/* ... in allocator calls of its process */
	struct thread_stats *threads;
	size_t nthreads, threads_cap;
	struct u64map thread_index;
	struct sys_stats *sys;
	size_t nsys, sys_cap;
	struct u64map sys_index;	/* pid << 32 | nr -> index */
	struct u64map errnos;		/* nr << 16 | errno -> count */
	struct proc_node *procs;
	size_t nprocs, procs_cap;
	struct u64map proc_index;
	struct loss_stats losses[16];
	size_t nlosses;
	uint64_t first_ts, last_ts, events;
	struct heap_model heap;
};

static int log2_bucket(uint64_t v)
{
	return v ? 64 - __builtin_clzll(v) : 0;	/* 0, then [1], [2,3], [4,7]... */
}

static struct thread_stats *thread_of(struct stat_state *st, uint32_t pid, uint32_t tid)
{
	uint64_t key = (uint64_t)pid << 32 | tid, *idx = u64map__get(&st->thread_index, key);

	if (idx)
		return &st->threads[*idx];
	st->threads = grow_array_or_abort(st->threads, &st->threads_cap, st->nthreads + 1, sizeof(*st->threads));
	memset(&st->threads[st->nthreads], 0, sizeof(*st->threads));
	st->threads[st->nthreads].pid = pid;
	st->threads[st->nthreads].tid = tid;
	u64map__put(&st->thread_index, key, st->nthreads);
	return &st->threads[st->nthreads++];
}

static struct sys_stats *sys_of(struct stat_state *st, uint32_t pid, uint32_t nr)
{
	uint64_t key = (uint64_t)pid << 32 | nr, *idx = u64map__get(&st->sys_index, key);

	if (idx)
		return &st->sys[*idx];
	st->sys = grow_array_or_abort(st->sys, &st->sys_cap, st->nsys + 1, sizeof(*st->sys));
	st->sys[st->nsys] = (struct sys_stats){ .pid = pid, .nr = nr };
	u64map__put(&st->sys_index, key, st->nsys);
	return &st->sys[st->nsys++];
}

static struct proc_node *proc_of(struct stat_state *st, uint32_t pid)
{
	uint64_t *idx = u64map__get(&st->proc_index, pid);

	if (idx)
		return &st->procs[*idx];
	st->procs = grow_array_or_abort(st->procs, &st->procs_cap, st->nprocs + 1, sizeof(*st->procs));
	memset(&st->procs[st->nprocs], 0, sizeof(*st->procs));
	st->procs[st->nprocs].pid = pid;
	u64map__put(&st->proc_index, pid, st->nprocs);
	return &st->procs[st->nprocs++];
}

/* A block ended: its lifetime goes into the histograms. */
static void on_block_end(const struct heap_block *b, const struct tape_event *ev,
			 const struct heap_process *pr, void *ctx)
{
	struct stat_state *st = ctx;

	st->life_ns[log2_bucket(ev->ts >= b->ts ? ev->ts - b->ts : 0)]++;
	st->life_ops[log2_bucket(pr->ops - b->op)]++;
}

static void add_syscall(struct stat_state *st, const struct tape_event *ev)
{
	const struct tape_syscall *sc = &ev->sys;
	bool error = !(sc->flags & TAPE_SYS_NO_RETURN) && sc->ret < 0 && sc->ret > -4096;
	struct thread_stats *t = thread_of(st, ev->pid, ev->tid);

	for (int i = 0; i < 2; i++) {
		struct sys_stats *s = sys_of(st, i ? ev->pid : 0, sc->nr);

		s->calls++;
		s->errors += error;
		s->total_ns += sc->duration;
		if (sc->duration > s->max_ns)
			s->max_ns = sc->duration;
	}
	if (error) {
		uint64_t key = (uint64_t)sc->nr << 16 | (uint64_t)-sc->ret, *n = u64map__get(&st->errnos, key);

		u64map__put(&st->errnos, key, n ? *n + 1 : 1);
	}
	t->syscalls++;
	t->sys_errors += error;
	t->sys_ns += sc->duration;
}

static void add_lifecycle(struct stat_state *st, const struct tape_event *ev)
{
	struct proc_node *p;

	switch (ev->type) {
	case TAPE_EV_FORK:
		if (!(ev->fork.flags & TAPE_FORK_THREAD)) {
			proc_of(st, ev->pid);
			p = proc_of(st, ev->fork.child_pid);
			p->parent = ev->pid;
			snprintf(p->name, sizeof(p->name), "%s", proc_of(st, ev->pid)->name);
		}
		break;
	case TAPE_EV_EXEC:
		p = proc_of(st, ev->pid);
		snprintf(p->exec, sizeof(p->exec), "%.*s", (int)ev->exec.name_len, ev->exec.filename);
		break;
	case TAPE_EV_COMM:
		p = proc_of(st, ev->pid);
		if (ev->tid == ev->pid || !p->name[0])
			snprintf(p->name, sizeof(p->name), "%.*s", (int)ev->comm.len, ev->comm.name);
		break;
	case TAPE_EV_EXIT:
		if (ev->exit.flags & TAPE_EXIT_PROCESS) {
			p = proc_of(st, ev->pid);
			p->exited = true;
			p->code = ev->exit.code;
		}
		break;
	}
}

static void add_loss(struct stat_state *st, const struct tape_event *ev)
{
	size_t i;

	for (i = 0; i < st->nlosses; i++)
		if (st->losses[i].reason == ev->loss.reason && st->losses[i].type == ev->loss.lost_type)
			break;
	if (i == st->nlosses) {
		if (st->nlosses == sizeof(st->losses) / sizeof(st->losses[0]))
			i--;
		else
			st->losses[st->nlosses++] = (struct loss_stats){ ev->loss.reason, ev->loss.lost_type };
	}
	st->losses[i].count += ev->loss.count;
	st->losses[i].records++;
}

static void add_event(struct stat_state *st, const struct tape_event *ev)
{
	if (!st->events++)
		st->first_ts = ev->ts;
	if (ev->ts > st->last_ts)
		st->last_ts = ev->ts;
	heap_model__event(&st->heap, ev);
	if (tape_type_is_alloc(ev->type)) {
		const struct tape_alloc *a = &ev->alloc;
		struct fn_stats *f = &st->fns[ev->type];
		struct thread_stats *t = thread_of(st, ev->pid, ev->tid);
		bool failed = tape_type_allocates(ev->type) &&
			      (!a->result || (ev->type == TAPE_EV_POSIX_MEMALIGN && a->err));
		uint64_t bytes = ev->type == TAPE_EV_CALLOC || ev->type == TAPE_EV_REALLOCARRAY ?
				 a->nmemb * a->size : a->size;

		f->calls++;
		f->failures += failed;
		if (tape_type_frees(ev->type)) {
			t->frees++;
			return;
		}
		t->allocs++;
		if (!failed) {
			f->bytes += bytes;
			t->bytes += bytes;
			st->sizes[log2_bucket(bytes)]++;
		}
	} else if (ev->type == TAPE_EV_SYSCALL) {
		add_syscall(st, ev);
	} else if (ev->type == TAPE_EV_LOSS) {
		add_loss(st, ev);
	} else {
		add_lifecycle(st, ev);
	}
}

/* ----------------------------------------------------------------- report */

struct report {
	struct stat_state *st;
	struct print_ctx *pctx;
	struct sites *sites;
	struct site_row *rows;	/* the allocation sites, alike ones merged (sites.h) */
	size_t nrows;
	int top;
	bool json;
};

static const char *hist_label(int b, char *buf, size_t len, bool ns)
{
	uint64_t lo = b ? 1ull << (b - 1) : 0, hi = b ? (b == 64 ? UINT64_MAX : (1ull << b) - 1) : 0;

	if (ns && b) {
		static const char *const units[] = { "ns", "us", "ms", "s" };
		double l = lo, h = hi;
		int u = 0;

		while (h >= 1000 && u < 3) {
			l /= 1000;
			h /= 1000;
			u++;
		}
		snprintf(buf, len, "%.4g .. %.4g %s", l, h, units[u]);
	} else {
		snprintf(buf, len, "%" PRIu64 " .. %" PRIu64, lo, hi);
	}
	return buf;
}

static void print_hist(const char *title, const uint64_t *h, bool ns)
{
	uint64_t max = 0;
	int first = -1, last = -1;
	char label[64];

	for (int b = 0; b < HIST; b++) {
		if (h[b] > max)
			max = h[b];
		if (h[b]) {
			if (first < 0)
				first = b;
			last = b;
		}
	}
	printf("\n%s\n", title);
	if (first < 0) {
		printf("  (none)\n");
		return;
	}
	for (int b = first; b <= last; b++) {
		int bar = max ? (int)(h[b] * 40 / max) : 0;

		printf("  %28s : %-10" PRIu64 " |%.*s%*s|\n", hist_label(b, label, sizeof(label), ns),
		       h[b], bar, "****************************************", 40 - bar, "");
	}
}

/* Site rows: sum[0] counts calls, sum[1] bytes. */
static int by_bytes(const void *a, const void *b)
{
	const struct site_row *x = a, *y = b;

	return x->sum[1] < y->sum[1] ? 1 : x->sum[1] > y->sum[1] ? -1 : 0;
}

static int by_calls(const void *a, const void *b)
{
	const struct site_row *x = a, *y = b;

	return x->sum[0] < y->sum[0] ? 1 : x->sum[0] > y->sum[0] ? -1 : 0;
}

/* The heap's sites as rows, alike ones merged; 0 rows when out of memory. */
static void site_rows(struct report *r)
{
	struct heap_model *h = &r->st->heap;
	size_t n;

	r->rows = calloc(h->nsites + 1, sizeof(*r->rows));
	if (!r->rows)
		return;
	for (uint32_t i = 0; i < h->nsites; i++)
		r->rows[i] = (struct site_row){ { 0, 0 }, h->sites[i].pid, h->sites[i].caller,
						h->sites[i].stack,
						{ h->sites[i].calls, h->sites[i].bytes }, 0 };
	n = sites__merge(r->sites, r->rows, h->nsites);
	r->nrows = n == SIZE_MAX ? 0 : n;
}

static int by_time(const void *a, const void *b)
{
	const struct sys_stats *x = a, *y = b;

	return x->total_ns < y->total_ns ? 1 : x->total_ns > y->total_ns ? -1 :
	       x->calls < y->calls ? 1 : x->calls > y->calls ? -1 : 0;
}

static const char *syscall_name(uint32_t nr, char *buf, size_t len)
{
	const struct syscall_info *sc = syscall_by_nr(nr);

	if (sc)
		return sc->name;
	snprintf(buf, len, "syscall_%u", nr);
	return buf;
}

/* Where the site column starts: a stack's further frames line up under it. */
#define SITE_COLUMN 29

static void print_sites(struct report *r, int (*cmp)(const void *, const void *), const char *what)
{
	qsort(r->rows, r->nrows, sizeof(*r->rows), cmp);
	printf("\nTop allocation sites by %s\n  %14s %10s  site\n", what, "bytes", "calls");
	for (size_t i = 0; i < (size_t)r->top && i < r->nrows; i++) {
		const struct site_row *row = &r->rows[i];

		printf("  %14" PRIu64 " %10" PRIu64 "  ", row->sum[1], row->sum[0]);
		sites__print_text(r->sites, stdout, row->pid, row->caller, row->stack, SITE_COLUMN);
		putchar('\n');
	}
}

static void print_syscalls(struct report *r, uint32_t pid, const char *title)
{
	struct stat_state *st = r->st;
	struct sys_stats *rows = malloc((st->nsys + 1) * sizeof(*rows)), total = { 0 };
	size_t n = 0;
	char name[32];

	if (!rows)
		return;
	for (size_t i = 0; i < st->nsys; i++)
		if (st->sys[i].pid == pid) {
			rows[n++] = st->sys[i];
			total.calls += st->sys[i].calls;
			total.errors += st->sys[i].errors;
			total.total_ns += st->sys[i].total_ns;
		}
	if (!n) {
		free(rows);
		return;
	}
	qsort(rows, n, sizeof(*rows), by_time);
	printf("\n%s\n  %% time     seconds  usecs/call   max usecs      calls    errors  syscall\n",
	       title);
	printf("  ------ ----------- ----------- ----------- ---------- --------- ----------------\n");
	for (size_t i = 0; i < n; i++) {
		struct sys_stats *s = &rows[i];

		printf("  %6.2f %11.6f %11.0f %11.0f %10" PRIu64 " %9" PRIu64 "  %s",
		       total.total_ns ? 100.0 * s->total_ns / total.total_ns : 0, s->total_ns / 1e9,
		       s->calls ? s->total_ns / 1e3 / s->calls : 0, s->max_ns / 1e3, s->calls, s->errors,
		       syscall_name(s->nr, name, sizeof(name)));
		/* Errors by errno, in the table of every process. */
		for (int e = 1, first = 1; e < 4096 && s->errors && pid == 0; e++) {
			uint64_t *cnt = u64map__get(&st->errnos, (uint64_t)s->nr << 16 | e);

			if (cnt) {
				printf("%s%s %" PRIu64, first ? " (" : ", ",
				       errno_name(e) ? errno_name(e) : "?", *cnt);
				first = 0;
			}
			if (e == 4095 && !first)
				printf(")");
		}
		printf("\n");
	}
	printf("  ------ ----------- ----------- ----------- ---------- --------- ----------------\n");
	printf("  100.00 %11.6f %11.0f %11s %10" PRIu64 " %9" PRIu64 "  total\n", total.total_ns / 1e9,
	       total.calls ? total.total_ns / 1e3 / total.calls : 0, "", total.calls, total.errors);
	free(rows);
}

static void print_node(struct stat_state *st, const struct proc_node *p, int depth)
{
	printf("  %*s%u %s", depth * 2, "", p->pid, p->name[0] ? p->name : "-");
	if (p->exec[0])
		printf(" (exec %s)", p->exec);
	if (p->exited)
		printf(", exit %d", (p->code >> 8) & 0xff);
	printf("\n");
	for (size_t i = 0; i < st->nprocs && depth < 32; i++)
		if (st->procs[i].parent == p->pid && &st->procs[i] != p)
			print_node(st, &st->procs[i], depth + 1);
}

/* Roots: processes whose parent the tape does not show. */
static void print_tree(struct stat_state *st)
{
	for (size_t i = 0; i < st->nprocs; i++)
		if (!st->procs[i].parent || !u64map__get(&st->proc_index, st->procs[i].parent))
			print_node(st, &st->procs[i], 0);
}

static void report_text(struct report *r, const char *path, bool threads_known)
{
	struct stat_state *st = r->st;
	struct heap_model *h = &st->heap;
	uint64_t peak = 0, peak_ts = 0, unknown = 0, inversions = 0, live = 0;
	uint32_t peak_pid = 0;

	printf("%s: %" PRIu64 " events", path, st->events);
	if (threads_known)
		printf(" over %.3f s, %zu processes, %zu threads", (st->last_ts - st->first_ts) / 1e9,
		       st->nprocs ? st->nprocs : (size_t)h->nprocs, st->nthreads);
	printf("\n\nCalls per function\n  %-16s %12s %10s %16s\n", "function", "calls", "failed",
	       "bytes requested");
	for (int k = 1; k <= TAPE_EV_DELETE; k++)
		if (st->fns[k].calls)
			printf("  %-16s %12" PRIu64 " %10" PRIu64 " %16" PRIu64 "\n", tape_type_name(k),
			       st->fns[k].calls, st->fns[k].failures, st->fns[k].bytes);
	if (threads_known) {
		printf("\nCalls per thread\n  %8s %8s %-16s %10s %10s %14s %10s %8s\n", "pid", "tid", "comm",
		       "allocs", "frees", "bytes", "syscalls", "errors");
		for (size_t i = 0; i < st->nthreads; i++) {
			struct thread_stats *t = &st->threads[i];

			printf("  %8u %8u %-16s %10" PRIu64 " %10" PRIu64 " %14" PRIu64 " %10" PRIu64
			       " %8" PRIu64 "\n", t->pid, t->tid, comm_table__get(r->pctx->comms, t->tid),
			       t->allocs, t->frees, t->bytes, t->syscalls, t->sys_errors);
		}
	}
	print_hist("Requested sizes (bytes)", st->sizes, false);
	if (threads_known)
		print_hist("Lifetimes of freed blocks (time)", st->life_ns, true);
	print_hist("Lifetimes of freed blocks (allocator calls of the process in between)", st->life_ops,
		   false);
	for (uint32_t i = 0; i < h->nprocs; i++) {
		if (h->procs[i].peak_bytes > peak) {
			peak = h->procs[i].peak_bytes;
			peak_ts = h->procs[i].peak_ts;
			peak_pid = h->procs[i].pid;
		}
		unknown += h->procs[i].unknown_releases;
		inversions += h->procs[i].addrs.inversions;
		live += h->procs[i].live_bytes;
	}
	printf("\nLive bytes\n  peak %" PRIu64 " bytes", peak);
	if (threads_known)
		printf(" at %.6f s in process %u", peak_ts / 1e9, peak_pid);
	printf("; still live at the end: %" PRIu64 " bytes\n", live);
	if (h->nprocs > 1)
		for (uint32_t i = 0; i < h->nprocs; i++)
			if (h->procs[i].ops)	/* not an image that only exec'd */
				printf("  process %-8u peak %" PRIu64 " at %.6f s, at its end %" PRIu64 "\n",
				       h->procs[i].pid, h->procs[i].peak_bytes, h->procs[i].peak_ts / 1e9,
				       h->procs[i].live_bytes);
	print_sites(r, by_bytes, "bytes");
	print_sites(r, by_calls, "calls");
	if (st->nsys) {
		print_syscalls(r, 0, "Syscalls (all processes)");
		if (st->nprocs > 1)
			for (size_t i = 0; i < st->nprocs; i++) {
				char title[96];

				snprintf(title, sizeof(title), "Syscalls of process %u (%s)", st->procs[i].pid,
					 st->procs[i].name[0] ? st->procs[i].name : "-");
				print_syscalls(r, st->procs[i].pid, title);
			}
	}
	if (st->nprocs) {
		printf("\nProcess tree\n");
		print_tree(st);
	}
	printf("\nLosses and unknown blocks\n");
	if (!st->nlosses)
		printf("  no loss records: nothing was lost\n");
	for (size_t i = 0; i < st->nlosses; i++) {
		struct loss_stats *l = &st->losses[i];

		if (l->count)
			printf("  %" PRIu64 " %s events lost: %s (%" PRIu64 " records)\n", l->count,
			       l->type ? tape_type_name(l->type) : "", tape_loss_reason_name(l->reason), l->records);
		else
			printf("  %" PRIu64 " times an unknown number of events lost: %s\n", l->records,
			       tape_loss_reason_name(l->reason));
	}
	printf("  %" PRIu64 " frees or reallocs of blocks the tape never saw made (from before the "
	       "recording)\n", unknown);
	if (inversions)
		printf("  %" PRIu64 " addresses made again while the tape still held them (a late realloc record)\n",
		       inversions);
}

static void json_hist(const char *key, const uint64_t *h)
{
	printf(",\"%s\":[", key);
	for (int b = 0, n = 0; b < HIST; b++)
		if (h[b])
			printf("%s{\"log2\":%d,\"count\":%" PRIu64 "}", n++ ? "," : "", b, h[b]);
	printf("]");
}

static void report_json(struct report *r)
{
	struct stat_state *st = r->st;
	struct heap_model *h = &st->heap;
	uint64_t peak = 0, unknown = 0, live = 0;
	char name[32];

	printf("{\"events\":%" PRIu64 ",\"first_ts\":%" PRIu64 ",\"last_ts\":%" PRIu64, st->events,
	       st->first_ts, st->last_ts);
	printf(",\"calls\":{");
	for (int k = 1, n = 0; k <= TAPE_EV_DELETE; k++)
		if (st->fns[k].calls)
			printf("%s\"%s\":{\"calls\":%" PRIu64 ",\"failed\":%" PRIu64 ",\"bytes\":%" PRIu64 "}",
			       n++ ? "," : "", tape_type_name(k), st->fns[k].calls, st->fns[k].failures,
			       st->fns[k].bytes);
	printf("},\"threads\":[");
	for (size_t i = 0; i < st->nthreads; i++) {
		struct thread_stats *t = &st->threads[i];

		printf("%s{\"pid\":%u,\"tid\":%u,\"allocs\":%" PRIu64 ",\"frees\":%" PRIu64
		       ",\"bytes\":%" PRIu64 ",\"syscalls\":%" PRIu64 ",\"syscall_errors\":%" PRIu64 "}",
		       i ? "," : "", t->pid, t->tid, t->allocs, t->frees, t->bytes, t->syscalls,
		       t->sys_errors);
	}
	printf("]");
	json_hist("sizes", st->sizes);
	json_hist("lifetime_ns", st->life_ns);
	json_hist("lifetime_ops", st->life_ops);
	printf(",\"processes\":[");
	for (uint32_t i = 0; i < h->nprocs; i++) {
		struct heap_process *p = &h->procs[i];

		if (p->peak_bytes > peak)
			peak = p->peak_bytes;
		unknown += p->unknown_releases;
		live += p->live_bytes;
		printf("%s{\"pid\":%u,\"peak_live_bytes\":%" PRIu64 ",\"peak_ts\":%" PRIu64
		       ",\"live_bytes\":%" PRIu64 ",\"unknown_releases\":%" PRIu64 "}", i ? "," : "",
		       p->pid, p->peak_bytes, p->peak_ts, p->live_bytes, p->unknown_releases);
	}
	printf("],\"peak_live_bytes\":%" PRIu64 ",\"live_bytes\":%" PRIu64 ",\"unknown_releases\":%" PRIu64,
	       peak, live, unknown);
	qsort(r->rows, r->nrows, sizeof(*r->rows), by_bytes);
	printf(",\"sites\":[");
	for (size_t i = 0; i < (size_t)r->top && i < r->nrows; i++) {
		const struct site_row *row = &r->rows[i];

		printf("%s{\"bytes\":%" PRIu64 ",\"calls\":%" PRIu64 ",\"caller\":\"0x%" PRIx64 "\"",
		       i ? "," : "", row->sum[1], row->sum[0], row->caller);
		sites__print_json(r->sites, stdout, row->pid, row->caller, row->stack);
		printf("}");
	}
	printf("],\"syscalls\":[");
	for (size_t i = 0, n = 0; i < st->nsys; i++) {
		struct sys_stats *s = &st->sys[i];

		if (s->pid)
			continue;
		printf("%s{\"name\":\"%s\",\"nr\":%u,\"calls\":%" PRIu64 ",\"errors\":%" PRIu64
		       ",\"total_ns\":%" PRIu64 ",\"max_ns\":%" PRIu64 ",\"errnos\":{", n++ ? "," : "",
		       syscall_name(s->nr, name, sizeof(name)), s->nr, s->calls, s->errors, s->total_ns,
		       s->max_ns);
		for (int e = 1, k = 0; e < 4096 && s->errors; e++) {
			uint64_t *cnt = u64map__get(&st->errnos, (uint64_t)s->nr << 16 | e);

			if (cnt)
				printf("%s\"%s\":%" PRIu64, k++ ? "," : "", errno_name(e) ? errno_name(e) : "?",
				       *cnt);
		}
		printf("}}");
	}
	printf("],\"tree\":[");
	for (size_t i = 0; i < st->nprocs; i++) {
		struct proc_node *p = &st->procs[i];

		printf("%s{\"pid\":%u,\"parent\":%u,\"name\":", i ? "," : "", p->pid, p->parent);
		print_json_string(stdout, p->name, strlen(p->name));
		printf(",\"exec\":");
		print_json_string(stdout, p->exec, strlen(p->exec));
		printf(",\"exited\":%s,\"status\":%d}", p->exited ? "true" : "false", p->code);
	}
	printf("],\"losses\":[");
	for (size_t i = 0; i < st->nlosses; i++)
		printf("%s{\"reason\":\"%s\",\"lost\":\"%s\",\"count\":%" PRIu64 ",\"records\":%" PRIu64 "}",
		       i ? "," : "", tape_loss_reason_name(st->losses[i].reason),
		       st->losses[i].type ? tape_type_name(st->losses[i].type) : "any",
		       st->losses[i].count, st->losses[i].records);
	printf("]}\n");
}

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: bpftape stat [OPTIONS] TAPE\n\n"
		"Sums up a tape (bpftape or mwrap) in one pass: calls per function and per\n"
		"thread; histograms of requested sizes and of lifetimes (time, and allocator\n"
		"calls in between); peak live bytes and when; the top allocation sites by bytes\n"
		"and by calls; a syscall summary like strace -c, per process; the process tree;\n"
		"losses and frees of blocks from before the recording. When the tape has call\n"
		"stacks, a site is a stack, shown from the first frame outside allocator and\n"
		"wrapper code (--skip-frames), one frame a line.\n\n"
		"Options:\n"
		"  --top N            how many allocation sites to show (default 10)\n"
		"  --json             one JSON object\n"
		EVENT_FILTER_HELP
		STACK_OPTIONS_HELP
		SITE_OPTIONS_HELP
		"  -h, --help         this help\n\n"
		"Examples:\n"
		"  bpftape stat app.tape\n"
		"  bpftape stat --pid 4242 --top 20 app.tape\n");
}

int do_stat(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "top", required_argument, NULL, 'n' },
		{ "json", no_argument, NULL, 'j' },
		{ "pid", required_argument, NULL, 'p' },
		{ "tid", required_argument, NULL, 't' },
		{ "event", required_argument, NULL, 'e' },
		{ "since", required_argument, NULL, 's' },
		{ "until", required_argument, NULL, 'u' },
		STACK_OPTIONS,
		SITE_OPTIONS,
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct stat_state *st = calloc(1, sizeof(*st));
	struct event_filter filter;
	struct tool_input in;
	struct tape_event ev;
	struct report r = { .st = st, .top = 10 };
	struct stack_opts so = { 0 };
	uint64_t v;
	int c, idx = 0, err, status;

	if (!st)
		return EXIT_FAIL;
	event_filter__init(&filter);
	while ((c = getopt_long(argc, argv, "h", opts, &idx)) != -1) {
		switch (c) {
		case 'n':
			err = parse_u64(optarg, 1, 100000, &v);
			if (err)
				return cli_bad_value("--top", optarg, err, "expected a count");
			r.top = v;
			break;
		case 'j':
			r.json = true;
			break;
		case 'p': case 't': case 'e': case 's': case 'u':
			err = event_filter__option(&filter, opts[idx].name, optarg);
			if (err)
				return err;
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
	heap_model__init(&st->heap, in.pctx.has_threads, on_block_end, st);
	u64map__init(&st->thread_index);
	u64map__init(&st->sys_index);
	u64map__init(&st->errnos);
	u64map__init(&st->proc_index);
	while (tool_input__next(&in, &ev)) {
		/* Sites by stack: the tape's per-process stack id becomes the table's handle. */
		if (tape_type_is_alloc(ev.type))
			ev.alloc.stack = in.stack;
		if (event_filter__match(&filter, &ev))
			add_event(st, &ev);
	}
	r.pctx = &in.pctx;
	r.sites = in.sites;
	site_rows(&r);
	if (r.json)
		report_json(&r);
	else
		report_text(&r, argv[optind], in.pctx.has_threads);
	fflush(stdout);
	free(r.rows);
	status = tool_input__finish(&in);
	heap_model__free(&st->heap);
	return status;
}
