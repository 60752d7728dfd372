/* Error printing, progress and number formatting for the bpftape command. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

static char command_name[64] = "bpftape";

void cli_set_command(const char *name)
{
	snprintf(command_name, sizeof(command_name), "bpftape %s", name);
}

const char *cli_command(void)
{
	return command_name;
}

static void vprint(const char *prefix, const char *fmt, va_list ap)
{
	fprintf(stderr, "%s: %s", command_name, prefix);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void cli_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprint("", fmt, ap);
	va_end(ap);
}

void cli_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprint("warning: ", fmt, ap);
	va_end(ap);
}

int cli_usage(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprint("", fmt, ap);
	va_end(ap);
	fprintf(stderr, "Try '%s --help'.\n", command_name);
	return EXIT_USAGE;
}

int cli_bad_value(const char *opt, const char *value, int err, const char *expected)
{
	return cli_usage("invalid value '%s' for %s: %s%s", value, opt,
			 err == -ERANGE ? "out of range; " : "", expected);
}

double cli_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

void cli_progress__init(struct cli_progress *p)
{
	p->enabled = isatty(2);
	p->shown = false;
	p->last = cli_now();
}

bool cli_progress__due(struct cli_progress *p)
{
	double now;

	if (!p->enabled)
		return false;
	now = cli_now();
	if (now - p->last < 1.0)
		return false;
	p->last = now;
	return true;
}

void cli_progress__show(struct cli_progress *p, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "\r\033[K");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fflush(stderr);
	p->shown = true;
}

void cli_progress__clear(struct cli_progress *p)
{
	if (p->shown)
		fprintf(stderr, "\r\033[K");
	p->shown = false;
}

const char *cli_bytes(char *buf, size_t len, double bytes)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	int u = 0;

	while (bytes >= 1024 && u < 4) {
		bytes /= 1024;
		u++;
	}
	snprintf(buf, len, u ? "%.1f %s" : "%.0f %s", bytes, units[u]);
	return buf;
}

const char *cli_count(char *buf, size_t len, double n)
{
	if (n >= 1e9)
		snprintf(buf, len, "%.2fG", n / 1e9);
	else if (n >= 1e6)
		snprintf(buf, len, "%.2fM", n / 1e6);
	else if (n >= 1e4)
		snprintf(buf, len, "%.1fk", n / 1e3);
	else
		snprintf(buf, len, "%.0f", n);
	return buf;
}
