/*
 * The tape format and the mwrap format: round trips of every event kind,
 * byte-exact golden files, damage of every sort, and agreement between
 * docs/FORMAT.md and the code.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "byte_input.h"
#include "byte_output.h"
#include "bytes.h"
#include "check.h"
#include "event_source.h"
#include "events_equal.h"
#include "mwrap.h"
#include "sample_events.h"
#include "tape.h"
#include "tape_codec.h"
#include "tape_format.h"

static char tmpdir[256];

static const char *tmp_path(const char *name)
{
	static char path[4][512];
	static int next;
	char *p = path[next++ % 4];

	snprintf(p, sizeof(path[0]), "%s/%s", tmpdir, name);
	return p;
}

/* Parses an annotated hex file: hex byte pairs, '#' to end of line is a comment. */
static uint8_t *read_hex(const char *path, size_t *len)
{
	size_t n, out = 0;
	unsigned char *text = check_slurp(path, &n);
	uint8_t *bytes;
	bool comment = false;
	int nibble = -1;

	if (!text)
		return NULL;
	bytes = malloc(n / 2 + 1);
	for (size_t i = 0; i < n; i++) {
		int c = text[i], v;

		if (c == '\n')
			comment = false;
		if (comment || c == '#') {
			comment = true;
			continue;
		}
		if (c >= '0' && c <= '9')
			v = c - '0';
		else if (c >= 'a' && c <= 'f')
			v = c - 'a' + 10;
		else
			continue;
		if (nibble < 0) {
			nibble = v;
		} else {
			bytes[out++] = nibble << 4 | v;
			nibble = -1;
		}
	}
	free(text);
	*len = out;
	return bytes;
}

/* A header with fixed values, so that files built from it are the same on any host. */
static void fixed_header(struct tape_header *h)
{
	tape_header__init_host(h);
	h->byte_order = TAPE_LITTLE_ENDIAN;
	h->pointer_size = 8;
	h->page_size = 4096;
	tape_header__add_str(h, TAPE_CFG_TOOL, "bpftape test");
	tape_header__add_u32(h, TAPE_CFG_TARGET_PID, 100);
	tape_header__add_str(h, TAPE_CFG_CLOCK, "CLOCK_MONOTONIC");
}

/*
 * Writes the sample events nchunks times, one chunk per copy. Records the
 * file offset at which each chunk ends in ends[] (when given).
 */
static void write_samples(const char *path, int codec, int nchunks, uint64_t *ends)
{
	struct tape_writer_opts opts = { .codec = codec };
	struct tape_header h;
	struct tape_writer *w;
	int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0600);

	CHECK(fd >= 0);
	fixed_header(&h);
	CHECK(tape_writer__open(&w, fd, &h, &opts) == 0);
	for (int c = 0; c < nchunks; c++) {
		for (size_t i = 0; i < NSAMPLE_EVENTS; i++)
			CHECK(tape_writer__add(w, &sample_events[i]) == 0);
		CHECK(tape_writer__flush(w) == 0);
		if (ends)
			ends[c] = tape_writer__bytes(w);
	}
	CHECK(tape_writer__close(w) == 0);
	tape_header__free(&h);
	close(fd);
}

static void test_varint_bounds(void)
{
	static const uint64_t values[] = { 0, 1, 127, 128, 16383, 16384, UINT32_MAX,
					   1ull << 63, UINT64_MAX };
	static const int64_t svalues[] = { 0, -1, 1, -64, 63, -65, INT64_MIN, INT64_MAX };
	uint8_t buf[VARINT_MAX];

	for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		uint64_t v = 0;
		size_t n = varint_put(buf, values[i]);

		CHECK(varint_get(buf, buf + n, &v) == n && v == values[i]);
		CHECK(varint_get(buf, buf + n - 1, &v) == 0);	/* cut short */
	}
	for (size_t i = 0; i < sizeof(svalues) / sizeof(svalues[0]); i++)
		CHECK(unzigzag(zigzag(svalues[i])) == svalues[i]);
	/* Eleven continuation bytes, or a tenth byte above 1, overflow 64 bits. */
	memset(buf, 0xff, sizeof(buf));
	uint64_t v;
	CHECK(varint_get(buf, buf + sizeof(buf), &v) == 0);
}

static void test_records_match_golden(void)
{
	struct tape_encoder *e = tape_encoder__new();
	struct tape_raw_chunk c;
	size_t glen;
	uint8_t *golden = read_hex("tests/golden/records.hex", &glen);

	CHECK(golden && e);
	for (size_t i = 0; i < NSAMPLE_EVENTS; i++)
		CHECK(tape_encoder__add(e, &sample_events[i]) == 0);
	CHECK(tape_encoder__take(e, &c) == 1);
	CHECKF(c.len == glen, "encoded %zu bytes, golden has %zu", c.len, glen);
	for (size_t i = 0; i < glen; i++)
		CHECKF(c.data[i] == golden[i], "byte %zu: encoded %02x, golden %02x", i, c.data[i],
		       golden[i]);
	CHECK(c.nevents == NSAMPLE_EVENTS && c.first_ts == 900 && c.last_ts == 3500);
	tape_raw_chunk__free(&c);
	tape_encoder__free(e);
	free(golden);
}

struct expect {
	const struct tape_event *evs;
	size_t n, i;
};

static int check_next(const struct tape_event *ev, void *ctx)
{
	struct expect *x = ctx;

	CHECKF(x->i < x->n && events_equal(ev, &x->evs[x->i]), "record %zu of type %u differs",
	       x->i, ev->type);
	x->i++;
	return 0;
}

/* 1.1's records: every form of new and delete, probe and stack records, round-trip exactly. */
static void test_cxx_and_probe_records(void)
{
	static const uint64_t stack_frames[] = { 0x401000, 0x7f0000123456, 0x400800, 0 };
#define N(t, v, ...) { .type = t, .pid = 7, .tid = 8, .ts = 10, \
		       .alloc = { .variant = v, .caller = 0x401000, __VA_ARGS__ } }
	static const struct tape_event evs[] = {
		N(TAPE_EV_NEW, 0, .size = 40, .result = 0x1000),
		N(TAPE_EV_NEW, TAPE_VARIANT_ARRAY, .size = 400, .result = 0x2000),
		N(TAPE_EV_NEW, TAPE_VARIANT_NOTHROW, .size = 1ull << 60, .result = 0),
		N(TAPE_EV_NEW, TAPE_VARIANT_ALIGNED | TAPE_VARIANT_ARRAY, .size = 64, .align = 64,
		  .result = 0x3040),
		N(TAPE_EV_DELETE, 0, .ptr = 0x1000),
		N(TAPE_EV_DELETE, TAPE_VARIANT_SIZED | TAPE_VARIANT_ARRAY, .ptr = 0x2000, .size = 400),
		N(TAPE_EV_DELETE, TAPE_VARIANT_SIZED | TAPE_VARIANT_ALIGNED, .ptr = 0x3040,
		  .size = 64, .align = 64),
		N(TAPE_EV_DELETE, TAPE_VARIANT_NOTHROW, .ptr = 0),
		{ .type = TAPE_EV_PROBE, .pid = 7, .ts = 11,
		  .probe = { .build_id_len = 4, .build_id = sample_build_id, .path_len = 18,
			     .path = "/lib/libstdc++.so6" } },
		{ .type = TAPE_EV_STACK, .pid = 7, .ts = 12,
		  .stack = { .id = 3, .nframes = 4, .frames = stack_frames } },
		N(TAPE_EV_NEW, 0, .size = 48, .result = 0x5000, .stack = 3),
		N(TAPE_EV_DELETE, 0, .ptr = 0x5000, .stack = 1u << 30),
	};
#undef N
	struct tape_encoder *e = tape_encoder__new();
	struct expect x = { evs, sizeof(evs) / sizeof(evs[0]), 0 };
	struct tape_raw_chunk c;

	CHECK(e);
	for (size_t k = 0; k < x.n; k++)
		CHECK(tape_encoder__add(e, &evs[k]) == 0);
	CHECK(tape_encoder__take(e, &c) == 1);
	CHECK(tape_raw_chunk__each(&c, check_next, &x) == 0);
	CHECK(x.i == x.n);
	CHECK(tape_type_allocates(TAPE_EV_NEW) && tape_type_frees(TAPE_EV_DELETE) &&
	      !tape_type_allocates(TAPE_EV_DELETE) && tape_type_is_alloc(TAPE_EV_DELETE));
	tape_raw_chunk__free(&c);
	tape_encoder__free(e);
}

/* The events of tests/golden/stacks.hex, which was encoded apart from this code. */
#define SA(t, p, tt, time, ...) { .type = t, .pid = p, .tid = tt, .ts = time, \
				.alloc = { __VA_ARGS__ } }
static const uint64_t golden_frames1[] = { 0x401234, 0x401100, 0x7f0000001000 };
static const uint64_t golden_frames2[] = { 0x401300, 0x401100 };
static const struct tape_event golden_stack_events[] = {
	{ .type = TAPE_EV_STACK, .pid = 300, .tid = 301, .ts = 5000,
	  .stack = { .id = 1, .nframes = 3, .frames = golden_frames1 } },
	SA(TAPE_EV_MALLOC, 300, 301, 5100, .size = 32, .result = 0x2000, .caller = 0x401234,
	  .stack = 1),
	{ .type = TAPE_EV_STACK, .pid = 300, .tid = 302, .ts = 5200,
	  .stack = { .id = 2, .nframes = 2, .flags = TAPE_STACK_CUT, .frames = golden_frames2 } },
	SA(TAPE_EV_NEW, 300, 302, 5300, .size = 8, .result = 0x2040, .caller = 0x401300, .stack = 2),
	SA(TAPE_EV_FREE, 300, 301, 5400, .ptr = 0x2000, .caller = 0x401300, .stack = 200),
	SA(TAPE_EV_FREE, 300, 301, 5500, .ptr = 0x2040, .stack = 1),
};
#undef SA

/* Stack records and the allocator records that name them, byte for byte as FORMAT.md says. */
static void test_stack_records_match_golden(void)
{
	size_t n = sizeof(golden_stack_events) / sizeof(golden_stack_events[0]), glen;
	struct tape_encoder *e = tape_encoder__new();
	uint8_t *golden = read_hex("tests/golden/stacks.hex", &glen);
	struct expect x = { golden_stack_events, n, 0 };
	struct tape_raw_chunk c;

	CHECK(golden && e);
	for (size_t i = 0; i < n; i++)
		CHECK(tape_encoder__add(e, &golden_stack_events[i]) == 0);
	CHECK(tape_encoder__take(e, &c) == 1);
	CHECKF(c.len == glen, "encoded %zu bytes, golden has %zu", c.len, glen);
	for (size_t i = 0; i < glen; i++)
		CHECKF(c.data[i] == golden[i], "byte %zu: encoded %02x, golden %02x", i, c.data[i],
		       golden[i]);
	/* And the golden bytes decode to the events. */
	struct tape_raw_chunk g = { golden, glen, glen, n, 5000, 5500 };

	CHECK(tape_raw_chunk__each(&g, check_next, &x) == 0 && x.i == n);
	tape_raw_chunk__free(&c);
	tape_encoder__free(e);
	free(golden);
}

/* Decodes one framed record with the given frames buffer; returns the decoder's verdict. */
static int decode_one(const uint8_t *rec, size_t len, struct tape_event *ev)
{
	static struct tape_delta_state st;
	size_t used;

	memset(&st, 0, sizeof(st));

	return tape_decode_record(&st, rec, rec + len, ev, &used);
}

/*
 * Stack records at their limits: 128 frames with deltas of every size round
 * trip; 129 frames, or id 0, are malformed; flags are optional.
 */
static void test_stack_record_limits(void)
{
	static uint64_t frames[TAPE_STACK_MAX_FRAMES];
	static const uint8_t too_many[] = { 25, 6, 0, 0, 0, 1, 0x81, 0x01 };	/* 129 frames */
	static const uint8_t id_zero[] = { 25, 6, 0, 0, 0, 0, 1, 2 };
	static const uint8_t no_flags[] = { 25, 7, 0, 0, 0, 5, 2, 0x80, 0x01, 1 };	/* cut short */
	static const uint8_t two[] = { 25, 8, 2, 0, 0, 9, 2, 0x80, 0x01, 0x02 };
	struct tape_encoder *e = tape_encoder__new();
	struct tape_event ev = { .type = TAPE_EV_STACK, .pid = 1, .tid = 1, .ts = 1 }, out;
	struct tape_raw_chunk c;
	struct expect x = { &ev, 1, 0 };

	for (int i = 0; i < TAPE_STACK_MAX_FRAMES; i++)
		frames[i] = i % 3 == 0 ? UINT64_MAX - i : i % 3 == 1 ? (uint64_t)i << 40 : 0;
	ev.stack = (struct tape_stack){ .id = UINT32_MAX, .nframes = TAPE_STACK_MAX_FRAMES,
					.flags = TAPE_STACK_CUT | TAPE_STACK_PARTIAL, .frames = frames };
	CHECK(e && tape_encoder__add(e, &ev) == 0 && tape_encoder__take(e, &c) == 1);
	CHECK(tape_raw_chunk__each(&c, check_next, &x) == 0 && x.i == 1);
	tape_raw_chunk__free(&c);
	tape_encoder__free(e);

	CHECK(decode_one(too_many, sizeof(too_many), &out) == TAPE_DECODE_BAD);
	CHECK(decode_one(id_zero, sizeof(id_zero), &out) == TAPE_DECODE_BAD);
	CHECK(decode_one(no_flags, sizeof(no_flags), &out) == TAPE_DECODE_BAD);
	CHECK(decode_one(two, sizeof(two), &out) == TAPE_DECODE_OK);
	CHECK(out.pid == 1 && out.stack.id == 9 && out.stack.nframes == 2 && out.stack.flags == 0 &&
	      out.stack.frames[0] == 64 && out.stack.frames[1] == 65);
}

static void read_back_samples(const char *path, int nchunks)
{
	char msg[256];
	struct event_source *s;
	struct tape_event ev;
	size_t n = 0;

	CHECKF(event_source__open(&s, path, msg, sizeof(msg)) == 0, "%s", msg);
	CHECK(event_source__format(s) == SOURCE_NATIVE);
	while (event_source__next(s, &ev) == 1) {
		CHECKF(n < NSAMPLE_EVENTS * nchunks, "more events than written");
		CHECKF(events_equal(&ev, &sample_events[n % NSAMPLE_EVENTS]),
		       "event %zu (%s) differs", n, tape_type_name(ev.type));
		n++;
	}
	CHECK(n == NSAMPLE_EVENTS * nchunks);
	CHECK(!event_source__damage(s, msg, sizeof(msg)));
	CHECK(event_source__close(s, msg, sizeof(msg)) == 0);
}

static void test_roundtrip_every_kind_zstd(void)
{
	write_samples(tmp_path("rt.tape"), TAPE_CODEC_ZSTD, 3, NULL);
	read_back_samples(tmp_path("rt.tape"), 3);
}

static void test_roundtrip_every_kind_uncompressed(void)
{
	write_samples(tmp_path("rt0.tape"), TAPE_CODEC_NONE, 2, NULL);
	read_back_samples(tmp_path("rt0.tape"), 2);
}

/*
 * The committed tapes must still read: old tapes stay readable as the code
 * changes (sample.tape is format 1.0, written before 1.1 existed).
 */
static void test_committed_tape_reads(void)
{
	size_t len, glen;
	uint8_t *now, *golden;

	/* After a deliberate format change: BPFTAPE_WRITE_GOLDEN=1 rewrites the golden. */
	if (getenv("BPFTAPE_WRITE_GOLDEN"))
		write_samples("tests/golden/sample-1.1.tape", TAPE_CODEC_NONE, 2, NULL);
	golden = check_slurp("tests/golden/sample-1.1.tape", &glen);
	CHECK(golden);
	read_back_samples("tests/golden/sample.tape", 2);
	read_back_samples("tests/golden/sample-1.1.tape", 2);
	/* And this writer still produces the current version byte for byte. */
	write_samples(tmp_path("again.tape"), TAPE_CODEC_NONE, 2, NULL);
	now = check_slurp(tmp_path("again.tape"), &len);
	CHECK(len == glen && !memcmp(now, golden, len));
	free(now);
	free(golden);
}

static void test_header_roundtrip(void)
{
	struct tape_header h, back;
	uint8_t *buf;
	size_t len;
	char msg[128];
	char *argv[] = { "bpftape", "record", "-p", "42" };

	fixed_header(&h);
	CHECK(tape_header__add_argv(&h, TAPE_CFG_COMMAND_LINE, 4, argv) == 0);
	CHECK(tape_header__add_u32(&h, TAPE_CFG_TARGET_PID, 43) == 0);
	CHECK(tape_header__add_u64(&h, TAPE_CFG_ZERO_WALL_NS, 1700000000123456789ull) == 0);
	CHECK(tape_header__add(&h, 999, "future", 6) == 0);	/* a key from the future */
	CHECK(tape_header__encode(&h, &buf, &len) == 0);
	CHECK(len % 8 == 0);
	CHECK(tape_header__decode(buf, len, &back, msg, sizeof(msg)) == 0);
	CHECK(!back.checksum_bad);
	CHECK(back.nentries == h.nentries);
	CHECK(tape_header__u64(&back, TAPE_CFG_TARGET_PID, 0) == 100);
	CHECK(get_le32(tape_header__find(&back, TAPE_CFG_TARGET_PID, 1)->data) == 43);
	CHECK(tape_header__u64(&back, TAPE_CFG_ZERO_WALL_NS, 0) == 1700000000123456789ull);
	CHECK(tape_header__find(&back, TAPE_CFG_COMMAND_LINE, 0)->len == 21);
	CHECK(tape_config_key_name(999) == NULL);
	/* A flipped bit in a config value is noticed but not fatal. */
	tape_header__free(&back);
	buf[TAPE_HDR_FIXED + 9] ^= 1;
	CHECK(tape_header__decode(buf, len, &back, msg, sizeof(msg)) == 0);
	CHECK(back.checksum_bad);
	tape_header__free(&back);
	tape_header__free(&h);
	free(buf);
}

struct read_result {
	size_t events;
	bool order_ok;
	struct tape_damage damage;
	int open_err;
	char msg[256];
};

/*
 * Reads a tape from memory; checks that the events that come out are the
 * samples, in order, with whole chunks missing at most.
 */
static void read_memory(const uint8_t *data, size_t len, struct read_result *res)
{
	struct byte_input *in;
	struct tape_reader *r;
	struct tape_event ev;

	memset(res, 0, sizeof(*res));
	res->order_ok = true;
	CHECK(byte_input__from_memory(&in, data, len) == 0);
	res->open_err = tape_reader__open(&r, in, res->msg, sizeof(res->msg));
	if (res->open_err) {
		byte_input__close(in, NULL, 0);
		return;
	}
	size_t pos = 0;	/* position within a chunk's copy of the samples */
	while (tape_reader__next(r, &ev) == 1) {
		/* A chunk boundary may skip a whole chunk, so match from its start. */
		if (!events_equal(&ev, &sample_events[pos])) {
			if (pos != 0 && events_equal(&ev, &sample_events[0]))
				pos = 0;
			else
				res->order_ok = false;
		}
		pos = (pos + 1) % NSAMPLE_EVENTS;
		res->events++;
	}
	res->damage = *tape_reader__damage(r);
	tape_reader__close(r);
}

static void test_truncated_at_every_offset(void)
{
	enum { NCHUNKS = 4 };
	uint64_t ends[NCHUNKS];
	size_t len;
	uint8_t *file;
	uint32_t header_size;

	write_samples(tmp_path("trunc.tape"), TAPE_CODEC_ZSTD, NCHUNKS, ends);
	file = check_slurp(tmp_path("trunc.tape"), &len);
	CHECK(file && len == ends[NCHUNKS - 1]);
	header_size = get_le32(file + TAPE_HDR_OFF_SIZE);
	for (size_t cut = 0; cut <= len; cut++) {
		struct read_result res;
		size_t complete = 0;

		read_memory(file, cut, &res);
		if (cut < header_size) {
			CHECKF(res.open_err != 0, "cut at %zu inside the header opened", cut);
			CHECKF(strstr(res.msg, cut == 0 ? "empty" : cut < TAPE_MAGIC_LEN ?
				      "not a bpftape" : "cut off inside its header"),
			       "cut at %zu: message '%s'", cut, res.msg);
			continue;
		}
		CHECKF(res.open_err == 0, "cut at %zu: %s", cut, res.msg);
		for (int c = 0; c < NCHUNKS; c++)
			if (ends[c] <= cut)
				complete++;
		CHECKF(res.events == complete * NSAMPLE_EVENTS && res.order_ok,
		       "cut at %zu: %zu events, expected %zu", cut, res.events,
		       complete * NSAMPLE_EVENTS);
		bool at_boundary = cut == header_size;
		for (int c = 0; c < NCHUNKS; c++)
			at_boundary |= ends[c] == cut;
		if (at_boundary) {
			CHECKF(!res.damage.truncated_at && !res.damage.skipped_bytes,
			       "cut at boundary %zu reported damage", cut);
		} else {
			uint64_t start = complete ? ends[complete - 1] : header_size;

			CHECKF(res.damage.truncated_at == start &&
			       res.damage.truncated_bytes == cut - start,
			       "cut at %zu: truncated_at %llu bytes %llu (chunk starts at %llu)", cut,
			       (unsigned long long)res.damage.truncated_at,
			       (unsigned long long)res.damage.truncated_bytes,
			       (unsigned long long)start);
		}
	}
	free(file);
}

static void test_flipped_bits_are_caught(void)
{
	enum { NCHUNKS = 3 };
	uint64_t ends[NCHUNKS];
	size_t len;
	uint8_t *file;
	uint32_t header_size;

	write_samples(tmp_path("flip.tape"), TAPE_CODEC_ZSTD, NCHUNKS, ends);
	file = check_slurp(tmp_path("flip.tape"), &len);
	header_size = get_le32(file + TAPE_HDR_OFF_SIZE);
	for (size_t byte = header_size; byte < len; byte++) {
		for (int bit = 0; bit < 8; bit++) {
			struct read_result res;

			file[byte] ^= 1 << bit;
			read_memory(file, len, &res);
			file[byte] ^= 1 << bit;
			CHECK(res.open_err == 0);
			/* Exactly the chunk holding the flip is lost, and it is reported. */
			CHECKF(res.events == (NCHUNKS - 1) * NSAMPLE_EVENTS && res.order_ok,
			       "flip at %zu.%d: %zu events", byte, bit, res.events);
			CHECKF(res.damage.corrupt_chunks == 1 || res.damage.skipped_bytes > 0,
			       "flip at %zu.%d not reported", byte, bit);
		}
	}
	/* Flips in the file header: never a crash; either refused or read. */
	for (size_t byte = 0; byte < header_size; byte++) {
		struct read_result res;

		file[byte] ^= 0x10;
		read_memory(file, len, &res);
		file[byte] ^= 0x10;
		CHECK(res.open_err != 0 || res.events == NCHUNKS * NSAMPLE_EVENTS);
	}
	free(file);
}

static void test_unknown_version_refused(void)
{
	size_t len;
	uint8_t *file;
	struct read_result res;

	write_samples(tmp_path("v2.tape"), TAPE_CODEC_ZSTD, 1, NULL);
	file = check_slurp(tmp_path("v2.tape"), &len);
	put_le16(file + TAPE_HDR_OFF_VERSION_MAJOR, 2);
	read_memory(file, len, &res);
	CHECK(res.open_err == -EPROTONOSUPPORT);
	CHECKF(strstr(res.msg, "version 2.") && strstr(res.msg, "newer"), "%s", res.msg);
	/* A newer minor version reads. */
	put_le16(file + TAPE_HDR_OFF_VERSION_MAJOR, 1);
	put_le16(file + TAPE_HDR_OFF_VERSION_MINOR, 7);
	read_memory(file, len, &res);
	CHECK(res.open_err == 0 && res.events == NSAMPLE_EVENTS);
	free(file);
}

static void test_foreign_machine_named(void)
{
	struct tape_header h;
	char msg[256];

	tape_header__init_host(&h);
	CHECK(tape_header__matches_host(&h, msg, sizeof(msg)));
	h.byte_order = TAPE_BIG_ENDIAN;
	h.pointer_size = 4;
	CHECK(!tape_header__matches_host(&h, msg, sizeof(msg)));
	CHECKF(strstr(msg, "big-endian machine with 4-byte pointers") &&
	       strstr(msg, "little-endian with 8-byte pointers"), "%s", msg);
}

static void write_file(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0600);

	CHECK(fd >= 0 && write(fd, data, len) == (ssize_t)len);
	close(fd);
}

static void test_empty_file(void)
{
	struct event_source *s;
	char msg[256];

	write_file(tmp_path("empty.tape"), "", 0);
	CHECK(event_source__open(&s, tmp_path("empty.tape"), msg, sizeof(msg)) == -ENODATA);
	CHECKF(strstr(msg, "empty"), "%s", msg);
}

static void test_garbage_where_compressed_expected(void)
{
	static const uint8_t fake_gzip[] = { 0x1f, 0x8b, 0x08, 0x00, 'g', 'a', 'r', 'b', 'a',
					     'g', 'e', '!', 0, 0, 0, 0, 0, 0, 0, 0 };
	static const uint8_t fake_zstd[] = { 0x28, 0xb5, 0x2f, 0xfd, 'g', 'a', 'r', 'b', 'a',
					     'g', 'e', '!', 1, 2, 3, 4 };
	struct event_source *s;
	struct tape_event ev;
	char msg[256];
	int r;

	write_file(tmp_path("plain.gz"), "plain words", 11);
	CHECK(event_source__open(&s, tmp_path("plain.gz"), msg, sizeof(msg)) == -EBADMSG);
	CHECKF(strstr(msg, "expected gzip data"), "%s", msg);

	write_file(tmp_path("broken.gz"), fake_gzip, sizeof(fake_gzip));
	CHECK(event_source__open(&s, tmp_path("broken.gz"), msg, sizeof(msg)) != 0 ||
	      ((void)event_source__next(s, &ev),
	       event_source__close(s, msg, sizeof(msg)) == -EBADMSG));
	CHECKF(strstr(msg, "gzip"), "%s", msg);

	write_file(tmp_path("broken.zst"), fake_zstd, sizeof(fake_zstd));
	if (event_source__open(&s, tmp_path("broken.zst"), msg, sizeof(msg)) == 0) {
		r = event_source__next(s, &ev);
		CHECKF(r == -EBADMSG, "zstd garbage gave %d", r);
		event_source__close(s, msg, sizeof(msg));
	}
}

static void test_unknown_records_skipped(void)
{
	/* Hand-built: malloc, a record of unknown type 99, a malloc with two
	 * appended bytes (a later minor version's field), then a free. */
	static const uint8_t raw[] = {
		0x01, 0x07, 0x02, 0x02, 0x14, 0x04, 0x08, 0x80, 0x04,	/* malloc(8)=0x100 */
		0x63, 0x06, 0x00, 0x00, 0x0a, 0xff, 0xff, 0xff,		/* type 99, ts +5 */
		0x01, 0x09, 0x00, 0x00, 0x0a, 0x04, 0x10, 0x80, 0x08, 0xaa, 0xbb, /* malloc(16)=0x300 */
		0x0a, 0x05, 0x00, 0x00, 0x0a, 0x04, 0x00,		/* free(0x300) */
	};
	struct tape_raw_chunk c = { (uint8_t *)raw, sizeof(raw), sizeof(raw), 4, 10, 30 };
	struct tape_header h;
	struct tape_writer *w;
	struct event_source *s;
	struct tape_event ev;
	char msg[256];
	int fd = open(tmp_path("future.tape"), O_CREAT | O_TRUNC | O_WRONLY, 0600);

	fixed_header(&h);
	CHECK(tape_writer__open(&w, fd, &h, NULL) == 0);
	CHECK(tape_writer__write_chunk(w, &c) == 0);
	CHECK(tape_writer__close(w) == 0);
	close(fd);
	tape_header__free(&h);

	CHECK(event_source__open(&s, tmp_path("future.tape"), msg, sizeof(msg)) == 0);
	CHECK(event_source__next(s, &ev) == 1);
	CHECK(ev.type == TAPE_EV_MALLOC && ev.ts == 10 && ev.alloc.size == 8 &&
	      ev.alloc.result == 0x100);
	CHECK(event_source__next(s, &ev) == 1);
	CHECK(ev.type == TAPE_EV_MALLOC && ev.ts == 20 && ev.alloc.size == 16 &&
	      ev.alloc.result == 0x300);
	CHECK(event_source__next(s, &ev) == 1);
	CHECK(ev.type == TAPE_EV_FREE && ev.ts == 25 && ev.alloc.ptr == 0x300);
	CHECK(event_source__next(s, &ev) == 0);
	CHECK(event_source__tape_damage(s)->unknown_records == 1);
	event_source__close(s, NULL, 0);
}

/* What the mwrap reader gives back for a sample event mwrap can hold. */
static bool mwrap_expected(const struct tape_event *in, struct tape_event *out)
{
	const struct tape_alloc *a = &in->alloc;

	memset(out, 0, sizeof(*out));
	if (!tape_type_is_alloc(in->type))
		return false;
	if (in->type == TAPE_EV_FREE) {
		out->type = TAPE_EV_FREE;
		out->alloc.ptr = a->ptr;
		return a->ptr != 0;
	}
	/* realloc(p, 0) returning NULL freed p: a free in mwrap's terms. */
	if (in->type == TAPE_EV_REALLOC && a->ptr && !a->size && !a->result) {
		out->type = TAPE_EV_FREE;
		out->alloc.ptr = a->ptr;
		return true;
	}
	if (!a->result || (in->type == TAPE_EV_POSIX_MEMALIGN && a->err))
		return false;
	out->alloc.result = a->result;
	switch (in->type) {
	case TAPE_EV_MALLOC:
		out->type = TAPE_EV_MALLOC;
		out->alloc.size = a->size;
		break;
	case TAPE_EV_CALLOC:
		out->type = TAPE_EV_CALLOC;
		out->alloc.nmemb = 1;
		out->alloc.size = a->nmemb * a->size;
		break;
	case TAPE_EV_REALLOC:
	case TAPE_EV_REALLOCARRAY:
		out->type = TAPE_EV_REALLOC;
		out->alloc.ptr = a->ptr;
		out->alloc.size = in->type == TAPE_EV_REALLOC ? a->size : a->nmemb * a->size;
		break;
	case TAPE_EV_VALLOC:
		out->type = TAPE_EV_MEMALIGN;
		out->alloc.align = 4096;
		out->alloc.size = a->size;
		break;
	case TAPE_EV_PVALLOC:
		out->type = TAPE_EV_MEMALIGN;
		out->alloc.align = 4096;
		out->alloc.size = (a->size + 4095) / 4096 * 4096;
		break;
	default:
		out->type = TAPE_EV_MEMALIGN;
		out->alloc.align = a->align;
		out->alloc.size = a->size;
	}
	return true;
}

static void write_mwrap_samples(const char *path, enum byte_compression comp,
				struct mwrap_drops *drops)
{
	struct byte_output *o;
	struct mwrap_writer *w;
	char msg[256];
	int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0600);

	CHECK(fd >= 0);
	CHECKF(byte_output__open(&o, fd, comp, msg, sizeof(msg)) == 0, "%s", msg);
	CHECK(mwrap_writer__open(&w, o, 4096) == 0);
	for (size_t i = 0; i < NSAMPLE_EVENTS; i++)
		CHECK(mwrap_writer__add(w, &sample_events[i]) >= 0);
	*drops = *mwrap_writer__drops(w);
	mwrap_writer__free(w);
	CHECKF(byte_output__close(o, msg, sizeof(msg)) == 0, "%s", msg);
	close(fd);
}

static void check_mwrap_reads_back(const char *path)
{
	struct event_source *s;
	struct tape_event ev, want;
	char msg[256];
	size_t i = 0;

	CHECKF(event_source__open(&s, path, msg, sizeof(msg)) == 0, "%s", msg);
	CHECK(event_source__format(s) == SOURCE_MWRAP);
	while (event_source__next(s, &ev) == 1) {
		while (i < NSAMPLE_EVENTS && !mwrap_expected(&sample_events[i], &want))
			i++;
		CHECKF(i < NSAMPLE_EVENTS, "more mwrap records than expected");
		CHECKF(events_equal(&ev, &want), "mwrap record for sample %zu (%s) differs", i,
		       tape_type_name(sample_events[i].type));
		i++;
	}
	while (i < NSAMPLE_EVENTS && !mwrap_expected(&sample_events[i], &want))
		i++;
	CHECK(i == NSAMPLE_EVENTS);
	CHECK(!event_source__damage(s, msg, sizeof(msg)));
	CHECKF(event_source__close(s, msg, sizeof(msg)) == 0, "%s", msg);
}

static void test_mwrap_matches_golden(void)
{
	struct mwrap_drops drops;
	size_t len, glen;
	uint8_t *got, *golden = read_hex("tests/golden/mwrap.hex", &glen);

	write_mwrap_samples(tmp_path("sample.trace"), BYTE_RAW, &drops);
	got = check_slurp(tmp_path("sample.trace"), &len);
	CHECKF(len == glen, "wrote %zu bytes, golden has %zu", len, glen);
	for (size_t i = 0; i < len; i++)
		CHECKF(got[i] == golden[i], "byte %zu: wrote %02x, golden %02x", i, got[i],
		       golden[i]);
	CHECK(drops.failed == 2 && drops.free_null == 1 && drops.misaligned == 0);
	CHECK(drops.losses == 2 && drops.other == 12);
	check_mwrap_reads_back(tmp_path("sample.trace"));
	free(got);
	free(golden);
}

static void test_mwrap_compressed_roundtrips(void)
{
	static const char *const names[] = { "s.trace.gz", "s.trace.zst", "s.trace.bz2" };
	static const enum byte_compression comps[] = { BYTE_GZIP, BYTE_ZSTD, BYTE_BZIP2 };
	struct mwrap_drops drops;

	for (int i = 0; i < 3; i++) {
		write_mwrap_samples(tmp_path(names[i]), comps[i], &drops);
		check_mwrap_reads_back(tmp_path(names[i]));
	}
}

static void test_mwrap_bad_entries_and_truncation(void)
{
	uint64_t words[] = { 0x1002, 24, 0x2005 /* tag 5 */, 0x2000 /* free */, 0x3003, 0x1000 };
	struct event_source *s;
	struct tape_event ev;
	char msg[256];
	int n = 0;

	/* The last record (realloc, 3 words) is cut after 2 words. */
	write_file(tmp_path("bad.trace"), words, sizeof(words));
	CHECK(event_source__open(&s, tmp_path("bad.trace"), msg, sizeof(msg)) == 0);
	while (event_source__next(s, &ev) == 1)
		n++;
	CHECK(n == 2);
	CHECK(event_source__bad_entries(s) == 1);
	CHECK(event_source__damage(s, msg, sizeof(msg)));
	CHECKF(strstr(msg, "1 bad entries") && strstr(msg, "cut short (16 bytes)"), "%s", msg);
	event_source__close(s, NULL, 0);
}

/* Rows "| a | b | ..." of the first table after a heading line. */
static int doc_table(const char *doc, const char *heading, char rows[][3][64], int max)
{
	const char *p = strstr(doc, heading);
	int n = 0;

	if (!p)
		return -1;
	p = strstr(p, "\n|");
	while (p && p[1] == '|' && n < max) {
		const char *line = p + 1;
		const char *eol = strchr(line, '\n');
		char cell[3][64] = { "", "", "" };
		int col = -1;
		const char *c = line;

		while (c < eol && col < 3) {
			if (*c == '|') {
				col++;
				c++;
				while (*c == ' ')
					c++;
				if (col < 3) {
					size_t k = strcspn(c, "|");

					while (k && c[k - 1] == ' ')
						k--;
					snprintf(cell[col], 64, "%.*s", (int)k, c);
				}
				continue;
			}
			c++;
		}
		if (strncmp(cell[0], "---", 3) && strcmp(cell[0], "offset") &&
		    strcmp(cell[0], "type") && strcmp(cell[0], "key"))
			memcpy(rows[n++], cell, sizeof(cell));
		p = eol;
	}
	return n;
}

static void test_format_doc_agrees_with_code(void)
{
	size_t len;
	char *doc = (char *)check_slurp("docs/FORMAT.md", &len);
	char rows[64][3][64];
	int n;
	unsigned known = 0;

	CHECK(doc);
	doc = realloc(doc, len + 1);
	doc[len] = 0;

	n = doc_table(doc, "### Record types", rows, 64);
	CHECK(n > 0);
	for (int i = 0; i < n; i++) {
		unsigned type = atoi(rows[i][0]);

		CHECKF(!strcmp(tape_type_name(type), rows[i][1]), "doc says type %u is %s, code %s",
		       type, rows[i][1], tape_type_name(type));
		known++;
	}
	for (unsigned t = 1; t <= TAPE_EV_MAX_KNOWN; t++)
		if (strcmp(tape_type_name(t), "unknown"))
			known--;
	CHECKF(known == 0, "doc and code list different numbers of record types");

	static const struct { unsigned off, size; const char *field; } chunk_fields[] = {
		{ 0, 4, "magic" },
		{ TAPE_CHUNK_OFF_CODEC, 1, "codec" },
		{ TAPE_CHUNK_OFF_FLAGS, 1, "flags" },
		{ TAPE_CHUNK_OFF_HDR_SIZE, 2, "chunk header size" },
		{ TAPE_CHUNK_OFF_STORED, 4, "stored" },
		{ TAPE_CHUNK_OFF_RAW, 4, "raw" },
		{ TAPE_CHUNK_OFF_COUNT, 4, "number of events" },
		{ TAPE_CHUNK_OFF_FIRST_TS, 8, "smallest timestamp" },
		{ TAPE_CHUNK_OFF_LAST_TS, 8, "largest timestamp" },
		{ TAPE_CHUNK_OFF_CHECKSUM, 8, "checksum" },
		{ TAPE_CHUNK_OFF_HDR_CHECKSUM, 4, "header checksum" },
	};
	n = doc_table(doc, "## Chunks", rows, 64);
	CHECK(n == sizeof(chunk_fields) / sizeof(chunk_fields[0]));
	for (int i = 0; i < n; i++)
		CHECKF((unsigned)atoi(rows[i][0]) == chunk_fields[i].off &&
		       (unsigned)atoi(rows[i][1]) == chunk_fields[i].size &&
		       !strncmp(rows[i][2], chunk_fields[i].field, strlen(chunk_fields[i].field)),
		       "chunk header row %d: doc '%.60s | %.60s | %.60s'", i, rows[i][0], rows[i][1],
		       rows[i][2]);
	CHECK(TAPE_CHUNK_OFF_HDR_CHECKSUM + 4 == TAPE_CHUNK_HDR);

	static const unsigned header_offsets[] = {
		0, TAPE_HDR_OFF_VERSION_MAJOR, TAPE_HDR_OFF_VERSION_MINOR, TAPE_HDR_OFF_SIZE,
		TAPE_HDR_OFF_BYTE_ORDER, TAPE_HDR_OFF_POINTER_SIZE, TAPE_HDR_OFF_FLAGS,
		TAPE_HDR_OFF_PAGE_SIZE, TAPE_HDR_OFF_NENTRIES, TAPE_HDR_OFF_CHECKSUM,
	};
	n = doc_table(doc, "Fixed part, 32 bytes", rows, 64);
	CHECK(n == sizeof(header_offsets) / sizeof(header_offsets[0]));
	for (int i = 0; i < n; i++)
		CHECKF((unsigned)atoi(rows[i][0]) == header_offsets[i], "header row %d", i);

	n = doc_table(doc, "| key | name | value |", rows, 64);
	CHECK(n > 0);
	for (int i = 0; i < n; i++) {
		const char *name = tape_config_key_name(atoi(rows[i][0]));

		CHECKF(name && !strcmp(name, rows[i][1]), "config key %.60s", rows[i][0]);
	}
	free(doc);
}

int main(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "%s/bpftape-format-XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	RUN(test_varint_bounds);
	RUN(test_records_match_golden);
	RUN(test_cxx_and_probe_records);
	RUN(test_stack_records_match_golden);
	RUN(test_stack_record_limits);
	RUN(test_roundtrip_every_kind_zstd);
	RUN(test_roundtrip_every_kind_uncompressed);
	RUN(test_committed_tape_reads);
	RUN(test_header_roundtrip);
	RUN(test_truncated_at_every_offset);
	RUN(test_flipped_bits_are_caught);
	RUN(test_unknown_version_refused);
	RUN(test_foreign_machine_named);
	RUN(test_empty_file);
	RUN(test_garbage_where_compressed_expected);
	RUN(test_unknown_records_skipped);
	RUN(test_mwrap_matches_golden);
	RUN(test_mwrap_compressed_roundtrips);
	RUN(test_mwrap_bad_entries_and_truncation);
	RUN(test_format_doc_agrees_with_code);
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	if (system(cmd))
		return 1;
	return check_exit();
}
