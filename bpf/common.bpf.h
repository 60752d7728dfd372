/*
 * BPF-only helpers and the maps every feature shares. The maps and the
 * configuration are __weak: each feature's object declares them, and
 * `bpftool gen object` links the objects into one where a single copy
 * remains, so the features share one ring buffer and one traced set.
 */
#ifndef BPFTAPE_COMMON_BPF_H
#define BPFTAPE_COMMON_BPF_H

#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "record.h"

#define MAX_SHARDS 64

/* The default: one ring buffer, whose reservation order is a global order. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 16 << 20);	/* user space sets --ringbuf-size */
} events SEC(".maps") __weak;

/* Sharded ring buffers (--ringbuf-shards): records merge by timestamp in user space. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, MAX_SHARDS);
	__type(key, __u32);
	__array(values, struct {
		__uint(type, BPF_MAP_TYPE_RINGBUF);
		__uint(max_entries, 1 << 20);
	});
} shards SEC(".maps") __weak;

/* Processes traced with -p, a started command, and their followed children. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, __u8);
} traced_pids SEC(".maps") __weak;

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, LOSS_REASONS * EV_KINDS);
	__type(key, __u32);
	__type(value, struct loss_count);
} losses SEC(".maps") __weak;

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct record_state);
} state SEC(".maps") __weak;

const volatile struct record_config cfg __weak = {};

/*
 * The value of key in map, made first from the zeroed value blank holds
 * (a one-entry per-CPU array: values too large for the BPF stack).
 */
static __always_inline void *lookup_or_blank(void *map, const void *key, void *blank)
{
	__u32 zero = 0;
	void *v = bpf_map_lookup_elem(map, key), *z;

	if (v)
		return v;
	z = bpf_map_lookup_elem(blank, &zero);
	if (z)
		bpf_map_update_elem(map, key, z, BPF_NOEXIST);
	return bpf_map_lookup_elem(map, key);
}

/* Are the allocator probes armed (see struct record_state)? */
static __always_inline bool armed(void)
{
	__u32 zero = 0;
	struct record_state *s = bpf_map_lookup_elem(&state, &zero);

	return s && s->armed;
}

/* Is comm (a thread name, COMM_SIZE bytes) the one --comm asks for? */
static __always_inline bool comm_is_filtered(const char *comm)
{
	for (int i = 0; i < COMM_SIZE; i++) {
		if (comm[i] != cfg.comm[i])
			return false;
		if (!comm[i])
			break;
	}
	return true;
}

static __always_inline bool comm_matches(void)
{
	char comm[COMM_SIZE];

	bpf_get_current_comm(comm, sizeof(comm));
	return comm_is_filtered(comm);
}

/* Is the current thread one we record? Filters on rodata fold away at load. */
static __always_inline bool traced(__u64 pid_tgid)
{
	__u32 tgid = pid_tgid >> 32;

	if (tgid == cfg.self_tgid || tgid == cfg.helper_tgid)
		return false;
	if (cfg.filter_pids)
		return bpf_map_lookup_elem(&traced_pids, &tgid) != NULL;
	if (cfg.filter_uid && (__u32)bpf_get_current_uid_gid() != cfg.uid)
		return false;
	if (cfg.filter_cgroup && bpf_get_current_cgroup_id() != cfg.cgroup_id)
		return false;
	if (cfg.filter_comm && !comm_matches())
		return false;
	return true;
}

static __always_inline void count_loss(__u32 reason, __u32 kind, __u64 ts)
{
	__u32 idx = reason * EV_KINDS + (kind & (EV_KINDS - 1));
	struct loss_count *l = bpf_map_lookup_elem(&losses, &idx);

	if (l) {
		l->count++;
		l->last_ts = ts;
	}
}

/* The ring buffer this CPU writes to. */
static __always_inline void *ring(void)
{
	__u32 shard;

	if (!cfg.nshards)
		return &events;
	shard = bpf_get_smp_processor_id() % cfg.nshards;
	return bpf_map_lookup_elem(&shards, &shard);
}

/* Bytes each CPU has written since it last woke the reader. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} unwoken SEC(".maps") __weak;

/*
 * Wake the reader only when enough is waiting: a wake-up per record would
 * cost more than the record. Each CPU counts what it wrote since its last
 * wake-up (a per-CPU slot: cheaper than asking the ring buffer, and never a
 * wake-up per record once the threshold is passed). The reader also polls
 * with a short timeout, for what stays below the threshold.
 */
static __always_inline __u64 wakeup_flags(__u32 size)
{
	__u32 zero = 0;
	__u64 *n;

	if (!cfg.wakeup_bytes)
		return 0;
	n = bpf_map_lookup_elem(&unwoken, &zero);
	if (!n)
		return 0;
	*n += size;
	if (*n < cfg.wakeup_bytes)
		return BPF_RB_NO_WAKEUP;
	*n = 0;
	return BPF_RB_FORCE_WAKEUP;
}

static __always_inline void fill_hdr(struct rec_hdr *h, __u32 kind, __u32 size, __u64 pid_tgid,
				     __u64 ts)
{
	h->kind = kind;
	h->flags = 0;
	h->size = size;
	h->pid = pid_tgid >> 32;
	h->tid = (__u32)pid_tgid;
	h->cpu = bpf_get_smp_processor_id();
	h->ts = ts;
}

/* Sends size bytes at data as one record; a full buffer is counted, never silent. */
static __always_inline void emit(void *data, __u32 size, __u32 kind, __u64 ts)
{
	void *rb = ring();

	if (!rb || bpf_ringbuf_output(rb, data, size, wakeup_flags(size)))
		count_loss(LOSS_RINGBUF, kind, ts);
}

/*
 * The same, waking the reader at once: user space acts on lifecycle events
 * (probing a new child, reading a new image's mappings) and must not wait.
 */
static __always_inline void emit_urgent(void *data, __u32 size, __u32 kind, __u64 ts)
{
	void *rb = ring();

	if (!rb || bpf_ringbuf_output(rb, data, size, BPF_RB_FORCE_WAKEUP))
		count_loss(LOSS_RINGBUF, kind, ts);
}

#endif
