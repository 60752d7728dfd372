/* bpftape: one command, perf-like. This file only dispatches to subcommands. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "self_test.h"

static const struct command {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
} commands[] = {
	{ "record", do_record, "record the allocation calls and syscalls of processes into a tape" },
	{ "replay", do_replay, "replay a tape's allocations against allocators and measure them" },
	{ "convert", do_convert, "convert between bpftape tapes and mwrap traces" },
	{ "dump", do_dump, "print a tape's header and events, one line each" },
	{ "stat", do_stat, "summarise a tape: calls, sizes, lifetimes, sites, syscalls" },
	{ "leaks", do_leaks, "show blocks still live at the end, by allocation site" },
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: bpftape COMMAND [OPTIONS] [ARGS]\n\n"
		"Records a program's allocation calls and syscalls with eBPF, without touching\n"
		"it, and replays what it recorded offline against other allocators.\n\n"
		"Commands:\n");
	for (size_t i = 0; i < NCOMMANDS; i++)
		fprintf(out, "  %-8s %s\n", commands[i].name, commands[i].summary);
	fprintf(out,
		"\nExamples:\n"
		"  sudo bpftape record -p 1234 -d 60 -o service.tape\n"
		"  sudo bpftape record -- ./myprogram --its-args\n"
		"  bpftape replay --allocators glibc,jemalloc,mimalloc,tcmalloc service.tape\n"
		"  bpftape stat service.tape\n\n"
		"'bpftape COMMAND --help' describes each command; so does man bpftape-COMMAND.\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
		if (argc > 2 && strcmp(argv[1], "help") == 0) {
			/* "bpftape help dump" is "bpftape dump --help". */
			char *help_argv[] = { argv[2], "--help", NULL };

			for (size_t i = 0; i < NCOMMANDS; i++)
				if (!strcmp(commands[i].name, argv[2])) {
					cli_set_command(argv[2]);
					return commands[i].run(2, help_argv);
				}
		}
		usage(stdout);
		return EXIT_OK;
	}
	/* The loop `record --self-test` records: not a command of its own. */
	if (!strcmp(argv[1], "__self-test-loop"))
		return self_test_loop(argc - 1, argv + 1);
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version")) {
		printf("bpftape %s\n", BPFTAPE_VERSION);
		return EXIT_OK;
	}
	for (size_t i = 0; i < NCOMMANDS; i++) {
		if (!strcmp(commands[i].name, argv[1])) {
			cli_set_command(argv[1]);
			return commands[i].run(argc - 1, argv + 1);
		}
	}
	fprintf(stderr, "bpftape: '%s' is not a command. See 'bpftape --help'.\n", argv[1]);
	return EXIT_USAGE;
}
