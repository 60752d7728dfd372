/*
 * The stat benchmark's input and baseline.
 *
 *   synth_tape write OUT N   a tape of N allocator events shaped like a real
 *                            service's: 8 threads, sizes from a skewed mix,
 *                            blocks living a while, 64 call sites
 *   synth_tape inflate TAPE  only reads, checks and decompresses every chunk
 *                            (no decoding): the floor that stat is held to
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include "bench.h"
#include "bytes.h"
#include "tape.h"
#include "tape_format.h"

#define LIVE 4096	/* blocks live at once, per thread */
#define THREADS 8

static uint64_t rng(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static int write_tape(const char *out, uint64_t n)
{
	static uint64_t live[THREADS][LIVE];
	uint64_t seed = 88172645463325252ull, next_addr = 0x10000, ts = 0;
	struct tape_writer *w;
	struct tape_header h;
	int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	if (fd < 0) {
		perror(out);
		return 1;
	}
	tape_header__init_host(&h);
	tape_header__add_str(&h, TAPE_CFG_TOOL, "synth_tape");
	if (tape_writer__open(&w, fd, &h, NULL))
		return 1;
	for (uint64_t i = 0; i < n; i++) {
		uint64_t r = rng(&seed);
		unsigned t = r % THREADS, k = (r >> 8) % LIVE;
		struct tape_event ev = { .pid = 1000, .tid = 1000 + t };

		ts += 50 + (r >> 40) % 200;
		ev.ts = ts;
		ev.alloc.caller = 0x400000 + ((r >> 20) % 64) * 0x40;
		if (live[t][k]) {
			ev.type = TAPE_EV_FREE;
			ev.alloc.ptr = live[t][k];
			ev.alloc.size = 0;
			live[t][k] = 0;
		} else {
			ev.type = TAPE_EV_MALLOC;
			ev.alloc.size = (r >> 32) % 8 ? 16 + (r >> 50) % 256 : 4096 + (r >> 45) % 65536;
			ev.alloc.result = next_addr;
			next_addr += (ev.alloc.size + 15) & ~15ull;
			live[t][k] = ev.alloc.result;
		}
		if (tape_writer__add(w, &ev))
			return 1;
	}
	if (tape_writer__close(w) || close(fd))
		return 1;
	tape_header__free(&h);
	return 0;
}

/* Every chunk: header check, payload checksum, decompression; nothing decoded. */
static int inflate_tape(const char *path)
{
	struct stat st;
	int fd = open(path, O_RDONLY);
	const uint8_t *d, *p, *end;
	uint64_t chunks = 0, events = 0, raw_total = 0;
	void *buf = malloc(TAPE_CHUNK_RAW_MAX);
	double t0 = bench_now();

	if (fd < 0 || fstat(fd, &st) || !buf)
		return 1;
	d = mmap(NULL, st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (d == MAP_FAILED)
		return 1;
	end = d + st.st_size;
	p = d + get_le32(d + TAPE_HDR_OFF_SIZE);
	while (p + TAPE_CHUNK_HDR <= end) {
		uint32_t stored = get_le32(p + TAPE_CHUNK_OFF_STORED), raw = get_le32(p + TAPE_CHUNK_OFF_RAW);
		const uint8_t *payload = p + get_le16(p + TAPE_CHUNK_OFF_HDR_SIZE);

		if (payload + stored > end || tape_checksum(payload, stored) !=
						      get_le64(p + TAPE_CHUNK_OFF_CHECKSUM))
			return 1;
		if (p[TAPE_CHUNK_OFF_CODEC] == TAPE_CODEC_ZSTD &&
		    ZSTD_decompress(buf, TAPE_CHUNK_RAW_MAX, payload, stored) != raw)
			return 1;
		events += get_le32(p + TAPE_CHUNK_OFF_COUNT);
		raw_total += raw;
		chunks++;
		p = payload + stored;
	}
	printf("events %llu chunks %llu raw %llu seconds %.6f\n", (unsigned long long)events,
	       (unsigned long long)chunks, (unsigned long long)raw_total, bench_now() - t0);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 4 && !strcmp(argv[1], "write"))
		return write_tape(argv[2], strtoull(argv[3], NULL, 10));
	if (argc == 3 && !strcmp(argv[1], "inflate"))
		return inflate_tape(argv[2]);
	fprintf(stderr, "usage: synth_tape write OUT N | synth_tape inflate TAPE\n");
	return 2;
}
