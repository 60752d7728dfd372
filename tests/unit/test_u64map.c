/* The hash map against a plain reference, through random inserts, updates and deletions. */
#include <stdint.h>

#include "check.h"
#include "u64map.h"

#define KEYS 4096

static uint64_t rng = 88172645463325252ull;

static uint64_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void test_matches_reference(void)
{
	static uint64_t keys[KEYS], values[KEYS];
	static bool present[KEYS];
	struct u64map m;
	size_t count = 0;

	u64map__init(&m);
	/* Pointer-like keys that collide in their low bits, and key 0. */
	for (int i = 0; i < KEYS; i++)
		keys[i] = i == 0 ? 0 : 0x7f0000000000ull + (next() % (KEYS * 4)) * 16;
	for (int step = 0; step < 400000; step++) {
		int i = next() % KEYS;
		uint64_t *v;

		switch (next() % 3) {
		case 0:
			values[i] = next();
			CHECK(u64map__put(&m, keys[i], values[i]) == 0);
			for (int j = 0; j < KEYS; j++)	/* duplicates share a value */
				if (keys[j] == keys[i])
					values[j] = values[i];
			if (!present[i]) {
				bool dup = false;

				for (int j = 0; j < KEYS; j++)
					dup |= j != i && present[j] && keys[j] == keys[i];
				count += !dup;
			}
			for (int j = 0; j < KEYS; j++)
				if (keys[j] == keys[i])
					present[j] = true;
			break;
		case 1: {
			uint64_t got;
			bool was = u64map__del(&m, keys[i], &got);

			CHECKF(was == present[i], "step %d: del of a key %s", step,
			       present[i] ? "present failed" : "absent succeeded");
			if (was) {
				CHECK(got == values[i]);
				count--;
			}
			for (int j = 0; j < KEYS; j++)
				if (keys[j] == keys[i])
					present[j] = false;
			break;
		}
		default:
			v = u64map__get(&m, keys[i]);
			CHECKF(!!v == present[i], "step %d: get of a key that is %s", step,
			       present[i] ? "present" : "absent");
			CHECK(!v || *v == values[i]);
		}
		CHECKF(m.count == count, "step %d: count %zu, expected %zu", step, m.count, count);
	}
	u64map__free(&m);
}

int main(void)
{
	RUN(test_matches_reference);
	return check_exit();
}
