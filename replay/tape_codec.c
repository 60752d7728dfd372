/* Event records to and from bytes. Layouts are in docs/FORMAT.md, "Records". */
#include <errno.h>
#include <string.h>

#include "bytes.h"
#include "tape_codec.h"
#include "tape_format.h"

/*
 * Which fields each allocator record carries, in the order they are stored:
 * ptr, nmemb, align, size, err, then result and caller. Encoder and decoder
 * both walk this table, so that they cannot disagree.
 */
struct alloc_layout {
	uint8_t ptr, nmemb, align, size, err, result;
};

static const struct alloc_layout alloc_layouts[TAPE_EV_DELETE + 1] = {
	[TAPE_EV_MALLOC] = { .size = 1, .result = 1 },
	[TAPE_EV_CALLOC] = { .nmemb = 1, .size = 1, .result = 1 },
	[TAPE_EV_REALLOC] = { .ptr = 1, .size = 1, .result = 1 },
	[TAPE_EV_REALLOCARRAY] = { .ptr = 1, .nmemb = 1, .size = 1, .result = 1 },
	[TAPE_EV_POSIX_MEMALIGN] = { .align = 1, .size = 1, .err = 1, .result = 1 },
	[TAPE_EV_ALIGNED_ALLOC] = { .align = 1, .size = 1, .result = 1 },
	[TAPE_EV_MEMALIGN] = { .align = 1, .size = 1, .result = 1 },
	[TAPE_EV_VALLOC] = { .size = 1, .result = 1 },
	[TAPE_EV_PVALLOC] = { .size = 1, .result = 1 },
	[TAPE_EV_FREE] = { .ptr = 1 },
	/* align and size by variant: see variant_fields. */
	[TAPE_EV_NEW] = { .size = 1, .result = 1 },
	[TAPE_EV_DELETE] = { .ptr = 1 },
};

/* new and delete store align, and delete size, only in the forms that take them. */
static void variant_fields(unsigned type, unsigned variant, struct alloc_layout *l)
{
	if (type == TAPE_EV_NEW || type == TAPE_EV_DELETE) {
		l->align = (variant & TAPE_VARIANT_ALIGNED) != 0;
		if (type == TAPE_EV_DELETE)
			l->size = (variant & TAPE_VARIANT_SIZED) != 0;
	}
}

static const char *const type_names[TAPE_EV_MAX_KNOWN + 1] = {
	[TAPE_EV_MALLOC] = "malloc",
	[TAPE_EV_CALLOC] = "calloc",
	[TAPE_EV_REALLOC] = "realloc",
	[TAPE_EV_REALLOCARRAY] = "reallocarray",
	[TAPE_EV_POSIX_MEMALIGN] = "posix_memalign",
	[TAPE_EV_ALIGNED_ALLOC] = "aligned_alloc",
	[TAPE_EV_MEMALIGN] = "memalign",
	[TAPE_EV_VALLOC] = "valloc",
	[TAPE_EV_PVALLOC] = "pvalloc",
	[TAPE_EV_FREE] = "free",
	[TAPE_EV_NEW] = "new",
	[TAPE_EV_DELETE] = "delete",
	[TAPE_EV_SYSCALL] = "syscall",
	[TAPE_EV_FORK] = "fork",
	[TAPE_EV_EXEC] = "exec",
	[TAPE_EV_EXIT] = "exit",
	[TAPE_EV_COMM] = "comm",
	[TAPE_EV_MAP] = "map",
	[TAPE_EV_STACK] = "stack",
	[TAPE_EV_PROBE] = "probe",
	[TAPE_EV_LOSS] = "loss",
	[TAPE_EV_ATTACH] = "attach",
	[TAPE_EV_DETACH] = "detach",
};

const char *tape_loss_reason_name(uint32_t reason)
{
	switch (reason) {
	case TAPE_LOSS_RINGBUF:
		return "ring buffer full";
	case TAPE_LOSS_WRITER:
		return "writer fell behind the memory cap";
	case TAPE_LOSS_FOLLOW_GAP:
		return "the process ran an allocator before its probes were on";
	case TAPE_LOSS_INFLIGHT:
		return "no room to keep a call's arguments";
	case TAPE_LOSS_DAMAGE:
		return "damaged input skipped";
	case TAPE_LOSS_NO_RETURN:
		return "the call's return was never seen";
	case TAPE_LOSS_UNKNOWN_PROBE:
		return "a probe fired in a function the recorder could not tell";
	case TAPE_LOSS_UNREAD_IMAGE:
		return "the process exec'd and ended before the recorder could read its new image";
	}
	return "unknown reason";
}

const char *tape_type_name(unsigned type)
{
	if (type <= TAPE_EV_MAX_KNOWN && type_names[type])
		return type_names[type];
	return "unknown";
}

unsigned tape_type_from_name(const char *name)
{
	for (unsigned t = 1; t <= TAPE_EV_MAX_KNOWN; t++)
		if (type_names[t] && !strcmp(type_names[t], name))
			return t;
	return 0;
}

/* ------------------------------------------------------------------ encode */

struct out {
	uint8_t *p;
};

static inline void put_u(struct out *o, uint64_t v)
{
	o->p += varint_put(o->p, v);
}

static inline void put_s(struct out *o, int64_t v)
{
	o->p += varint_put(o->p, zigzag(v));
}

static inline void put_delta(struct out *o, uint64_t *prev, uint64_t v)
{
	put_s(o, (int64_t)(v - *prev));
	*prev = v;
}

static void put_bytes(struct out *o, const void *data, uint32_t len)
{
	if (len > TAPE_STRING_MAX)
		len = TAPE_STRING_MAX;
	put_u(o, len);
	if (len)
		memcpy(o->p, data, len);
	o->p += len;
}

static void encode_alloc(struct tape_delta_state *s, unsigned type, const struct tape_alloc *a,
			 struct out *o)
{
	struct alloc_layout layout = alloc_layouts[type], *l = &layout;
	unsigned flags = (a->variant & TAPE_VARIANTS) << TAPE_AF_VARIANT_SHIFT;

	variant_fields(type, a->variant, l);
	if (l->result && !a->result)
		flags |= TAPE_AF_RESULT_NULL;
	if (l->ptr && !a->ptr)
		flags |= TAPE_AF_PTR_NULL;
	if (!a->caller)
		flags |= TAPE_AF_NO_CALLER;
	if (a->stack)
		flags |= TAPE_AF_STACK;
	put_u(o, flags);
	if (l->ptr && a->ptr)
		put_delta(o, &s->ptr, a->ptr);
	if (l->nmemb)
		put_u(o, a->nmemb);
	if (l->align)
		put_u(o, a->align);
	if (l->size)
		put_u(o, a->size);
	if (l->err)
		put_s(o, a->err);
	if (l->result && a->result)
		put_delta(o, &s->ptr, a->result);
	if (a->caller)
		put_delta(o, &s->caller, a->caller);
	if (a->stack)
		put_u(o, a->stack);
}

/*
 * Frames as deltas from the one before (the first from 0): a stack's return
 * addresses lie close together, mostly in one or two files. The flags, when
 * any, follow the frames: a 1.1 reader without them skips them as trailing
 * bytes.
 */
static void encode_stack(const struct tape_stack *st, struct out *o)
{
	uint32_t n = st->nframes > TAPE_STACK_MAX_FRAMES ? TAPE_STACK_MAX_FRAMES : st->nframes;
	uint64_t prev = 0;

	put_u(o, st->id);
	put_u(o, n);
	for (uint32_t i = 0; i < n; i++)
		put_delta(o, &prev, st->frames[i]);
	if (st->flags)
		put_u(o, st->flags);
}

static void encode_syscall(const struct tape_syscall *sc, struct out *o)
{
	unsigned nargs = sc->nargs > 6 ? 6 : sc->nargs;
	bool has_path = sc->path_state == TAPE_PATH_OK || sc->path_state == TAPE_PATH_TRUNCATED;

	bool has_path2 = sc->path2_state != TAPE_PATH_NONE;
	unsigned flags = (sc->flags & ~TAPE_SYS_ENCODED) | (sc->stack ? TAPE_SYS_STACK : 0) |
			 (has_path2 ? TAPE_SYS_PATH2 : 0) | (sc->has_fds ? TAPE_SYS_FDS : 0);

	put_u(o, flags | (unsigned)sc->path_state << TAPE_SF_PATH_SHIFT);
	put_u(o, sc->nr);
	put_u(o, nargs);
	for (unsigned i = 0; i < nargs; i++)
		put_s(o, (int64_t)sc->args[i]);
	put_s(o, sc->ret);
	put_u(o, sc->duration);
	if (has_path)
		put_bytes(o, sc->path, sc->path_len);
	/* Appended in 1.1, each behind its flag: 1.0 readers skip them as trailing bytes. */
	if (sc->stack)
		put_u(o, sc->stack);
	if (has_path2) {
		put_u(o, sc->path2_state);
		if (sc->path2_state == TAPE_PATH_OK || sc->path2_state == TAPE_PATH_TRUNCATED)
			put_bytes(o, sc->path2, sc->path2_len);
	}
	if (sc->has_fds) {
		put_s(o, sc->fds[0]);
		put_s(o, sc->fds[1]);
	}
}

size_t tape_encode_payload(struct tape_delta_state *s, const struct tape_event *ev, uint8_t *buf)
{
	struct out o = { buf };
	uint64_t pid = s->pid, tid = s->tid;

	/* The common prefix: every record has it, known to the reader or not. */
	put_s(&o, (int64_t)ev->pid - (int64_t)pid);
	put_s(&o, (int64_t)ev->tid - (int64_t)tid);
	put_delta(&o, &s->ts, ev->ts);
	s->pid = ev->pid;
	s->tid = ev->tid;

	switch (ev->type) {
	case TAPE_EV_MALLOC ... TAPE_EV_DELETE:
		encode_alloc(s, ev->type, &ev->alloc, &o);
		break;
	case TAPE_EV_SYSCALL:
		encode_syscall(&ev->sys, &o);
		break;
	case TAPE_EV_FORK:
		put_s(&o, (int64_t)ev->fork.child_pid - ev->pid);
		put_s(&o, (int64_t)ev->fork.child_tid - ev->fork.child_pid);
		put_u(&o, ev->fork.flags);
		break;
	case TAPE_EV_EXEC:
		put_s(&o, (int64_t)ev->exec.old_tid - ev->tid);
		put_bytes(&o, ev->exec.filename, ev->exec.name_len);
		break;
	case TAPE_EV_EXIT:
		put_s(&o, ev->exit.code);
		put_u(&o, ev->exit.flags);
		break;
	case TAPE_EV_COMM:
		put_bytes(&o, ev->comm.name, ev->comm.len);
		break;
	case TAPE_EV_MAP:
		put_u(&o, ev->map.start);
		put_u(&o, ev->map.end - ev->map.start);
		put_u(&o, ev->map.offset);
		put_bytes(&o, ev->map.build_id, ev->map.build_id_len);
		put_bytes(&o, ev->map.path, ev->map.path_len);
		break;
	case TAPE_EV_STACK:
		encode_stack(&ev->stack, &o);
		break;
	case TAPE_EV_PROBE:
		put_bytes(&o, ev->probe.build_id, ev->probe.build_id_len);
		put_bytes(&o, ev->probe.path, ev->probe.path_len);
		break;
	case TAPE_EV_LOSS:
		put_u(&o, ev->loss.lost_type);
		put_u(&o, ev->loss.reason);
		put_u(&o, ev->loss.cpu == TAPE_LOSS_NO_CPU ? 0 : (uint64_t)ev->loss.cpu + 1);
		put_u(&o, ev->loss.count);
		put_u(&o, ev->ts >= ev->loss.first_ts ? ev->ts - ev->loss.first_ts : 0);
		break;
	case TAPE_EV_ATTACH:
	case TAPE_EV_DETACH:
		put_u(&o, ev->marker.what);
		break;
	default:
		break;
	}
	return o.p - buf;
}

/* ------------------------------------------------------------------ decode */

struct in {
	const uint8_t *p;
	const uint8_t *end;
	bool bad;
};

static uint64_t get_u(struct in *in)
{
	uint64_t v = 0;
	size_t n;

	if (in->bad)
		return 0;
	n = varint_get(in->p, in->end, &v);
	if (!n) {
		in->bad = true;
		return 0;
	}
	in->p += n;
	return v;
}

static int64_t get_s(struct in *in)
{
	return unzigzag(get_u(in));
}

static uint64_t get_delta(struct in *in, uint64_t *prev)
{
	*prev += (uint64_t)get_s(in);
	return *prev;
}

/* A length-prefixed byte string; points into the input. */
static const uint8_t *get_bytes(struct in *in, uint32_t *len)
{
	uint64_t n = get_u(in);
	const uint8_t *p = in->p;

	if (in->bad || n > (uint64_t)(in->end - in->p)) {
		in->bad = true;
		*len = 0;
		return NULL;
	}
	*len = n;
	in->p += n;
	return p;
}

static uint32_t get_u32(struct in *in)
{
	uint64_t v = get_u(in);

	if (v > UINT32_MAX)
		in->bad = true;
	return v;
}

static void decode_alloc(struct tape_delta_state *s, unsigned type, struct in *in,
			 struct tape_alloc *a)
{
	struct alloc_layout layout = alloc_layouts[type], *l = &layout;
	uint64_t flags = get_u(in);

	if (type == TAPE_EV_NEW || type == TAPE_EV_DELETE)
		a->variant = (flags >> TAPE_AF_VARIANT_SHIFT) & TAPE_VARIANTS;
	variant_fields(type, a->variant, l);
	if (l->ptr && !(flags & TAPE_AF_PTR_NULL))
		a->ptr = get_delta(in, &s->ptr);
	if (l->nmemb)
		a->nmemb = get_u(in);
	if (l->align)
		a->align = get_u(in);
	if (l->size)
		a->size = get_u(in);
	if (l->err)
		a->err = (int32_t)get_s(in);
	if (l->result && !(flags & TAPE_AF_RESULT_NULL))
		a->result = get_delta(in, &s->ptr);
	if (!(flags & TAPE_AF_NO_CALLER))
		a->caller = get_delta(in, &s->caller);
	if (flags & TAPE_AF_STACK)
		a->stack = get_u32(in);
}

static void decode_stack(struct tape_delta_state *s, struct in *in, struct tape_stack *st)
{
	uint64_t prev = 0, n;

	st->id = get_u32(in);
	n = get_u(in);
	if (n > TAPE_STACK_MAX_FRAMES || !st->id) {
		in->bad = true;
		return;
	}
	st->nframes = n;
	for (uint64_t i = 0; i < n; i++)
		s->frames[i] = get_delta(in, &prev);
	st->frames = s->frames;
	/* Optional: absent means none. */
	if (!in->bad && in->p < in->end)
		st->flags = get_u32(in);
}

static void decode_syscall(struct in *in, struct tape_syscall *sc)
{
	uint64_t flags = get_u(in);
	uint64_t nargs;

	sc->flags = flags & ((1u << TAPE_SF_PATH_SHIFT) - 1);
	sc->path_state = flags >> TAPE_SF_PATH_SHIFT;
	sc->nr = get_u32(in);
	nargs = get_u(in);
	if (nargs > 6 || sc->path_state > TAPE_PATH_UNREADABLE) {
		in->bad = true;
		return;
	}
	sc->nargs = nargs;
	for (unsigned i = 0; i < nargs; i++)
		sc->args[i] = (uint64_t)get_s(in);
	sc->ret = get_s(in);
	sc->duration = get_u(in);
	if (sc->path_state == TAPE_PATH_OK || sc->path_state == TAPE_PATH_TRUNCATED)
		sc->path = (const char *)get_bytes(in, &sc->path_len);
	sc->stack = flags & TAPE_SYS_STACK ? get_u32(in) : 0;
	sc->path2_state = TAPE_PATH_NONE;
	sc->path2_len = 0;
	sc->path2 = NULL;
	if (flags & TAPE_SYS_PATH2) {
		uint64_t state = get_u(in);

		if (state > TAPE_PATH_UNREADABLE) {
			in->bad = true;
			return;
		}
		sc->path2_state = state;
		if (state == TAPE_PATH_OK || state == TAPE_PATH_TRUNCATED)
			sc->path2 = (const char *)get_bytes(in, &sc->path2_len);
	}
	sc->has_fds = flags & TAPE_SYS_FDS;
	sc->fds[0] = sc->has_fds ? (int32_t)get_s(in) : 0;
	sc->fds[1] = sc->has_fds ? (int32_t)get_s(in) : 0;
	sc->flags &= ~TAPE_SYS_ENCODED;
}

int tape_decode_record(struct tape_delta_state *s, const uint8_t *p, const uint8_t *end,
		       struct tape_event *ev, size_t *used)
{
	struct in in = { p, end, false };
	uint64_t len;
	unsigned type;

	memset(ev, 0, sizeof(*ev));
	type = *in.p++;
	len = get_u(&in);
	if (in.bad || len > (uint64_t)(end - in.p) || len > TAPE_RECORD_MAX_PAYLOAD)
		return TAPE_DECODE_BAD;
	in.end = in.p + len;
	*used = in.end - p;
	ev->type = type;
	ev->len = len;

	ev->pid = s->pid + (uint32_t)get_s(&in);
	ev->tid = s->tid + (uint32_t)get_s(&in);
	ev->ts = get_delta(&in, &s->ts);
	if (in.bad)
		return TAPE_DECODE_BAD;
	s->pid = ev->pid;
	s->tid = ev->tid;

	switch (type) {
	case TAPE_EV_MALLOC ... TAPE_EV_DELETE:
		decode_alloc(s, type, &in, &ev->alloc);
		break;
	case TAPE_EV_SYSCALL:
		decode_syscall(&in, &ev->sys);
		break;
	case TAPE_EV_FORK:
		ev->fork.child_pid = ev->pid + (uint32_t)get_s(&in);
		ev->fork.child_tid = ev->fork.child_pid + (uint32_t)get_s(&in);
		ev->fork.flags = get_u32(&in);
		break;
	case TAPE_EV_EXEC:
		ev->exec.old_tid = ev->tid + (uint32_t)get_s(&in);
		ev->exec.filename = (const char *)get_bytes(&in, &ev->exec.name_len);
		break;
	case TAPE_EV_EXIT:
		ev->exit.code = (int32_t)get_s(&in);
		ev->exit.flags = get_u32(&in);
		break;
	case TAPE_EV_COMM:
		ev->comm.name = (const char *)get_bytes(&in, &ev->comm.len);
		break;
	case TAPE_EV_MAP:
		ev->map.start = get_u(&in);
		ev->map.end = ev->map.start + get_u(&in);
		ev->map.offset = get_u(&in);
		ev->map.build_id = get_bytes(&in, &ev->map.build_id_len);
		ev->map.path = (const char *)get_bytes(&in, &ev->map.path_len);
		break;
	case TAPE_EV_STACK:
		decode_stack(s, &in, &ev->stack);
		break;
	case TAPE_EV_PROBE:
		ev->probe.build_id = get_bytes(&in, &ev->probe.build_id_len);
		ev->probe.path = (const char *)get_bytes(&in, &ev->probe.path_len);
		break;
	case TAPE_EV_LOSS: {
		uint64_t cpu;

		ev->loss.lost_type = get_u32(&in);
		ev->loss.reason = get_u32(&in);
		cpu = get_u(&in);
		ev->loss.cpu = cpu ? (uint32_t)(cpu - 1) : TAPE_LOSS_NO_CPU;
		ev->loss.count = get_u(&in);
		ev->loss.first_ts = ev->ts - get_u(&in);
		break;
	}
	case TAPE_EV_ATTACH:
	case TAPE_EV_DETACH:
		ev->marker.what = get_u32(&in);
		break;
	default:
		/* Unknown kinds are skipped by length; only the prefix was used. */
		return TAPE_DECODE_UNKNOWN;
	}
	/*
	 * Trailing bytes are allowed: a later minor version may append fields
	 * to a known kind, and older readers skip them.
	 */
	return in.bad ? TAPE_DECODE_BAD : TAPE_DECODE_OK;
}

int tape_raw_chunk__each(const struct tape_raw_chunk *c,
			 int (*fn)(const struct tape_event *ev, void *ctx), void *ctx)
{
	struct tape_delta_state st = { 0 };
	const uint8_t *p = c->data, *end = c->data + c->len;

	while (p < end) {
		struct tape_event ev;
		size_t used;
		int r = tape_decode_record(&st, p, end, &ev, &used);

		if (r == TAPE_DECODE_BAD)
			return -EBADMSG;
		p += used;
		if (r == TAPE_DECODE_OK && (r = fn(&ev, ctx)))
			return r;
	}
	return 0;
}
