/*
 * Checks an mwrap trace against tests/workloads/alloc_workload's log: read
 * back through the project's own mwrap reader, the trace must replay with
 * zero misses (no free or realloc of a block it never saw, no address handed
 * out twice while live), and every successful call of the log must be in it
 * as the record mwrap would have written.
 *
 * One exception is the format's own: glibc's realloc(p, 0) frees p and
 * returns NULL, for which mwrap writes nothing, so p may be handed out again
 * while the trace still holds it. Only addresses the log shows so released
 * may be.
 *
 * Usage: check_mwrap TRACE LOG [PAGE_SIZE]
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event_source.h"
#include "mwrap.h"
#include "u64map.h"

/* A record as a key: its tag and words, mixed. */
static uint64_t record_key(unsigned tag, uint64_t a, uint64_t b, uint64_t c)
{
	uint64_t h = 0x9e3779b97f4a7c15ull * (tag + 1);

	h ^= a + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
	h ^= b + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
	h ^= c + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
	return h ? h : 1;
}

/* The key of the mwrap record for a tape event (as the reader returns it). */
static uint64_t event_key(const struct tape_event *ev)
{
	const struct tape_alloc *a = &ev->alloc;

	switch (ev->type) {
	case TAPE_EV_FREE:
		return record_key(MWRAP_FREE, a->ptr, 0, 0);
	case TAPE_EV_MALLOC:
		return record_key(MWRAP_MALLOC, a->result, a->size, 0);
	case TAPE_EV_CALLOC:
		return record_key(MWRAP_CALLOC, a->result, a->nmemb * a->size, 0);
	case TAPE_EV_REALLOC:
		return record_key(MWRAP_REALLOC, a->result, a->ptr, a->size);
	default:
		return record_key(MWRAP_MEMALIGN, a->result, a->align, a->size);
	}
}

int main(int argc, char **argv)
{
	uint64_t page = argc > 3 ? strtoull(argv[3], NULL, 0) : 4096;
	struct u64map live, seen;
	struct event_source *src;
	struct tape_event ev;
	uint64_t records = 0, misses = 0, doubles = 0, missing = 0, expected = 0;
	struct u64map released;	/* addresses of realloc(p, 0) = NULL in the log */
	char msg[512], line[512], func[64];
	FILE *log;

	if (argc < 3)
		return 2;
	u64map__init(&live);
	u64map__init(&seen);
	u64map__init(&released);
	log = fopen(argv[2], "r");
	if (!log)
		return 2;
	while (fgets(line, sizeof(line), log)) {
		uint64_t tid, ptr, size, nmemb, align, result, err;

		if (sscanf(line, "%" SCNx64 " %63s %" SCNx64 " %" SCNx64 " %" SCNx64 " %" SCNx64
			   " %" SCNx64 " %" SCNx64, &tid, func, &ptr, &size, &nmemb, &align, &result,
			   &err) == 8 && !strcmp(func, "realloc") && ptr && !size && !result)
			u64map__put(&released, ptr, 1);
	}
	rewind(log);
	if (event_source__open(&src, argv[1], msg, sizeof(msg))) {
		printf("%s\n", msg);
		return 1;
	}
	if (event_source__format(src) != SOURCE_MWRAP) {
		printf("%s is not an mwrap trace\n", argv[1]);
		return 1;
	}
	while (event_source__next(src, &ev) == 1) {
		uint64_t *n, k = event_key(&ev);

		records++;
		n = u64map__get(&seen, k);
		u64map__put(&seen, k, n ? *n + 1 : 1);
		/* Replay bookkeeping, as mwrap's replay tool keeps it. */
		if (ev.type == TAPE_EV_FREE || (ev.type == TAPE_EV_REALLOC && ev.alloc.ptr))
			if (!u64map__del(&live, ev.alloc.ptr, NULL))
				misses++;
		if (ev.type != TAPE_EV_FREE) {
			if (u64map__get(&live, ev.alloc.result) &&
			    !u64map__get(&released, ev.alloc.result))
				doubles++;
			u64map__put(&live, ev.alloc.result, 1);
		}
	}
	if (event_source__damage(src, msg, sizeof(msg))) {
		printf("the trace is damaged: %s\n", msg);
		return 1;
	}
	event_source__close(src, NULL, 0);

	while (fgets(line, sizeof(line), log)) {
		struct tape_event want = { 0 };
		uint64_t tid, err, *n;

		if (sscanf(line, "%" SCNx64 " %63s %" SCNx64 " %" SCNx64 " %" SCNx64 " %" SCNx64
			   " %" SCNx64 " %" SCNx64, &tid, func, &want.alloc.ptr, &want.alloc.size,
			   &want.alloc.nmemb, &want.alloc.align, &want.alloc.result, &err) != 8)
			continue;
		want.type = tape_type_from_name(!strcmp(func, "free-pre-attach") ? "free" : func);
		/* mwrap writes nothing for failures and free(NULL). */
		if (want.type == TAPE_EV_FREE ? !want.alloc.ptr : !want.alloc.result || err)
			continue;
		/* The forms mwrap folds together, as its writer does. */
		if (want.type == TAPE_EV_REALLOCARRAY) {
			want.type = TAPE_EV_REALLOC;
			want.alloc.size *= want.alloc.nmemb;
		} else if (want.type == TAPE_EV_VALLOC || want.type == TAPE_EV_PVALLOC) {
			if (want.type == TAPE_EV_PVALLOC)
				want.alloc.size = (want.alloc.size + page - 1) / page * page;
			want.type = TAPE_EV_MEMALIGN;
			want.alloc.align = page;
		}
		expected++;
		n = u64map__get(&seen, event_key(&want));
		if (!n || !*n) {
			printf("not in the trace: %s", line);
			missing++;
		} else {
			(*n)--;
		}
	}
	fclose(log);
	if (misses || doubles || missing) {
		printf("FAILED: %" PRIu64 " misses, %" PRIu64 " addresses handed out while live, %" PRIu64
		       " logged calls missing (of %" PRIu64 " records)\n",
		       misses, doubles, missing, records);
		return 1;
	}
	printf("ok: %" PRIu64 " records replay with zero misses; all %" PRIu64 " logged calls present\n",
	       records, expected);
	return 0;
}
