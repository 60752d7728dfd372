/* A tape's header and events as text lines (like perf script) or JSON objects. */
#ifndef BPFTAPE_EVENT_PRINT_H
#define BPFTAPE_EVENT_PRINT_H

#include <stdbool.h>
#include <stdio.h>

#include "tape.h"

struct comm_table;
struct symbolizer;

struct print_ctx {
	const struct comm_table *comms;	/* may be NULL */
	struct symbolizer *sym;		/* may be NULL: callers print as addresses */
	bool has_threads;		/* false for mwrap input: no pid, tid, time */
	/* Called before an event's JSON object closes, to add fields (may be NULL). */
	void (*json_extra)(FILE *out, const struct tape_event *ev, void *arg);
	void *extra_arg;
};

void print_header_text(FILE *out, const struct tape_header *h, const char *format_name);
void print_header_json(FILE *out, const struct tape_header *h, const char *format_name);
void print_event_text(FILE *out, const struct tape_event *ev, const struct print_ctx *ctx);
void print_event_json(FILE *out, const struct tape_event *ev, const struct print_ctx *ctx);
/* A JSON string literal of len bytes, escaped. */
void print_json_string(FILE *out, const char *s, size_t len);
/* "main+0x14 (prog)", "libc.so.6+0x1234" or "0x7f...": the caller as the tools show it. */
const char *describe_caller(const struct print_ctx *ctx, uint32_t pid, uint64_t addr, char *buf,
			    size_t len);
/* The name of an errno value ("ENOENT"), or NULL. */
const char *errno_name(int err);

#endif
