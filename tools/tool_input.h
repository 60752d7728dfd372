/*
 * How the reading subcommands (dump, stat, leaks, convert) open and stream
 * their input: errors printed once, thread names and symbols learnt on the
 * way, progress on a terminal, damage reported at the end.
 */
#ifndef BPFTAPE_TOOL_INPUT_H
#define BPFTAPE_TOOL_INPUT_H

#include <stdbool.h>

#include "cli.h"
#include "comm_table.h"
#include "event_print.h"
#include "event_source.h"
#include "sites.h"
#include "stack_table.h"
#include "symbolize.h"

struct tool_input {
	const char *path;
	struct event_source *src;
	struct comm_table comms;
	struct symbolizer *sym;		/* NULL with --no-symbols */
	struct stack_table *stacks;	/* NULL with --no-stacks */
	struct sites *sites;		/* how callers and stacks are shown */
	uint32_t stack;			/* the last event's stack (stack_table__use); 0: none */
	struct print_ctx pctx;
	struct cli_progress progress;
	uint64_t events;
	int read_err;
};

/*
 * Opens path; prints the error and returns EXIT_FAIL when it cannot. so:
 * symbols and stacks as the options say (NULL: neither).
 */
int tool_input__open(struct tool_input *in, const char *path, const struct stack_opts *so);
/*
 * Opens the one tape left after the options, argv[first] (argc - first must
 * be 1: a usage error otherwise); as tool_input__open.
 */
int tool_input__open_one(struct tool_input *in, int argc, char **argv, int first,
			 const struct stack_opts *so);
/*
 * Next event, with names, maps and stacks learnt, and in->stack set to its
 * stack's handle. 1, or 0 at the end (errors end it too).
 */
int tool_input__next(struct tool_input *in, struct tape_event *ev);
/* Reports damage and read errors, closes; returns EXIT_OK or EXIT_FAIL. */
int tool_input__finish(struct tool_input *in);

#endif
