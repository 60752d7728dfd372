/* Ring-buffer records to tape chunks: see drain.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "cli.h"
#include "drain.h"
#include "record_skel.h"
#include "safe_open.h"
#include "syscalls.h"

#define CHUNK_MAX_AGE 0.5	/* seconds: a crash loses at most this, plus the writer's queue */
#define LOSS_POLL_INTERVAL 0.2

struct posted_event {
	struct posted_event *next;
	struct tape_event ev;
	char strings[];		/* copies of the event's strings */
};

static const uint32_t tape_loss_reason[LOSS_REASONS] = {
	[LOSS_RINGBUF] = TAPE_LOSS_RINGBUF,
	[LOSS_INFLIGHT] = TAPE_LOSS_INFLIGHT,
	[LOSS_NO_RETURN] = TAPE_LOSS_NO_RETURN,
	[LOSS_UNKNOWN_PROBE] = TAPE_LOSS_UNKNOWN_PROBE,
};

int drain__init(struct drain *d, struct record_bpf *skel, struct writer *w,
		struct maps_tracker *maps, uint64_t zero_ns)
{
	memset(d, 0, sizeof(*d));
	d->enc = tape_encoder__new();
	d->ncpus = libbpf_num_possible_cpus();
	if (!d->enc || d->ncpus <= 0)
		return -ENOMEM;
	d->loss_seen = calloc((size_t)LOSS_REASONS * EV_KINDS * d->ncpus, sizeof(uint64_t));
	if (!d->loss_seen)
		return -ENOMEM;
	d->skel = skel;
	d->writer = w;
	d->maps = maps;
	d->zero_ns = zero_ns;
	d->chunk_bytes = 1 << 20;
	merge__init(&d->merge);
	u64map__init(&d->named_tids);
	u64map__init(&d->stack_ids);
	pthread_mutex_init(&d->post_lock, NULL);
	return 0;
}

void drain__free(struct drain *d)
{
	tape_encoder__free(d->enc);
	free(d->loss_seen);
	merge__free(&d->merge);
	u64map__free(&d->named_tids);
	u64map__free(&d->stack_ids);
	while (d->posted) {
		struct posted_event *p = d->posted;

		d->posted = p->next;
		free(p);
	}
	pthread_mutex_destroy(&d->post_lock);
}

uint64_t drain__tape_time(const struct drain *d, uint64_t mono_ns)
{
	return mono_ns > d->zero_ns ? mono_ns - d->zero_ns : 0;
}

uint64_t drain__now(const struct drain *d)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return drain__tape_time(d, (uint64_t)ts.tv_sec * 1000000000 + ts.tv_nsec);
}

static void close_chunk(struct drain *d)
{
	struct tape_raw_chunk c;

	if (tape_encoder__take(d->enc, &c)) {
		writer__push(d->writer, &c);
		d->stats.chunks++;
	}
}

static void encode(struct drain *d, const struct tape_event *ev)
{
	int err;

	if (!tape_encoder__count(d->enc))
		d->chunk_opened = cli_now();
	err = tape_encoder__add(d->enc, ev);
	if (err) {
		d->err = err;
		return;
	}
	if (ev->type < EV_KINDS)
		d->stats.events[ev->type]++;
	if (tape_encoder__size(d->enc) >= d->chunk_bytes)
		close_chunk(d);
}

/* Loss records for what the memory cap made us drop, once there is room again. */
static void flush_writer_losses(struct drain *d)
{
	for (unsigned kind = 0; kind < EV_KINDS; kind++) {
		struct tape_event loss = { .type = TAPE_EV_LOSS, .ts = d->drop_last_ts };

		if (!d->dropping[kind])
			continue;
		loss.loss.lost_type = kind;
		loss.loss.reason = TAPE_LOSS_WRITER;
		loss.loss.cpu = TAPE_LOSS_NO_CPU;
		loss.loss.count = d->dropping[kind];
		loss.loss.first_ts = d->drop_first_ts;
		d->dropping[kind] = 0;
		encode(d, &loss);
	}
}

void drain__add(struct drain *d, const struct tape_event *ev)
{
	bool pending = d->drop_last_ts != 0;

	/*
	 * Loss records are never dropped, whatever the cap: one stands for
	 * many events, and the tape must say what it lacks. They are few (a
	 * poll of the counters at most every 200 ms), so the cap holds. Nor
	 * are stack records (one per distinct stack): the events that refer
	 * to them would lose their stacks.
	 */
	if (ev->type == TAPE_EV_LOSS || ev->type == TAPE_EV_STACK) {
		encode(d, ev);
		return;
	}
	/* Room for this chunk as it stands, plus a worst-case record. */
	if (!writer__has_room(d->writer, tape_encoder__size(d->enc) + 512)) {
		unsigned kind = ev->type < EV_KINDS ? ev->type : 0;

		if (!pending)
			d->drop_first_ts = ev->ts;
		d->drop_last_ts = ev->ts ? ev->ts : 1;
		d->dropping[kind]++;
		d->stats.lost_writer++;
		return;
	}
	if (pending) {
		flush_writer_losses(d);
		d->drop_last_ts = 0;
	}
	encode(d, ev);
}

/* The stack ID of a hash BPF put in an event; 0 when its stack record never came. */
static uint32_t stack_id(const struct drain *d, uint64_t hash)
{
	const uint64_t *id = hash ? u64map__get(&d->stack_ids, hash) : NULL;

	return id ? *id : 0;
}

/* Ring-buffer record to tape event. Returns false for a malformed record. */
static bool to_event(const struct drain *d, const void *data, size_t size, struct tape_event *ev)
{
	const struct rec_hdr *h = data;

	if (size < sizeof(*h))
		return false;
	memset(ev, 0, sizeof(*ev));
	ev->type = h->kind;
	ev->pid = h->pid;
	ev->tid = h->tid;
	ev->ts = drain__tape_time(d, h->ts);
	switch (h->kind) {
	case EV_MALLOC ... EV_PVALLOC:
	case EV_NEW: {
		const struct alloc_rec *r = data;
		struct tape_alloc *a = &ev->alloc;

		if (size < sizeof(*r))
			return false;
		a->caller = r->caller;
		a->result = r->result;
		a->stack = stack_id(d, r->stack);
		switch (h->kind) {
		case EV_NEW:
			/* (size), (size, align), (size, nothrow), (size, align, nothrow) */
			a->variant = h->flags;
			a->size = r->args[0];
			if (h->flags & ALLOC_V_ALIGNED)
				a->align = r->args[1];
			break;
		case EV_MALLOC:
		case EV_VALLOC:
		case EV_PVALLOC:
			a->size = r->args[0];
			break;
		case EV_CALLOC:
			a->nmemb = r->args[0];
			a->size = r->args[1];
			break;
		case EV_REALLOC:
			a->ptr = r->args[0];
			a->size = r->args[1];
			break;
		case EV_REALLOCARRAY:
			a->ptr = r->args[0];
			a->nmemb = r->args[1];
			a->size = r->args[2];
			break;
		case EV_POSIX_MEMALIGN:
			a->align = r->args[1];
			a->size = r->args[2];
			a->err = (int32_t)r->ret;
			break;
		default:	/* aligned_alloc, memalign */
			a->align = r->args[0];
			a->size = r->args[1];
		}
		return true;
	}
	case EV_FREE:
	case EV_DELETE: {
		const struct free_rec *r = data;
		int next = 0;

		if (size < sizeof(*r))
			return false;
		ev->alloc.ptr = r->ptr;
		ev->alloc.caller = r->caller;
		ev->alloc.stack = stack_id(d, r->stack);
		if (h->kind == EV_DELETE) {
			/* (p), (p, size), (p, align), (p, size, align), then a nothrow_t */
			ev->alloc.variant = h->flags;
			if (h->flags & ALLOC_V_SIZED)
				ev->alloc.size = r->args[next++];
			if (h->flags & ALLOC_V_ALIGNED)
				ev->alloc.align = r->args[next];
		}
		return true;
	}
	case EV_SYSCALL: {
		const struct sys_rec *r = data;
		const struct syscall_info *info;

		if (size < SYS_REC_FIXED || r->path_len > size - SYS_REC_FIXED ||
		    r->path2_len > size - SYS_REC_FIXED - r->path_len)
			return false;
		info = syscall_by_nr(r->nr);
		ev->sys.nr = r->nr;
		ev->sys.nargs = info && info->nargs >= 0 && info->nargs <= 6 ? info->nargs : 6;
		memcpy(ev->sys.args, r->args, sizeof(ev->sys.args));
		ev->sys.ret = r->ret;
		ev->sys.duration = r->duration;
		ev->sys.flags = h->flags & SYS_F_NO_RETURN ? TAPE_SYS_NO_RETURN : 0;
		ev->sys.path_state = r->path_state;
		ev->sys.path_len = r->path_len;
		ev->sys.stack = r->stack ? stack_id(d, r->stack) : 0;
		ev->sys.path2_state = r->path2_state;
		ev->sys.path2_len = r->path2_len;
		ev->sys.path2 = r->path + r->path_len;
		ev->sys.has_fds = h->flags & SYS_F_FDS;
		ev->sys.fds[0] = r->fds[0];
		ev->sys.fds[1] = r->fds[1];
		ev->sys.path = r->path;
		return true;
	}
	case EV_FORK: {
		const struct fork_rec *r = data;

		if (size < sizeof(*r))
			return false;
		ev->fork.child_pid = r->child_pid;
		ev->fork.child_tid = r->child_tid;
		ev->fork.flags = r->flags & FORK_F_THREAD ? TAPE_FORK_THREAD : 0;
		return true;
	}
	case EV_EXEC: {
		const struct exec_rec *r = data;

		if (size < EXEC_REC_FIXED || r->name_len > size - EXEC_REC_FIXED)
			return false;
		ev->exec.old_tid = r->old_tid;
		ev->exec.filename = r->filename;
		ev->exec.name_len = r->name_len;
		return true;
	}
	case EV_EXIT: {
		const struct exit_rec *r = data;

		if (size < sizeof(*r))
			return false;
		ev->exit.code = r->code;
		ev->exit.flags = r->flags & EXIT_F_PROCESS ? TAPE_EXIT_PROCESS : 0;
		return true;
	}
	case EV_COMM: {
		const struct comm_rec *r = data;

		if (size < sizeof(*r))
			return false;
		ev->comm.name = r->comm;
		ev->comm.len = strnlen(r->comm, sizeof(r->comm));
		return true;
	}
	}
	return false;
}

static void encode_sink(const struct tape_event *ev, void *ctx)
{
	drain__add(ctx, ev);
}

/*
 * A call stack BPF sent (the first time its process showed it): a stack
 * record, under the next ID, unless this hash has one already.
 */
static void write_stack(struct drain *d, const struct stack_rec *r, size_t size)
{
	struct tape_event ev = { .type = TAPE_EV_STACK, .pid = r->hdr.pid,
				 .ts = drain__tape_time(d, r->hdr.ts) };
	uint64_t *id;
	bool seen;

	if (r->nframes > UNWIND_MAX_DEPTH || size < STACK_REC_FIXED + r->nframes * 8ull)
		return;
	id = u64map__upsert(&d->stack_ids, r->hash, &seen);
	if (!id || seen)
		return;
	*id = ++d->next_stack_id;
	ev.stack.id = *id;
	ev.stack.nframes = r->nframes;
	ev.stack.flags = r->flags & (STACK_F_CUT | STACK_F_PARTIAL);
	ev.stack.frames = (const uint64_t *)r->frames;
	d->stats.stacks++;
	drain__add(d, &ev);
	/* The frames' mappings, for symbolising them: from /proc while the process lives. */
	if (d->maps)
		for (unsigned i = 1; i < r->nframes; i++)
			maps_tracker__need(d->maps, ev.pid, r->frames[i], ev.ts, encode_sink, d);
}


/*
 * -a: a thread's name before its first event (the tools name threads by
 * comm records). A name the thread takes later comes as a comm record.
 */
static void name_thread(struct drain *d, const struct tape_event *ev)
{
	char path[64], *comm = NULL;
	bool seen;
	size_t len;
	int cut;
	uint64_t *v;

	if (!ev->tid || ev->type == TAPE_EV_COMM || ev->type == TAPE_EV_EXEC)
		return;
	v = u64map__upsert(&d->named_tids, ev->tid, &seen);
	if (!v || seen)
		return;
	snprintf(path, sizeof(path), "/proc/%u/task/%u/comm", ev->pid, ev->tid);
	if (!read_small_file(path, 64, &comm, &len, &cut)) {
		struct tape_event c = { .type = TAPE_EV_COMM, .pid = ev->pid, .tid = ev->tid,
					.ts = ev->ts };

		c.comm.name = comm;
		c.comm.len = strcspn(comm, "\n");
		drain__add(d, &c);
		free(comm);
	}
}

int drain__sample(void *ctx, void *data, size_t size)
{
	struct drain *d = ctx;
	struct tape_event ev;

	if (size >= STACK_REC_FIXED && ((struct rec_hdr *)data)->kind == EV_STACK) {
		write_stack(d, data, size);
		return 0;
	}
	/* A caller's mapping, seen by BPF: a map record, in the tape before its callers. */
	if (size >= sizeof(struct vma_rec) && ((struct rec_hdr *)data)->kind == EV_VMA) {
		const struct vma_rec *v = data;
		char name[VMA_NAME_MAX + 1];

		if (d->maps) {
			snprintf(name, sizeof(name), "%.*s", VMA_NAME_MAX, v->name);
			maps_tracker__vma(d->maps, v->hdr.pid, v->start, v->end, v->offset, v->dev,
					  v->ino, name, drain__tape_time(d, v->hdr.ts), encode_sink, d);
		}
		return 0;
	}
	if (!to_event(d, data, size, &ev))
		return 0;
	if (d->maps && tape_type_is_alloc(ev.type) && ev.alloc.caller)
		maps_tracker__need(d->maps, ev.pid, ev.alloc.caller, ev.ts, encode_sink, d);
	if (ev.type == TAPE_EV_EXEC && d->maps) {
		char path[4097];

		maps_tracker__forget(d->maps, ev.pid);
		/* The new image's file, for naming its mappings later. */
		snprintf(path, sizeof(path), "%.*s", (int)ev.exec.name_len, ev.exec.filename);
		if (path[0] == '/')
			maps_tracker__register_file(d->maps, path, path);
	}
	if (ev.type == TAPE_EV_FORK && (ev.fork.flags & TAPE_FORK_THREAD))
		d->stats.thread_forks++;
	if (d->name_threads)
		name_thread(d, &ev);
	drain__add(d, &ev);
	if (ev.type == TAPE_EV_EXIT) {
		if (d->name_threads)
			u64map__del(&d->named_tids, ev.tid, NULL);
		/* Its mappings are written; keeping them would grow with every process (-a). */
		if (d->maps && (ev.exit.flags & TAPE_EXIT_PROCESS))
			maps_tracker__drop(d->maps, ev.pid);
	}
	if (d->on_lifecycle && (ev.type == TAPE_EV_FORK || ev.type == TAPE_EV_EXEC ||
				ev.type == TAPE_EV_EXIT || ev.type == TAPE_EV_COMM))
		d->on_lifecycle(&ev, d->hook_ctx);
	return 0;
}

int drain__sample_shard(void *ctx, void *data, size_t size)
{
	struct drain *d = ctx;

	if (merge__stage(&d->merge, data, size)) {
		/* No memory to hold it for the merge: counted, never silent. */
		d->dropping[((const struct rec_hdr *)data)->kind % EV_KINDS]++;
		d->stats.lost_writer++;
		if (!d->drop_first_ts)
			d->drop_first_ts = drain__now(d);
		d->drop_last_ts = drain__now(d);
	}
	return 0;
}

/* Copies an event and its strings so that another thread can hand it over. */
static struct posted_event *copy_event(const struct tape_event *ev)
{
	const void *src[2] = { NULL, NULL };
	size_t len[2] = { 0, 0 };
	struct posted_event *p;
	char *s;

	switch (ev->type) {
	case TAPE_EV_MAP:
		src[0] = ev->map.path, len[0] = ev->map.path_len;
		src[1] = ev->map.build_id, len[1] = ev->map.build_id_len;
		break;
	case TAPE_EV_COMM:
		src[0] = ev->comm.name, len[0] = ev->comm.len;
		break;
	case TAPE_EV_EXEC:
		src[0] = ev->exec.filename, len[0] = ev->exec.name_len;
		break;
	case TAPE_EV_SYSCALL:
		src[0] = ev->sys.path, len[0] = ev->sys.path_len;
		src[1] = ev->sys.path2, len[1] = ev->sys.path2 ? ev->sys.path2_len : 0;
		break;
	case TAPE_EV_PROBE:
		src[0] = ev->probe.path, len[0] = ev->probe.path_len;
		src[1] = ev->probe.build_id, len[1] = ev->probe.build_id_len;
		break;
	}
	p = malloc(sizeof(*p) + len[0] + len[1]);
	if (!p)
		return NULL;
	p->next = NULL;
	p->ev = *ev;
	s = p->strings;
	for (int i = 0; i < 2; i++)
		if (len[i])
			memcpy(s + (i ? len[0] : 0), src[i], len[i]);
	switch (ev->type) {
	case TAPE_EV_MAP:
		p->ev.map.path = s;
		p->ev.map.build_id = (const uint8_t *)s + len[0];
		break;
	case TAPE_EV_COMM:
		p->ev.comm.name = s;
		break;
	case TAPE_EV_EXEC:
		p->ev.exec.filename = s;
		break;
	case TAPE_EV_SYSCALL:
		p->ev.sys.path = s;
		p->ev.sys.path2 = s + len[0];
		break;
	case TAPE_EV_PROBE:
		p->ev.probe.path = s;
		p->ev.probe.build_id = (const uint8_t *)s + len[0];
		break;
	}
	return p;
}

void drain__post(struct drain *d, const struct tape_event *ev)
{
	struct posted_event *p = copy_event(ev);

	if (!p)
		return;
	pthread_mutex_lock(&d->post_lock);
	if (d->posted_tail)
		d->posted_tail->next = p;
	else
		d->posted = p;
	d->posted_tail = p;
	pthread_mutex_unlock(&d->post_lock);
}

void drain__post_sink(const struct tape_event *ev, void *ctx)
{
	drain__post(ctx, ev);
}

static void flush_posted(struct drain *d)
{
	struct posted_event *list;

	pthread_mutex_lock(&d->post_lock);
	list = d->posted;
	d->posted = d->posted_tail = NULL;
	pthread_mutex_unlock(&d->post_lock);
	while (list) {
		struct posted_event *p = list;

		list = p->next;
		if (p->ev.type == TAPE_EV_LOSS && p->ev.loss.reason == TAPE_LOSS_UNREAD_IMAGE) {
			d->stats.unread_images++;
		} else if (p->ev.type == TAPE_EV_LOSS && !p->ev.loss.count) {
			d->stats.follow_gaps++;
			d->stats.gap_ns += p->ev.ts - p->ev.loss.first_ts;
		}
		drain__add(d, &p->ev);
		free(p);
	}
}

/* Loss records for BPF's counters that went up since the last poll. */
static void poll_losses(struct drain *d)
{
	int fd = bpf_map__fd(d->skel->maps.losses);
	struct loss_count vals[d->ncpus];
	uint64_t now = drain__now(d);

	for (uint32_t key = 0; key < LOSS_REASONS * EV_KINDS; key++) {
		if (bpf_map_lookup_elem(fd, &key, vals))
			continue;
		for (int cpu = 0; cpu < d->ncpus; cpu++) {
			uint64_t *seen = &d->loss_seen[(size_t)key * d->ncpus + cpu];
			struct tape_event loss = { .type = TAPE_EV_LOSS };

			if (vals[cpu].count <= *seen)
				continue;
			loss.ts = vals[cpu].last_ts ? drain__tape_time(d, vals[cpu].last_ts) : now;
			loss.loss.lost_type = key % EV_KINDS;
			loss.loss.reason = tape_loss_reason[key / EV_KINDS];
			loss.loss.cpu = cpu;
			loss.loss.count = vals[cpu].count - *seen;
			/* Lost since the previous poll at the earliest. */
			loss.loss.first_ts = d->loss_last_ts < loss.ts ? d->loss_last_ts : loss.ts;
			d->stats.lost_bpf += loss.loss.count;
			*seen = vals[cpu].count;
			drain__add(d, &loss);
		}
	}
	d->loss_last_ts = now;
}

void drain__tick(struct drain *d, uint64_t watermark)
{
	double now = cli_now();

	merge__release(&d->merge, watermark, drain__sample, d);
	flush_posted(d);
	if (now - d->last_loss_poll >= LOSS_POLL_INTERVAL) {
		poll_losses(d);
		d->last_loss_poll = now;
	}
	if (tape_encoder__count(d->enc) && now - d->chunk_opened >= CHUNK_MAX_AGE)
		close_chunk(d);
}

void drain__finish(struct drain *d)
{
	merge__release(&d->merge, UINT64_MAX, drain__sample, d);
	poll_losses(d);
	flush_posted(d);
	if (d->drop_last_ts) {
		/* The queue empties as the writer finishes: say what was dropped. */
		flush_writer_losses(d);
		d->drop_last_ts = 0;
	}
	close_chunk(d);
}
