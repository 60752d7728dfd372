/*
 * What every bpftape subcommand shares: how errors are printed (once, to
 * stderr, naming the subcommand), exit codes, progress on a terminal, and
 * human-readable numbers.
 */
#ifndef BPFTAPE_CLI_H
#define BPFTAPE_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BPFTAPE_VERSION "0.1.0"

/* Exit statuses: success, failure, bad usage. */
#define EXIT_OK 0
#define EXIT_FAIL 1
#define EXIT_USAGE 2

/* Sets the name errors are printed under: "bpftape dump". */
void cli_set_command(const char *name);
const char *cli_command(void);
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void cli_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prints the problem and a pointer to --help; returns EXIT_USAGE. */
int cli_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "invalid value '5x' for -d: expected ..." ; returns EXIT_USAGE. */
int cli_bad_value(const char *opt, const char *value, int err, const char *expected);

/* A once-a-second progress line on stderr, only when stderr is a terminal. */
struct cli_progress {
	bool enabled;
	bool shown;
	double last;
};

void cli_progress__init(struct cli_progress *p);
/* True when a new line is due; the caller then calls cli_progress__show. */
bool cli_progress__due(struct cli_progress *p);
void cli_progress__show(struct cli_progress *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void cli_progress__clear(struct cli_progress *p);

double cli_now(void);		/* CLOCK_MONOTONIC, seconds */
/* "1.5 MiB" */
const char *cli_bytes(char *buf, size_t len, double bytes);
/* "1.2M" style counts */
const char *cli_count(char *buf, size_t len, double n);

#endif
