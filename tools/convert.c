/* bpftape convert: bpftape tapes to and from mwrap traces. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "byte_output.h"
#include "commands.h"
#include "mwrap.h"
#include "output_file.h"
#include "parse.h"
#include "tool_input.h"

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: bpftape convert [OPTIONS] INPUT OUTPUT\n\n"
		"Converts between bpftape tapes and mwrap traces, both ways. The input's\n"
		"format is read from its bytes; the output's from --to or its name: *.tape\n"
		"is a bpftape tape, *.trace, *.gz, *.zst and *.bz2 are mwrap traces\n"
		"(compressed by suffix, as mwrap does). Says what the output cannot hold:\n"
		"mwrap traces have no failed calls, free(NULL), threads, times, callers,\n"
		"syscalls or loss records.\n\n"
		"Options:\n"
		"  --to FORMAT        native or mwrap\n"
		"  --pid PID          only this process (an mwrap trace holds one process)\n"
		"  -f, --force        overwrite OUTPUT\n"
		"  -h, --help         this help\n\n"
		"Examples:\n"
		"  bpftape convert --pid 4242 app.tape mwrap.4242.trace.gz\n"
		"  bpftape convert mwrap.4242.trace.zst app.tape\n");
}

struct convert {
	struct tool_input in;
	uint32_t pid;		/* 0: every process */
	uint64_t read, skipped_pid;
	uint32_t first_pid;
	bool several_pids;
};

static bool wanted(struct convert *cv, const struct tape_event *ev)
{
	if (cv->pid && ev->pid != cv->pid) {
		cv->skipped_pid++;
		return false;
	}
	if (tape_type_is_alloc(ev->type)) {
		if (!cv->first_pid)
			cv->first_pid = ev->pid;
		else if (ev->pid != cv->first_pid)
			cv->several_pids = true;
	}
	return true;
}

static int to_mwrap(struct convert *cv, int fd, const char *out_path)
{
	const struct tape_header *h = event_source__header(cv->in.src);
	enum byte_compression comp = byte_compression_from_suffix(out_path);
	struct byte_output *o;
	struct mwrap_writer *w;
	struct tape_event ev;
	char msg[256];
	int err = 0;

	if (byte_output__open(&o, fd, comp, msg, sizeof(msg))) {
		cli_error("%s", msg);
		return EXIT_FAIL;
	}
	mwrap_writer__open(&w, o, h->page_size);
	while (!err && tool_input__next(&cv->in, &ev)) {
		cv->read++;
		if (wanted(cv, &ev))
			err = mwrap_writer__add(w, &ev) < 0;
	}
	if (byte_output__close(o, msg, sizeof(msg)) || err) {
		cli_error("%s: %s", out_path, err ? "write failed" : msg);
		mwrap_writer__free(w);
		return EXIT_FAIL;
	}
	const struct mwrap_drops *d = mwrap_writer__drops(w);
	fprintf(stderr, "bpftape convert: wrote %" PRIu64 " mwrap records to %s from %" PRIu64 " events\n",
		mwrap_writer__records(w), out_path, cv->read);
	if (d->failed || d->free_null || d->misaligned || d->other)
		fprintf(stderr,
			"  not expressible in mwrap's format, dropped: %" PRIu64 " failed calls, %" PRIu64
			" free(NULL), %" PRIu64 " misaligned pointers, %" PRIu64
			" syscall/lifecycle/map/marker events, %" PRIu64 " stack records (call stacks)\n",
			d->failed, d->free_null, d->misaligned, d->other - d->stacks, d->stacks);
	if (d->losses)
		cli_warn("the input has %" PRIu64 " loss records: events are missing and mwrap's format cannot say so",
			 d->losses);
	if (cv->several_pids)
		cli_warn("allocations of several processes went into one mwrap trace; use --pid to pick one");
	mwrap_writer__free(w);
	return EXIT_OK;
}

static int to_native(struct convert *cv, int fd, const char *in_path, const char *out_path,
		     int argc, char **argv)
{
	const struct tape_header *src = event_source__header(cv->in.src);
	bool from_mwrap = event_source__format(cv->in.src) == SOURCE_MWRAP;
	struct tape_header h;
	struct tape_writer *w;
	struct tape_event ev;
	int err;

	/* Keep how the original was made; add how this copy was. */
	tape_header__init_host(&h);
	h.byte_order = src->byte_order;
	h.pointer_size = src->pointer_size;
	h.page_size = src->page_size;
	for (uint32_t i = 0; i < src->nentries; i++)
		tape_header__add(&h, src->entries[i].key, src->entries[i].data, src->entries[i].len);
	if (from_mwrap) {
		char source[4200];

		snprintf(source, sizeof(source), "mwrap trace %s", in_path);
		tape_header__add_str(&h, TAPE_CFG_MODE, "converted");
		tape_header__add_str(&h, TAPE_CFG_SOURCE, source);
	}
	tape_header__add_argv(&h, TAPE_CFG_COMMAND_LINE, argc, argv);
	err = tape_writer__open(&w, fd, &h, NULL);
	tape_header__free(&h);
	if (err) {
		cli_error("cannot write %s: %s", out_path, strerror(-err));
		return EXIT_FAIL;
	}
	while (!err && tool_input__next(&cv->in, &ev)) {
		cv->read++;
		if (wanted(cv, &ev))
			err = tape_writer__add(w, &ev);
	}
	/* Damage in the input is recorded in the output as lost events, not hidden. */
	const struct tape_damage *d = event_source__tape_damage(cv->in.src);
	if (!err && (d->corrupt_events || d->truncated_at)) {
		struct tape_event loss = { .type = TAPE_EV_LOSS, .ts = ev.ts,
					   .loss = { .reason = TAPE_LOSS_DAMAGE,
						     .cpu = TAPE_LOSS_NO_CPU,
						     .count = d->corrupt_events } };

		err = tape_writer__add(w, &loss);
	}
	uint64_t written = tape_writer__events(w);
	int cerr = tape_writer__close(w);
	if (err || cerr) {
		cli_error("cannot write %s: %s", out_path, strerror(-(err ? err : cerr)));
		return EXIT_FAIL;
	}
	fprintf(stderr, "bpftape convert: wrote %" PRIu64 " events to %s from %" PRIu64 " %s\n",
		written, out_path, cv->read, from_mwrap ? "mwrap records" : "events");
	if (from_mwrap)
		fprintf(stderr,
			"  mwrap traces carry no thread IDs, timestamps, callers, failed calls or syscalls: they are absent (0) in the tape\n");
	return EXIT_OK;
}

int do_convert(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "to", required_argument, NULL, 'T' },
		{ "pid", required_argument, NULL, 'p' },
		{ "force", no_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct convert cv = { 0 };
	const char *to = NULL, *in_path, *out_path;
	bool force = false;
	char msg[512];
	uint64_t pid;
	int c, err, fd, status;

	while ((c = getopt_long(argc, argv, "fh", opts, NULL)) != -1) {
		switch (c) {
		case 'T':
			if (strcmp(optarg, "native") && strcmp(optarg, "mwrap"))
				return cli_bad_value("--to", optarg, 0, "expected native or mwrap");
			to = optarg;
			break;
		case 'p':
			err = parse_u64(optarg, 1, UINT32_MAX, &pid);
			if (err)
				return cli_bad_value("--pid", optarg, err, "expected a process ID");
			cv.pid = pid;
			break;
		case 'f':
			force = true;
			break;
		case 'h':
			usage(stdout);
			return EXIT_OK;
		default:
			return cli_usage("unknown option");
		}
	}
	if (argc - optind != 2)
		return cli_usage("give an INPUT and an OUTPUT");
	in_path = argv[optind];
	out_path = argv[optind + 1];
	if (!to && !strcmp(out_path, "-"))
		return cli_usage("writing to standard output: say which format with --to");
	status = tool_input__open(&cv.in, in_path, NULL);
	if (status)
		return status;
	if (!to) {
		size_t n = strlen(out_path);

		if (n > 5 && !strcmp(out_path + n - 5, ".tape"))
			to = "native";
		else if (byte_compression_from_suffix(out_path) != BYTE_RAW ||
			 (n > 6 && !strcmp(out_path + n - 6, ".trace")))
			to = "mwrap";
		else
			to = event_source__format(cv.in.src) == SOURCE_MWRAP ? "native" : "mwrap";
	}
	fd = output_file__create(out_path, force, msg, sizeof(msg));
	if (fd < 0) {
		cli_error("%s", msg);
		tool_input__finish(&cv.in);
		return EXIT_FAIL;
	}
	if (!strcmp(to, "mwrap"))
		status = to_mwrap(&cv, fd, out_path);
	else
		/* argv[-1] is the bpftape binary: main passed argv + 1. */
		status = to_native(&cv, fd, in_path, out_path, argc + 1, argv - 1);
	output_file__close(fd);
	if (cv.pid && cv.skipped_pid == cv.read)
		cli_warn("no event of process %u in %s", cv.pid, in_path);
	if (tool_input__finish(&cv.in) && !status)
		status = EXIT_FAIL;
	return status;
}
