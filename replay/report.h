/* What the replay measured: as text, as JSON (one object), as a timeline CSV. */
#ifndef BPFTAPE_REPORT_H
#define BPFTAPE_REPORT_H

#include <stdio.h>

#include "engine.h"
#include "prepare.h"

struct report_ctx {
	const struct prepared *p;
	const struct results *r;
	const char *label;	/* the allocator's name as the user gave it, or NULL */
	enum touch_policy touch;
};

void report_text(FILE *out, const struct report_ctx *c);
void report_json(FILE *out, const struct report_ctx *c);
/* Writes process, pid, op, rss_bytes, live_bytes rows. 0 or -errno. */
int report_timeline(const char *path, const struct report_ctx *c);
const char *touch_name(enum touch_policy t);

#endif
