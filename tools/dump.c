/* bpftape dump: a tape's header, then one line (or JSON object) per event. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "event_filter.h"
#include "parse.h"
#include "tool_input.h"

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: bpftape dump [OPTIONS] TAPE\n\n"
		"Prints the tape's header (how it was recorded), then every event in tape\n"
		"order: time since the start, pid/tid, thread name, the call with its\n"
		"arguments and result, and the caller; when the tape has call stacks, each\n"
		"allocator call's stack follows, a frame per line (function, source file and\n"
		"line, inlined calls expanded). Reads bpftape tapes and mwrap traces (raw,\n"
		".gz, .zst, .bz2); mwrap traces have no times, threads or callers.\n\n"
		"Options:\n"
		"  --json             the header, then one JSON object per event, a line each\n"
		"  --no-header        events only\n"
		"  -n, --count N      stop after N events\n"
		EVENT_FILTER_HELP
		STACK_OPTIONS_HELP
		"  -h, --help         this help\n\n"
		"Examples:\n"
		"  bpftape dump app.tape | less\n"
		"  bpftape dump --event alloc --tid 4242 app.tape\n"
		"  bpftape dump --json --event syscall app.tape | jq .name\n"
		"  bpftape dump --event malloc --stack-depth 4 --symfs /srv/host1 app.tape\n");
}

/* A call's stack (an allocator call's, a syscall's), in its JSON object. */
static void json_stack(FILE *out, const struct tape_event *ev, void *arg)
{
	struct tool_input *in = arg;

	if (tape_event_stack(ev) && in->stack)
		sites__print_stack_json(in->sites, out, in->stack);
}

int do_dump(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "no-header", no_argument, NULL, 'H' },
		{ "count", required_argument, NULL, 'n' },
		{ "pid", required_argument, NULL, 'p' },
		{ "tid", required_argument, NULL, 't' },
		{ "event", required_argument, NULL, 'e' },
		{ "since", required_argument, NULL, 's' },
		{ "until", required_argument, NULL, 'u' },
		STACK_OPTIONS,
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct event_filter filter;
	struct tool_input in;
	struct tape_event ev;
	struct stack_opts so = { 0 };
	bool json = false, header = true;
	uint64_t limit = UINT64_MAX, shown = 0;
	int c, idx = 0, err, status;

	event_filter__init(&filter);
	while ((c = getopt_long(argc, argv, "hn:", opts, &idx)) != -1) {
		switch (c) {
		case 'j':
			json = true;
			break;
		case 'H':
			header = false;
			break;
		case 'n':
			err = parse_u64(optarg, 1, UINT64_MAX, &limit);
			if (err)
				return cli_bad_value("--count", optarg, err, "expected a positive count");
			break;
		case 'p': case 't': case 'e': case 's': case 'u':
			/* Long-only options: idx names the one given. */
			err = event_filter__option(&filter, opts[idx].name, optarg);
			if (err)
				return err;
			break;
		case OPT_NO_SYMBOLS ... OPT_SKIP_FRAMES:
			err = stack_opts__option(&so, c, optarg);
			if (err)
				return err;
			break;
		case 'h':
			usage(stdout);
			return EXIT_OK;
		default:
			return cli_usage("unknown option");
		}
	}
	status = tool_input__open_one(&in, argc, argv, optind, &so);
	if (status)
		return status;
	in.pctx.json_extra = json_stack;
	in.pctx.extra_arg = &in;
	if (header) {
		const struct tape_header *h = event_source__header(in.src);
		const char *fmt = event_source__format_name(in.src);

		if (json)
			print_header_json(stdout, h, fmt);
		else
			print_header_text(stdout, h, fmt);
	}
	while (shown < limit && tool_input__next(&in, &ev)) {
		if (!event_filter__match(&filter, &ev))
			continue;
		if (json) {
			print_event_json(stdout, &ev, &in.pctx);
		} else {
			print_event_text(stdout, &ev, &in.pctx);
			if (in.stack)
				sites__print_stack_lines(in.sites, stdout, in.stack, "\t");
			else if (in.stacks && tape_event_stack(&ev))
				printf("\t(stack #%u: its record is missing from the tape)\n",
				       tape_event_stack(&ev));
		}
		shown++;
	}
	if (fflush(stdout)) {
		cli_error("cannot write the output: %m");
		tool_input__finish(&in);
		return EXIT_FAIL;
	}
	return tool_input__finish(&in);
}
