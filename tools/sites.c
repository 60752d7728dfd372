/* Call sites and stacks as the reading tools show them: see sites.h. */
#include <errno.h>
#include <inttypes.h>
#include <regex.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "elf_file.h"
#include "event_print.h"
#include "parse.h"
#include "sites.h"

/*
 * Allocator and wrapper code: the C, C++ and allocator libraries, the loader,
 * the C++ and Rust standard libraries' templates, and the allocation
 * functions by name (for a program that has them linked in).
 */
#define SKIP_FRAMES_DEFAULT                                                              \
	"^(lib(c|stdc\\+\\+|gcc_s|jemalloc|tcmalloc(_minimal)?|mimalloc)\\.so(\\..*)?|"      \
	"ld-linux.*\\.so.*|std::.*|__gnu_cxx::.*|operator (new|delete).*|alloc::.*|"       \
	"__rust_.*|_IO_.*|__libc_.*|(malloc|calloc|realloc|reallocarray|free|"             \
	"aligned_alloc|memalign|posix_memalign|valloc|pvalloc|strn?dup)(\\(.*)?)$"

#define MAX_DEPTH 1000

struct sites {
	struct symbolizer *sym;
	struct stack_table *stacks;
	unsigned depth, site_depth;
	bool skip;
	regex_t skip_re;
};

int stack_opts__option(struct stack_opts *o, int opt, const char *value)
{
	uint64_t v;
	regex_t re;
	int err;

	switch (opt) {
	case OPT_NO_SYMBOLS:
		o->no_symbols = true;
		return 0;
	case OPT_SYMFS:
		o->symfs = value;
		return 0;
	case OPT_DEBUG_DIR:
		if (o->ndebug_dirs == STACK_OPTS_DIRS_MAX)
			return cli_usage("at most %d --debug-dir", STACK_OPTS_DIRS_MAX);
		o->debug_dirs[o->ndebug_dirs++] = value;
		return 0;
	case OPT_NO_STACKS:
		o->no_stacks = true;
		return 0;
	case OPT_STACK_DEPTH:
	case OPT_SITE_DEPTH:
		err = parse_u64(value, 1, MAX_DEPTH, &v);
		if (err)
			return cli_bad_value(opt == OPT_STACK_DEPTH ? "--stack-depth" : "--site-depth",
					     value, err, "expected a number of frames, 1 to 1000");
		*(opt == OPT_STACK_DEPTH ? &o->stack_depth : &o->site_depth) = v;
		return 0;
	case OPT_SKIP_FRAMES:
		err = *value ? regcomp(&re, value, REG_EXTENDED | REG_NOSUB) : 0;
		if (err) {
			char why[128];

			regerror(err, &re, why, sizeof(why));
			return cli_usage("invalid --skip-frames '%s': %s", value, why);
		}
		if (*value)
			regfree(&re);
		o->skip_frames = value;
		return 0;
	default:
		return cli_usage("unknown option");
	}
}

struct sites *sites__new(const struct stack_opts *o, struct symbolizer *sym,
			 struct stack_table *stacks)
{
	struct sites *v = calloc(1, sizeof(*v));
	const char *re = o->skip_frames ? o->skip_frames : SKIP_FRAMES_DEFAULT;

	if (!v)
		return NULL;
	v->sym = sym;
	v->stacks = stacks;
	v->depth = o->stack_depth ? o->stack_depth : STACK_DEPTH_DEFAULT;
	v->site_depth = o->site_depth && o->site_depth < v->depth ? o->site_depth : v->depth;
	if (*re) {
		if (regcomp(&v->skip_re, re, REG_EXTENDED | REG_NOSUB)) {
			free(v);
			return NULL;
		}
		v->skip = true;
	}
	return v;
}

void sites__free(struct sites *v)
{
	if (!v)
		return;
	if (v->skip)
		regfree(&v->skip_re);
	free(v);
}

/* -------------------------------------------------------------------- walking */

static const char *base_name(const char *path)
{
	const char *slash = path ? strrchr(path, '/') : NULL;

	return slash ? slash + 1 : path;
}

/* Is this frame allocator or wrapper code, by its function or its file's name? */
static bool skipped(const struct sites *v, const struct sym_frame *f)
{
	return (f->function && !regexec(&v->skip_re, f->function, 0, NULL, 0)) ||
	       (f->module && !regexec(&v->skip_re, base_name(f->module), 0, NULL, 0));
}

typedef void (*frame_fn)(void *ctx, const struct sym_frame *f, unsigned index);

struct walk {
	unsigned shown, skipped;
	bool more;		/* frames beyond the depth */
	uint32_t flags;		/* the stack's TAPE_STACK_* */
	bool stack;		/* a stack, not one caller */
};

/* The frames of one location (at least one: a bare address without a module). */
static int loc_frames(struct sites *v, const struct sym_loc *loc, struct sym_frame *fr)
{
	int n = v->sym ? symbolizer__frames_at(v->sym, loc, fr, SYM_INLINE_MAX) : 0;

	if (n)
		return n;
	fr[0] = (struct sym_frame){ .offset = loc->offset };
	return 1;
}

/*
 * Calls fn for each frame the site shows, at most max: a stack from its
 * first frame that is not skipped (all of it when every frame would be).
 */
static void walk(struct sites *v, uint32_t pid, uint64_t caller, uint32_t stack, unsigned max,
		 frame_fn fn, void *ctx, struct walk *w)
{
	struct sym_frame fr[SYM_INLINE_MAX];
	struct stack_view sv;
	struct sym_loc one;

	memset(w, 0, sizeof(*w));
	if (stack && v->stacks && stack_table__get(v->stacks, stack, &sv)) {
		w->stack = true;
		w->flags = sv.flags;
	} else {
		one = v->sym ? symbolizer__locate(v->sym, pid, caller) :
			       (struct sym_loc){ SYM_NO_MODULE, caller };
		sv = (struct stack_view){ &one, 1, 0 };
	}
	for (int pass = 0; pass < 2; pass++) {
		bool skipping = pass == 0 && w->stack && v->skip;

		w->shown = w->skipped = 0;
		for (uint32_t i = 0; i < sv.n && !w->more; i++) {
			int n = loc_frames(v, &sv.locs[i], fr);

			for (int j = 0; j < n && !w->more; j++) {
				if (skipping && skipped(v, &fr[j])) {
					w->skipped++;
					continue;
				}
				skipping = false;
				if (w->shown == max)
					w->more = true;
				else
					fn(ctx, &fr[j], w->shown++);
			}
		}
		if (w->shown || !w->skipped)
			break;
	}
}

/* -------------------------------------------------------------------- text */

struct sbuf {
	char *p;
	size_t len, cap;
	bool failed;
};

static void sbuf_add(struct sbuf *b, const char *s, size_t n)
{
	if (b->failed)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = (b->len + n + 1) * 2;
		char *p = realloc(b->p, cap);

		if (!p) {
			b->failed = true;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = 0;
}

/* Names come from tapes and files: control bytes are shown escaped, never sent raw. */
static void sbuf_clean(struct sbuf *b, const char *s)
{
	for (; s && *s; s++) {
		unsigned char c = *s;
		char esc[8];

		if (c < 0x20 || c == 0x7f || c == '\\') {
			snprintf(esc, sizeof(esc), c == '\\' ? "\\\\" : "\\x%02x", c);
			sbuf_add(b, esc, strlen(esc));
		} else {
			sbuf_add(b, s, 1);
		}
	}
}

static void sbuf_printf(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void sbuf_printf(struct sbuf *b, const char *fmt, ...)
{
	char tmp[128];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n > 0)
		sbuf_add(b, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

/*
 * "fn (file.c:42)", "fn+0x1c (libx.so)", "libx.so+0x1234 [build ID ...]" or
 * "0x7f0012345678", then " [inlined]" for a call inlined into the next frame.
 */
static void frame_text(struct sbuf *b, const struct sym_frame *f)
{
	if (f->function && f->file && f->line) {
		sbuf_clean(b, f->function);
		sbuf_add(b, " (", 2);
		sbuf_clean(b, base_name(f->file));
		sbuf_printf(b, ":%u)", f->line);
	} else if (f->function) {
		sbuf_clean(b, f->function);
		if (f->function_offset && !f->inlined)
			sbuf_printf(b, "+0x%" PRIx64, f->function_offset);
		sbuf_add(b, " (", 2);
		sbuf_clean(b, base_name(f->module));
		sbuf_add(b, ")", 1);
	} else if (f->module) {
		sbuf_clean(b, base_name(f->module));
		sbuf_printf(b, "+0x%" PRIx64, f->offset);
		if (f->build_id_len) {
			char hex[2 * BUILD_ID_MAX + 1];

			build_id_hex(f->build_id, f->build_id_len, hex, sizeof(hex));
			sbuf_add(b, " [build ID ", 11);
			sbuf_add(b, hex, strlen(hex));
			sbuf_add(b, "]", 1);
		}
	} else {
		sbuf_printf(b, "0x%" PRIx64, f->offset);
	}
	if (f->inlined)
		sbuf_add(b, " [inlined]", 10);
}

static void key_frame(void *ctx, const struct sym_frame *f, unsigned index)
{
	struct sbuf *b = ctx;

	if (index)
		sbuf_add(b, "\n", 1);
	frame_text(b, f);
}

/* One caller, as the tools always showed it: "fn+0x14 (file)", "file+0x1234", "0x...". */
static void caller_text(struct sites *v, struct sbuf *b, uint32_t pid, uint64_t caller)
{
	char buf[1024];

	if (!caller)
		sbuf_add(b, "?", 1);
	else if (v->sym && symbolizer__describe(v->sym, pid, caller, buf, sizeof(buf)))
		sbuf_clean(b, buf);
	else
		sbuf_printf(b, "0x%" PRIx64, caller);
}

/* Two independent 64-bit hashes of the text: rows are told apart by 128 bits. */
static void hash_text(const char *p, size_t len, uint64_t key[2])
{
	uint64_t a = 0xcbf29ce484222325ull, b = 0x84222325cbf29ce4ull;

	for (size_t i = 0; i < len; i++) {
		a = (a ^ (unsigned char)p[i]) * 0x100000001b3ull;
		b = (b + (unsigned char)p[i]) * 0x9e3779b97f4a7c15ull;
		b ^= b >> 29;
	}
	key[0] = a ^ (a >> 31);
	key[1] = b ^ len;
}

int sites__key(struct sites *v, uint32_t pid, uint64_t caller, uint32_t stack, uint64_t key[2])
{
	struct sbuf b = { 0 };
	struct walk w;

	if (stack && v->stacks && stack_table__get(v->stacks, stack, &(struct stack_view){ 0 })) {
		walk(v, pid, caller, stack, v->site_depth, key_frame, &b, &w);
		if (!w.shown)
			sbuf_add(&b, "(empty stack)", 13);
	} else {
		caller_text(v, &b, pid, caller);
	}
	if (b.failed) {
		free(b.p);
		return -ENOMEM;
	}
	/* The text itself is not kept: a tape can have millions of sites. */
	hash_text(b.p ? b.p : "", b.len, key);
	free(b.p);
	return 0;
}

struct text_ctx {
	struct sbuf b;
	int indent;
};

static void text_frame(void *ctx, const struct sym_frame *f, unsigned index)
{
	struct text_ctx *t = ctx;

	if (index)
		sbuf_printf(&t->b, "\n%*s<- ", t->indent, "");
	frame_text(&t->b, f);
}

void sites__print_text(struct sites *v, FILE *out, uint32_t pid, uint64_t caller, uint32_t stack,
		       int indent)
{
	struct text_ctx t = { { 0 }, indent };
	struct walk w;

	if (stack && v->stacks && stack_table__get(v->stacks, stack, &(struct stack_view){ 0 })) {
		walk(v, pid, caller, stack, v->site_depth, text_frame, &t, &w);
		if (!w.shown)
			sbuf_add(&t.b, "(empty stack)", 13);
		if (w.more)
			sbuf_printf(&t.b, "\n%*s<- ... (--stack-depth)", indent, "");
		else if (w.flags & TAPE_STACK_CUT)
			sbuf_printf(&t.b, "\n%*s<- ... (cut at the recording's --stack-depth)", indent,
				    "");
		else if (w.flags & TAPE_STACK_PARTIAL)
			sbuf_printf(&t.b, "\n%*s<- ... (the recorder could not unwind further)",
				    indent, "");
	} else {
		caller_text(v, &t.b, pid, caller);
	}
	fputs(t.b.p ? t.b.p : "?", out);
	free(t.b.p);
}

/* -------------------------------------------------------------------- JSON */

static void json_frame(void *ctx, const struct sym_frame *f, unsigned index)
{
	FILE *out = ctx;

	fprintf(out, "%s{\"module\":", index ? "," : "");
	if (f->module) {
		print_json_string(out, f->module, strlen(f->module));
		fprintf(out, ",\"build_id\":");
		if (f->build_id_len) {
			char hex[2 * BUILD_ID_MAX + 1];

			build_id_hex(f->build_id, f->build_id_len, hex, sizeof(hex));
			fprintf(out, "\"%s\"", hex);
		} else {
			fprintf(out, "null");
		}
		fprintf(out, ",\"offset\":\"0x%" PRIx64 "\"", f->offset);
	} else {
		fprintf(out, "null,\"address\":\"0x%" PRIx64 "\"", f->offset);
	}
	fprintf(out, ",\"function\":");
	if (f->function)
		print_json_string(out, f->function, strlen(f->function));
	else
		fprintf(out, "null");
	fprintf(out, ",\"file\":");
	if (f->file)
		print_json_string(out, f->file, strlen(f->file));
	else
		fprintf(out, "null");
	fprintf(out, ",\"line\":%u,\"inlined\":%s}", f->line, f->inlined ? "true" : "false");
}

static void first_frame(void *ctx, const struct sym_frame *f, unsigned index)
{
	if (!index)
		frame_text(ctx, f);
}

void sites__print_json(struct sites *v, FILE *out, uint32_t pid, uint64_t caller, uint32_t stack)
{
	struct sbuf site = { 0 };
	struct walk w;
	bool is_stack = stack && v->stacks && stack_table__get(v->stacks, stack, &(struct stack_view){ 0 });

	if (is_stack)
		walk(v, pid, caller, stack, 1, first_frame, &site, &w);
	else
		caller_text(v, &site, pid, caller);
	fprintf(out, ",\"site\":");
	print_json_string(out, site.p ? site.p : "?", site.p ? site.len : 1);
	free(site.p);
	fprintf(out, ",\"frames\":[");
	if (is_stack || caller)
		walk(v, pid, caller, stack, is_stack ? v->site_depth : SYM_INLINE_MAX, json_frame, out,
		     &w);
	fprintf(out, "]");
	if (is_stack)
		fprintf(out, ",\"skipped_frames\":%u,\"more_frames\":%s,\"stack_cut\":%s",
			w.skipped, w.more ? "true" : "false",
			w.flags & (TAPE_STACK_CUT | TAPE_STACK_PARTIAL) ? "true" : "false");
}

/* ------------------------------------------------------------------ dump */

struct line_ctx {
	FILE *out;
	const char *prefix;
};

static void line_frame(void *ctx, const struct sym_frame *f, unsigned index)
{
	struct line_ctx *l = ctx;
	struct sbuf b = { 0 };

	(void)index;
	frame_text(&b, f);
	fprintf(l->out, "%s%s\n", l->prefix, b.p ? b.p : "?");
	free(b.p);
}

/* An event's whole stack, nothing skipped: dump shows what was recorded. */
static void walk_all(struct sites *v, uint32_t stack, frame_fn fn, void *ctx, struct walk *w)
{
	bool skip = v->skip;

	v->skip = false;
	walk(v, 0, 0, stack, v->depth, fn, ctx, w);
	v->skip = skip;
}

void sites__print_stack_lines(struct sites *v, FILE *out, uint32_t stack, const char *prefix)
{
	struct line_ctx l = { out, prefix };
	struct walk w;

	if (!stack || !v->stacks || !stack_table__get(v->stacks, stack, &(struct stack_view){ 0 }))
		return;
	walk_all(v, stack, line_frame, &l, &w);
	if (w.more)
		fprintf(out, "%s... (--stack-depth)\n", prefix);
	else if (w.flags & (TAPE_STACK_CUT | TAPE_STACK_PARTIAL))
		fprintf(out, "%s... (%s)\n", prefix,
			w.flags & TAPE_STACK_CUT ? "cut at the recording's --stack-depth" :
						   "the recorder could not unwind further");
}

void sites__print_stack_json(struct sites *v, FILE *out, uint32_t stack)
{
	struct walk w;

	if (!stack || !v->stacks || !stack_table__get(v->stacks, stack, &(struct stack_view){ 0 }))
		return;
	fprintf(out, ",\"frames\":[");
	walk_all(v, stack, json_frame, out, &w);
	fprintf(out, "],\"more_frames\":%s,\"stack_cut\":%s", w.more ? "true" : "false",
		w.flags & (TAPE_STACK_CUT | TAPE_STACK_PARTIAL) ? "true" : "false");
}

/* ------------------------------------------------------------------- rows */

static int by_row_key(const void *a, const void *b)
{
	const struct site_row *x = a, *y = b;

	if (x->key[0] != y->key[0])
		return x->key[0] < y->key[0] ? -1 : 1;
	return x->key[1] < y->key[1] ? -1 : x->key[1] > y->key[1];
}

size_t sites__merge(struct sites *v, struct site_row *rows, size_t n)
{
	size_t out = 0;

	for (size_t i = 0; i < n; i++)
		if (sites__key(v, rows[i].pid, rows[i].caller, rows[i].stack, rows[i].key))
			return SIZE_MAX;
	if (n)
		qsort(rows, n, sizeof(*rows), by_row_key);
	for (size_t i = 0; i < n; i++) {
		struct site_row *d = out ? &rows[out - 1] : NULL;

		if (d && d->key[0] == rows[i].key[0] && d->key[1] == rows[i].key[1]) {
			d->sum[0] += rows[i].sum[0];
			d->sum[1] += rows[i].sum[1];
			if (rows[i].min < d->min)
				d->min = rows[i].min;
			continue;
		}
		rows[out++] = rows[i];
	}
	return out;
}
