/*
 * Compares the syscalls and lifecycle events of a tape with the ground truth
 * that tests/workloads/sys_workload wrote (its log format is described
 * there): each thread's marked sections must appear in that thread's
 * syscalls exactly (number, arguments, result, path and its state), in
 * order, with nothing in between; each fork, exec and exit must be there.
 *
 * Usage: check_sys TAPE LOG [LOG...]
 * Loss records fail the check, except a followed child's allocator follow gap.
 * Prints what differs and exits 1, or prints a summary and exits 0.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>

#include "event_source.h"
#include "grow_array.h"
#include "tape.h"

#define MARK_START ((uint64_t)-12345L)
#define MARK_END ((uint64_t)-12346L)
#define NR_CLOSE SYS_close
#define NR_GETTID SYS_gettid
#define KEPT_PATH 256	/* the recorder's bound on a path (bpf/sys.h) */

struct call {
	uint32_t tid, nr;
	int64_t ret;
	uint64_t args[6];
	int nargs;
	int state;		/* TAPE_PATH_* */
	char *path;		/* NUL-terminated copy, or NULL */
	uint32_t path_len;
};

struct calls {
	struct call *v;
	size_t n, cap;
};

static void push(struct calls *l, const struct call *c)
{
	l->v = grow_array_or_abort(l->v, &l->cap, l->n + 1, sizeof(*l->v));
	l->v[l->n++] = *c;
}

static struct calls tape_calls, lifecycle;	/* lifecycle: type in nr, fields reused */
static size_t failures, matched, follow_gaps;

__attribute__((format(printf, 1, 2))) static void fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	failures++;
}

static int state_of(const char *s)
{
	if (!strcmp(s, "ok"))
		return TAPE_PATH_OK;
	if (!strcmp(s, "truncated"))
		return TAPE_PATH_TRUNCATED;
	if (!strcmp(s, "unreadable"))
		return TAPE_PATH_UNREADABLE;
	return TAPE_PATH_NONE;
}

static bool is_marker(const struct call *c, uint64_t which)
{
	return c->nr == NR_CLOSE && c->args[0] == which;
}

static bool same_call(const struct call *want, const struct call *got)
{
	if (want->nr != got->nr || want->ret != got->ret || got->nargs < want->nargs ||
	    want->state != got->state)
		return false;
	for (int i = 0; i < want->nargs; i++)
		if (want->args[i] != got->args[i])
			return false;
	if (want->state == TAPE_PATH_OK)
		return got->path && !strcmp(want->path, got->path);
	if (want->state == TAPE_PATH_TRUNCATED)
		return got->path_len == KEPT_PATH && !strncmp(want->path, got->path, KEPT_PATH);
	return true;
}

static void show(const char *what, const struct call *c)
{
	printf("  %s: nr %u ret %" PRId64 " args", what, c->nr, c->ret);
	for (int i = 0; i < c->nargs; i++)
		printf(" %" PRIx64, c->args[i]);
	printf(" path[%d] %s\n", c->state, c->path ? c->path : "-");
}

/* The index of tid's next syscall at or after from, or tape_calls.n. */
static size_t next_of(uint32_t tid, size_t from)
{
	while (from < tape_calls.n && tape_calls.v[from].tid != tid)
		from++;
	return from;
}

/* Per thread: where its matching has got to in tape_calls. */
struct cursor {
	uint32_t tid;
	size_t at;
	bool started;
};

static struct cursor cursors[4096];
static size_t ncursors;

static struct cursor *cursor_of(uint32_t tid)
{
	for (size_t i = 0; i < ncursors; i++)
		if (cursors[i].tid == tid)
			return &cursors[i];
	if (ncursors == sizeof(cursors) / sizeof(cursors[0]))
		exit(2);
	cursors[ncursors] = (struct cursor){ tid, 0, false };
	return &cursors[ncursors++];
}

static bool find_lifecycle(unsigned type, uint32_t tid, uint64_t a, uint64_t b, const char *path)
{
	for (size_t i = 0; i < lifecycle.n; i++) {
		const struct call *e = &lifecycle.v[i];

		if (e->nr != type || e->tid != tid || e->args[0] != a || e->args[1] != b)
			continue;
		if (path && (!e->path || strcmp(e->path, path)))
			continue;
		return true;
	}
	return false;
}

static void check_line(char *line)
{
	char kind = line[0], state[16], *p;
	struct cursor *c;
	struct call want = { 0 };
	unsigned long tid, a, b;
	int n;

	switch (kind) {
	case 'B':
		if (sscanf(line, "B %lu", &tid) != 1)
			break;
		c = cursor_of(tid);
		c->at = next_of(tid, c->at);
		if (strstr(line, "first")) {
			/* The thread learns its ID, then marks: both, first, in the tape. */
			const struct call *gettid = c->at < tape_calls.n ? &tape_calls.v[c->at] : NULL;

			c->at = next_of(tid, c->at + 1);
			if (!gettid || gettid->nr != NR_GETTID || gettid->ret != (int64_t)tid ||
			    c->at == tape_calls.n || !is_marker(&tape_calls.v[c->at], MARK_START)) {
				fail("tid %lu: its first syscalls in the tape are not gettid and its marker",
				     tid);
				return;
			}
		} else {
			while (c->at < tape_calls.n && !is_marker(&tape_calls.v[c->at], MARK_START))
				c->at = next_of(tid, c->at + 1);
			if (c->at == tape_calls.n) {
				fail("tid %lu: a section's start marker is not in the tape", tid);
				return;
			}
		}
		c->started = true;
		c->at++;
		matched++;
		return;
	case 'S':
		if (sscanf(line, "S %lu %u %" SCNd64 " %d%n", &tid, &want.nr, &want.ret, &want.nargs,
			   &n) != 4)
			break;
		p = line + n;
		/* Logged as signed longs: strtoull wraps "-100" as the register holds it. */
		for (int i = 0; i < want.nargs; i++)
			want.args[i] = strtoull(p, &p, 10);
		if (sscanf(p, " %15s %n", state, &n) != 1)
			break;
		want.state = state_of(state);
		want.path = p + n;
		want.path[strcspn(want.path, "\n")] = 0;
		c = cursor_of(tid);
		if (!c->started)
			return;		/* its section was already reported missing */
		c->at = next_of(tid, c->at);
		if (c->at == tape_calls.n) {
			fail("tid %lu: the tape ends before syscall %u of a section", tid, want.nr);
			show("log ", &want);
			c->started = false;
			return;
		}
		if (!same_call(&want, &tape_calls.v[c->at])) {
			fail("tid %lu: a syscall differs", tid);
			show("log ", &want);
			show("tape", &tape_calls.v[c->at]);
			c->started = false;
			return;
		}
		c->at++;
		matched++;
		return;
	case 'E':
	case 'N':
		if (sscanf(line + 1, " %lu", &tid) != 1)
			break;
		c = cursor_of(tid);
		if (!c->started)
			return;
		c->started = false;
		if (kind == 'N')
			return;
		c->at = next_of(tid, c->at);
		if (c->at == tape_calls.n || !is_marker(&tape_calls.v[c->at], MARK_END)) {
			fail("tid %lu: something other than the end marker follows a section", tid);
			if (c->at < tape_calls.n)
				show("tape", &tape_calls.v[c->at]);
			return;
		}
		c->at++;
		matched++;
		return;
	case 'F':
		if (sscanf(line, "F %lu %lu", &tid, &a) != 2)
			break;
		if (!find_lifecycle(TAPE_EV_FORK, tid, a, 0, NULL))
			fail("no fork of process %lu by %lu in the tape", a, tid);
		else
			matched++;
		return;
	case 'X':
		if (sscanf(line, "X %lu %lu %lu", &tid, &a, &b) != 3)
			break;
		if (!find_lifecycle(TAPE_EV_EXIT, tid, a, b, NULL))
			fail("no exit of %lu with status %lu (%s) in the tape", tid, a,
			     b ? "process" : "thread");
		else
			matched++;
		return;
	case 'C':
		if (sscanf(line, "C %lu %n", &tid, &n) != 1)
			break;
		line[strcspn(line, "\n")] = 0;
		if (!find_lifecycle(TAPE_EV_EXEC, tid, 0, 0, line + n))
			fail("no exec of %s by %lu in the tape", line + n, tid);
		else
			matched++;
		return;
	}
	printf("bad log line: %s", line);
	exit(2);
}

static char *copy_path(const char *p, uint32_t len)
{
	char *s = malloc(len + 1);

	if (!s)
		exit(2);
	memcpy(s, p, len);
	s[len] = 0;
	return s;
}

static void read_tape(const char *path)
{
	struct event_source *src;
	struct tape_event ev;
	char msg[512];
	int r;

	if (event_source__open(&src, path, msg, sizeof(msg))) {
		printf("%s\n", msg);
		exit(2);
	}
	while ((r = event_source__next(src, &ev)) > 0) {
		struct call c = { .tid = ev.tid, .nr = ev.type };

		switch (ev.type) {
		case TAPE_EV_SYSCALL:
			c.nr = ev.sys.nr;
			c.ret = ev.sys.ret;
			c.nargs = ev.sys.nargs;
			memcpy(c.args, ev.sys.args, sizeof(c.args));
			c.state = ev.sys.path_state;
			c.path_len = ev.sys.path_len;
			if (c.state == TAPE_PATH_OK || c.state == TAPE_PATH_TRUNCATED)
				c.path = copy_path(ev.sys.path, ev.sys.path_len);
			push(&tape_calls, &c);
			break;
		case TAPE_EV_FORK:
			if (ev.fork.flags & TAPE_FORK_THREAD)
				break;
			c.args[0] = ev.fork.child_pid;
			push(&lifecycle, &c);
			break;
		case TAPE_EV_EXIT:
			c.args[0] = (uint32_t)ev.exit.code;
			c.args[1] = !!(ev.exit.flags & TAPE_EXIT_PROCESS);
			push(&lifecycle, &c);
			break;
		case TAPE_EV_EXEC:
			c.tid = ev.pid;
			c.path = copy_path(ev.exec.filename, ev.exec.name_len);
			push(&lifecycle, &c);
			break;
		case TAPE_EV_LOSS:
			/*
			 * Allocator calls a child may have made unprobed (its probes came
			 * late, or it was gone before its image was read): said, expected;
			 * its syscalls are all here all the same.
			 */
			if ((ev.loss.reason == TAPE_LOSS_FOLLOW_GAP ||
			     ev.loss.reason == TAPE_LOSS_UNREAD_IMAGE) && ev.loss.lost_type != TAPE_EV_SYSCALL) {
				follow_gaps++;
				break;
			}
			fail("the tape has a loss record: %" PRIu64 " events of type %u, reason %u",
			     ev.loss.count, ev.loss.lost_type, ev.loss.reason);
			break;
		}
	}
	if (r < 0 || event_source__damage(src, msg, sizeof(msg)))
		fail("the tape is damaged: %s", msg);
	event_source__close(src, NULL, 0);
}

int main(int argc, char **argv)
{
	char line[8192];

	if (argc < 3) {
		fprintf(stderr, "usage: check_sys TAPE LOG [LOG...]\n");
		return 2;
	}
	read_tape(argv[1]);
	for (int i = 2; i < argc; i++) {
		FILE *f = fopen(argv[i], "r");

		if (!f) {
			printf("cannot read %s\n", argv[i]);
			return 2;
		}
		while (fgets(line, sizeof(line), f))
			check_line(line);
		fclose(f);
	}
	if (failures) {
		printf("FAILED: %zu problems; %zu facts matched\n", failures, matched);
		return 1;
	}
	printf("ok: %zu facts of the log matched the tape exactly (%zu syscalls in the tape, "
	       "%zu allocator follow gaps)\n", matched, tape_calls.n, follow_gaps);
	return 0;
}
