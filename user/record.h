/* bpftape record's options, parsed and checked in one place (record_opts.c). */
#ifndef BPFTAPE_RECORD_H
#define BPFTAPE_RECORD_H

#include <stdbool.h>
#include <stdint.h>

#include "writer.h"

#define RECORD_MAX_PIDS 256
#define RECORD_MAX_LIBS 16
#define RECORD_MAX_SHARDS 64

enum record_mode {
	MODE_PID,
	MODE_COMMAND,
	MODE_SYSTEM,
};

struct record_opts {
	enum record_mode mode;
	uint32_t pids[RECORD_MAX_PIDS];
	int npids;
	char **command;		/* NULL-terminated argv of the command to start */
	bool follow;
	const char *comm;	/* -a filters */
	bool filter_uid;
	uint32_t uid;
	const char *cgroup;
	uint64_t cgroup_id;
	char *libs[RECORD_MAX_LIBS];
	int nlibs;
	char output[4096];
	bool force;
	enum output_format format;
	double duration;	/* seconds; 0: until stopped */
	const char *syscalls;	/* all, none, or a list */
	bool alloc;
	uint64_t ringbuf_size;
	uint32_t shards;
	uint64_t max_memory;
	uint64_t wakeup_bytes;
	bool quiet;
	bool verbose;
	bool json;		/* the summary as one JSON object */
	uint32_t stack_depth;	/* frames per allocator call; 0: no stacks */
	bool no_stacks;		/* --no-stacks given */
	const char *syscall_stacks;	/* syscalls whose stacks are taken: a set, or none */
	uint64_t stack_memory;	/* bytes for unwind tables */
	bool self_test;		/* measure what a probed call costs here, and say so */
	const char *events;	/* -e: alloc, syscalls, names and classes */
	char *command_buf;	/* -c's copy of its string, split into command */
	int argc;
	char **argv;
};

/*
 * Parses argv into o. Returns EXIT_OK to go on, EXIT_USAGE after printing
 * why, or -1 when --help was printed (the caller exits with EXIT_OK).
 */
int record_opts__parse(struct record_opts *o, int argc, char **argv);

#endif
