/*
 * The mappings callers come from, reported once per process and mapping, at
 * the moment of the call: a short-lived process may be gone before user
 * space could read /proc/PID/maps. A small cache of the ranges already
 * reported keeps this to a hash lookup per call. Needs bpf_find_vma (Linux
 * 5.17); older kernels rely on /proc alone. Include common.bpf.h and alloc.h.
 */
#ifndef BPFTAPE_CALLERS_BPF_H
#define BPFTAPE_CALLERS_BPF_H

#define VMA_CACHE 16

struct vma_cache {
	__u64 start[VMA_CACHE];
	__u64 end[VMA_CACHE];
	__u32 next;
	__u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 8192);
	__type(key, __u32);
	__type(value, struct vma_cache);
} vma_cache SEC(".maps") __weak;

/* A blank cache to create entries from: too large for the BPF stack. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct vma_cache);
} vma_cache_zero SEC(".maps") __weak;

struct vma_found {
	struct vma_rec *rec;
	bool file;
};

static long vma_of(struct task_struct *task, struct vm_area_struct *vma, struct vma_found *f)
{
	struct file *file = BPF_CORE_READ(vma, vm_file);

	(void)task;
	f->rec->start = BPF_CORE_READ(vma, vm_start);
	f->rec->end = BPF_CORE_READ(vma, vm_end);
	if (!file)
		return 0;	/* anonymous (JIT code): cached, never reported */
	f->rec->offset = BPF_CORE_READ(vma, vm_pgoff) << 12;
	f->rec->ino = BPF_CORE_READ(file, f_inode, i_ino);
	f->rec->dev = BPF_CORE_READ(file, f_inode, i_sb, s_dev);
	bpf_probe_read_kernel_str(f->rec->name, sizeof(f->rec->name),
				  BPF_CORE_READ(file, f_path.dentry, d_name.name));
	f->file = true;
	return 0;
}

/* Reports the mapping of caller if this process has not reported it yet. */
static __always_inline void note_caller(__u64 pid_tgid, __u64 caller, __u64 now)
{
	__u32 tgid = pid_tgid >> 32;
	struct vma_cache *c;
	struct vma_rec r = {};
	struct vma_found f = { &r, false };

	if (!bpf_core_enum_value_exists(enum bpf_func_id, BPF_FUNC_find_vma) || !caller)
		return;
	c = lookup_or_blank(&vma_cache, &tgid, &vma_cache_zero);
	if (!c)
		return;
	for (int i = 0; i < VMA_CACHE; i++)
		if (caller >= c->start[i] && caller < c->end[i])
			return;
	if (bpf_find_vma(bpf_get_current_task_btf(), caller, vma_of, &f, 0))
		return;
	/* Anonymous ranges too: a caller in JIT code would search the VMAs every call. */
	c->start[c->next % VMA_CACHE] = r.start;
	c->end[c->next % VMA_CACHE] = r.end;
	c->next++;
	if (!f.file)
		return;
	fill_hdr(&r.hdr, EV_VMA, sizeof(r), pid_tgid, now);
	emit(&r, sizeof(r), EV_VMA, now);
}

#endif
