/*
 * The probed functions, for the entry program: a table by probe ID that user
 * space fills before attaching (user/probes.c), and two ways to find which
 * one fired, since one tracefs event holds all of a file's probes: what the
 * uprobe handler says (its event and offset), and, on kernels that do not
 * say, the address hit, searched once per process (bpf_find_vma) and cached.
 * Include common.bpf.h first.
 */
#ifndef BPFTAPE_PROBES_BPF_H
#define BPFTAPE_PROBES_BPF_H

#define PROBE_CACHE 32	/* a power of two */

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, MAX_PROBES);
	__type(key, __u32);
	__type(value, struct probe_info);
} probe_table SEC(".maps") __weak;

/* By file (inode) and offset: for kernels whose uprobe handlers do not say which probe fired. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_PROBES);
	__type(key, struct probe_key);
	__type(value, __u32);
} probe_index SEC(".maps") __weak;

/* By tracefs event (its perf type ID) and offset: what the uprobe handler says. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_PROBES);
	__type(key, struct probe_key);
	__type(value, __u32);
} probe_by_event SEC(".maps") __weak;

/*
 * Per process: the probe IDs of addresses already hit, so that the VMA is
 * searched once. Each slot is one word, address << 16 | ID + 1: threads of
 * the process fill slots concurrently, and a word is written whole (two
 * fields could pair one thread's address with another's ID).
 */
struct probe_cache {
	__u64 slot[PROBE_CACHE];
	__u32 next;
	__u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 8192);
	__type(key, __u32);
	__type(value, struct probe_cache);
} probe_cache SEC(".maps") __weak;

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct probe_cache);
} probe_cache_zero SEC(".maps") __weak;

struct hit_file {
	__u64 ip;
	__u64 ino;
	__u64 offset;
	bool file;
};

static long file_offset_of(struct task_struct *task, struct vm_area_struct *vma, struct hit_file *h)
{
	struct file *file = BPF_CORE_READ(vma, vm_file);

	(void)task;
	if (!file)
		return 0;
	h->ino = BPF_CORE_READ(file, f_inode, i_ino);
	h->offset = h->ip - BPF_CORE_READ(vma, vm_start) + (BPF_CORE_READ(vma, vm_pgoff) << 12);
	h->file = true;
	return 0;
}

/* The probe at ip in this process, by its file and offset; cached per process. */
static __always_inline __s64 probe_id_at(__u32 tgid, __u64 ip)
{
	struct hit_file h = { .ip = ip };
	struct probe_key key;
	struct probe_cache *c;
	__u32 *id;

	c = lookup_or_blank(&probe_cache, &tgid, &probe_cache_zero);
	if (c) {
		for (int i = 0; i < PROBE_CACHE; i++) {
			__u64 v = c->slot[i];

			if (v && v >> 16 == ip)
				return (v & 0xffff) - 1;
		}
	}
	if (!bpf_core_enum_value_exists(enum bpf_func_id, BPF_FUNC_find_vma) ||
	    bpf_find_vma(bpf_get_current_task_btf(), ip, file_offset_of, &h, 0) || !h.file)
		return -1;
	key.ino = h.ino;
	key.offset = h.offset;
	id = bpf_map_lookup_elem(&probe_index, &key);
	if (!id)
		return -1;
	/* User addresses fit in 48 bits, and IDs in 16. */
	if (c && ip < (1ull << 48) && *id < MAX_PROBES) {
		__u32 slot = c->next++ & (PROBE_CACHE - 1);

		c->slot[slot] = ip << 16 | (*id + 1);
	}
	return *id;
}

/*
 * The probe that fired, as the tracefs uprobe handler tells it: while it
 * runs the BPF programs, current->utask->vaddr points to its dispatch data,
 * which names the trace_uprobe (event and offset). Exact, and one lookup:
 * no address search, which can fail (bpf_find_vma only try-locks the mm).
 */
static __always_inline __s64 probe_id_from_handler(void)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct uprobe_dispatch_data *udd;
	struct trace_uprobe *tu;
	struct probe_key key;
	__u32 *id;

	udd = (void *)BPF_CORE_READ(task, utask, vaddr);
	tu = BPF_CORE_READ(udd, tu);
	if (!tu)
		return -1;
	key.ino = BPF_CORE_READ(tu, tp.event, call.event.type);
	key.offset = BPF_CORE_READ(tu, offset);
	id = bpf_map_lookup_elem(&probe_by_event, &key);
	return id ? *id : -1;
}

static __always_inline const struct probe_info *probe_of(__u32 tgid, __u64 ip)
{
	__s64 id = -1;
	__u32 key;

	/* The dispatch data came with Linux 6.x's bpf_get_func_ip for uprobes. */
	if (bpf_core_type_exists(struct uprobe_dispatch_data))
		id = probe_id_from_handler();
	if (id < 0)
		id = probe_id_at(tgid, ip);
	if (id < 0)
		return NULL;
	key = id;
	return bpf_map_lookup_elem(&probe_table, &key);
}

#endif
