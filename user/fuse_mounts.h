/*
 * Which devices are FUSE file systems: a FUSE server (which any user can
 * run) answers reads of its files when it likes, so the recorder does not
 * open them on a thread that must not block (the drain's).
 */
#ifndef BPFTAPE_FUSE_MOUNTS_H
#define BPFTAPE_FUSE_MOUNTS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/*
 * kdev: the kernel's encoding, major << 20 | minor (as BPF reads it), of a
 * file process pid maps (its mount namespace is looked at when ours lacks it).
 */
bool fuse_mounts__has(uint32_t kdev, pid_t pid);

#endif
