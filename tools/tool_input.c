/* Streaming input for the reading subcommands: see tool_input.h. */
#include <string.h>
#include <unistd.h>

#include "tool_input.h"

int tool_input__open(struct tool_input *in, const char *path, const struct stack_opts *so)
{
	static const struct stack_opts none = { .no_symbols = true, .no_stacks = true };
	char msg[512];
	int err;

	if (!so)
		so = &none;

	memset(in, 0, sizeof(*in));
	in->path = path;
	err = event_source__open(&in->src, path, msg, sizeof(msg));
	if (err) {
		cli_error("%s", msg);
		return EXIT_FAIL;
	}
	comm_table__init(&in->comms);
	if (!so->no_symbols) {
		struct symbolizer_opts o = {
			.symfs = so->symfs,
			.debug_dirs = so->debug_dirs,
			.ndebug_dirs = so->ndebug_dirs,
			.page_size = event_source__header(in->src)->page_size,
		};

		in->sym = symbolizer__new(&o);
	}
	if (!so->no_stacks)
		in->stacks = stack_table__new(in->sym);
	in->sites = sites__new(so, in->sym, in->stacks);
	if ((!so->no_symbols && !in->sym) || (!so->no_stacks && !in->stacks) || !in->sites) {
		cli_error("out of memory");
		tool_input__finish(in);
		return EXIT_FAIL;
	}
	in->pctx.comms = &in->comms;
	in->pctx.sym = in->sym;
	in->pctx.has_threads = event_source__has_threads(in->src);
	/* Progress only where it cannot mix with the output on the terminal. */
	cli_progress__init(&in->progress);
	if (isatty(1))
		in->progress.enabled = false;
	if (event_source__header(in->src)->checksum_bad)
		cli_warn("%s: the tape header's checksum does not match: its configuration may be damaged",
			 path);
	return EXIT_OK;
}

int tool_input__open_one(struct tool_input *in, int argc, char **argv, int first,
			 const struct stack_opts *so)
{
	if (first != argc - 1)
		return cli_usage(first >= argc ? "which tape? give one file" : "give exactly one tape");
	return tool_input__open(in, argv[first], so);
}

int tool_input__next(struct tool_input *in, struct tape_event *ev)
{
	int r = event_source__next(in->src, ev);

	if (r < 0) {
		in->read_err = r;
		return 0;
	}
	if (r == 0)
		return 0;
	in->events++;
	comm_table__update(&in->comms, ev);
	if (in->sym)
		symbolizer__update(in->sym, ev);
	in->stack = 0;
	if (in->stacks) {
		if (ev->type == TAPE_EV_STACK)
			stack_table__add(in->stacks, ev);
		else if (tape_event_stack(ev))
			in->stack = stack_table__use(in->stacks, ev->pid, tape_event_stack(ev));
	}
	if ((in->events & 0xffff) == 0 && cli_progress__due(&in->progress)) {
		char n[32], b[32];

		cli_progress__show(&in->progress, "%s: %s events, %s read", in->path,
				   cli_count(n, sizeof(n), in->events),
				   cli_bytes(b, sizeof(b), event_source__offset(in->src)));
	}
	return 1;
}

int tool_input__finish(struct tool_input *in)
{
	char msg[512];
	int status = EXIT_OK;

	cli_progress__clear(&in->progress);
	if (in->read_err) {
		cli_error("%s: read error after %llu events: %s", in->path,
			  (unsigned long long)in->events, strerror(-in->read_err));
		status = EXIT_FAIL;
	}
	if (event_source__damage(in->src, msg, sizeof(msg))) {
		cli_warn("%s is damaged: %s; everything before the damage was read", in->path, msg);
		status = EXIT_FAIL;
	}
	if (event_source__close(in->src, msg, sizeof(msg))) {
		cli_error("%s: %s", in->path, msg);
		status = EXIT_FAIL;
	}
	if (in->stacks && stack_table__unknown(in->stacks))
		cli_warn("%s: %llu allocator calls name stacks whose records are missing (lost with damaged chunks): they are shown by their caller",
			 in->path, (unsigned long long)stack_table__unknown(in->stacks));
	comm_table__free(&in->comms);
	sites__free(in->sites);
	stack_table__free(in->stacks);
	symbolizer__free(in->sym);
	in->sites = NULL;
	in->stacks = NULL;
	in->sym = NULL;
	return status;
}
