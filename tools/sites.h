/*
 * Where allocations come from, as dump, stat and leaks show it: a call
 * site is one caller (tapes without stacks) or a call stack. A stack is
 * shown from its innermost frame outside allocator and wrapper code
 * (--skip-frames), inlined calls expanded, at most --stack-depth frames;
 * sites group by their first --site-depth frames. Text for people, JSON
 * with each frame's fields for programs.
 */
#ifndef BPFTAPE_SITES_H
#define BPFTAPE_SITES_H

#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "stack_table.h"
#include "symbolize.h"

#define STACK_OPTS_DIRS_MAX 16
#define STACK_DEPTH_DEFAULT 16

/* The options of the reading tools about callers, symbols and stacks. */
struct stack_opts {
	bool no_symbols;
	const char *symfs;
	const char *debug_dirs[STACK_OPTS_DIRS_MAX];
	size_t ndebug_dirs;
	bool no_stacks;
	unsigned stack_depth;		/* frames shown; 0: STACK_DEPTH_DEFAULT */
	unsigned site_depth;		/* frames a site groups by; 0: all shown */
	const char *skip_frames;	/* NULL: SKIP_FRAMES_DEFAULT */
};

enum {
	OPT_NO_SYMBOLS = 0x100,
	OPT_SYMFS,
	OPT_DEBUG_DIR,
	OPT_NO_STACKS,
	OPT_STACK_DEPTH,
	OPT_SITE_DEPTH,
	OPT_SKIP_FRAMES,
};

/* For a tool's getopt_long table; its switch hands these to stack_opts__option. */
#define STACK_OPTIONS                                                       \
	{ "no-symbols", no_argument, NULL, OPT_NO_SYMBOLS },                \
	{ "symfs", required_argument, NULL, OPT_SYMFS },                    \
	{ "debug-dir", required_argument, NULL, OPT_DEBUG_DIR },            \
	{ "no-stacks", no_argument, NULL, OPT_NO_STACKS },                  \
	{ "stack-depth", required_argument, NULL, OPT_STACK_DEPTH }

/* And for the tools that group call sites (stat, leaks). */
#define SITE_OPTIONS                                                        \
	{ "site-depth", required_argument, NULL, OPT_SITE_DEPTH },          \
	{ "skip-frames", required_argument, NULL, OPT_SKIP_FRAMES }

#define STACK_OPTIONS_HELP                                                                     \
	"  --no-symbols       show callers and frames as addresses, reading no files\n"          \
	"  --symfs DIR        look for the recorded files under DIR first\n"                       \
	"  --debug-dir DIR    a build-ID directory (DIR/.build-id/xx/...) to search for\n"         \
	"                     files and debug information (repeatable); /usr/lib/debug is\n"       \
	"                     searched too, and servers in DEBUGINFOD_URLS when it is set\n"      \
	"  --no-stacks        ignore recorded call stacks: one caller per call\n"                  \
	"  --stack-depth N    frames of a stack to show (default 16; inlined calls count)\n"

#define SITE_OPTIONS_HELP                                                                      \
	"  --site-depth K     group call sites by their first K frames (default: all shown)\n"     \
	"  --skip-frames RE   frames at the top of a stack that are allocator or wrapper\n"        \
	"                     code, not shown: an extended regex matched against each\n"          \
	"                     frame's function and file name ('' skips none; default:\n"          \
	"                     the C and C++ runtime libraries, std::, operator new and\n"          \
	"                     delete, malloc and its kin)\n"

/* Takes one of the OPT_* options. 0, or EXIT_USAGE after saying what is wrong. */
int stack_opts__option(struct stack_opts *o, int opt, const char *value);

struct sites;

/*
 * How sites are shown, with sym (NULL: addresses only) and stacks (NULL:
 * one caller per call). Returns NULL when out of memory.
 */
struct sites *sites__new(const struct stack_opts *o, struct symbolizer *sym,
			 struct stack_table *stacks);
void sites__free(struct sites *v);

/*
 * A site: process pid's caller, and stack handle (stack_table__use; 0: the
 * caller alone). Its key, a 128-bit hash of how it shows: sites with equal
 * keys show alike and are counted as one. 0, or -ENOMEM.
 */
int sites__key(struct sites *v, uint32_t pid, uint64_t caller, uint32_t stack, uint64_t key[2]);
/*
 * Its first frame; then, for a stack, each further frame on a line of its
 * own, indent spaces in, after "<- ".
 */
void sites__print_text(struct sites *v, FILE *out, uint32_t pid, uint64_t caller, uint32_t stack,
		       int indent);
/* ,"site":"first frame","frames":[{...}, ...] */
void sites__print_json(struct sites *v, FILE *out, uint32_t pid, uint64_t caller, uint32_t stack);

/* One row of a report of sites: the site and its counts. */
struct site_row {
	uint64_t key[2];	/* filled by sites__merge */
	uint32_t pid;
	uint64_t caller;
	uint32_t stack;
	uint64_t sum[2];	/* summed when rows merge (calls and bytes; blocks and bytes) */
	uint64_t min;		/* the smallest kept when rows merge (the oldest block's time) */
};

/*
 * Gives each row its key and merges rows with equal keys (the same code in
 * several processes; stacks alike in their first --site-depth frames).
 * Returns the rows left, in key order, or SIZE_MAX when out of memory.
 */
size_t sites__merge(struct sites *v, struct site_row *rows, size_t n);

/* dump: a stack's frames from the innermost, nothing skipped, one per line after prefix. */
void sites__print_stack_lines(struct sites *v, FILE *out, uint32_t stack, const char *prefix);
/* dump --json: ,"frames":[...] for a stack (nothing when there is none). */
void sites__print_stack_json(struct sites *v, FILE *out, uint32_t stack);

#endif
