/*
 * The demo workload: a small "service" whose allocation pattern is the kind
 * that bloats and fragments. Worker threads take requests; each request gets
 * a buffer, is parsed into small objects, builds a response that grows by
 * realloc, and leaves some objects in a shared cache. The cache evicts old
 * entries, so threads free each other's blocks, and long-lived cache entries
 * sit between short-lived ones: the heap fragments.
 *
 * Usage: demo_service [--threads N] [--requests N] [--seed N]
 * Deterministic for a given seed (per thread), whatever the scheduling.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CACHE_SLOTS 4096

struct object {
	uint32_t kind;
	uint32_t len;
	char data[];
};

static struct {
	pthread_mutex_t lock;
	struct object *entries[CACHE_SLOTS];
	uint64_t hits, stores;
} cache = { .lock = PTHREAD_MUTEX_INITIALIZER };

static int requests = 6000;

/* xorshift: each thread's sequence is its own. */
static uint32_t next_rand(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return (uint32_t)*s;
}

static struct object *make_object(uint32_t kind, uint32_t len)
{
	struct object *o = malloc(sizeof(*o) + len);

	if (!o)
		abort();
	o->kind = kind;
	o->len = len;
	memset(o->data, (int)kind, len);
	return o;
}

/* Stores o in the cache; what it replaces (another thread's, often) is freed. */
static void cache_store(uint32_t key, struct object *o)
{
	struct object *old;

	pthread_mutex_lock(&cache.lock);
	old = cache.entries[key % CACHE_SLOTS];
	cache.entries[key % CACHE_SLOTS] = o;
	cache.stores++;
	pthread_mutex_unlock(&cache.lock);
	free(old);
}

static void handle_request(uint64_t *rng)
{
	uint32_t size = 512 + next_rand(rng) % 16384, nobj = 4 + next_rand(rng) % 28;
	char *request = malloc(size), *response = NULL;
	struct object *objs[32];
	size_t resp_len = 0;

	if (!request)
		abort();
	memset(request, 'r', size);
	for (uint32_t i = 0; i < nobj; i++)
		objs[i] = make_object(i, 16 + next_rand(rng) % 240);
	/* The response grows as it is built. */
	for (uint32_t i = 0; i < nobj; i++) {
		size_t add = objs[i]->len * 2;
		char *grown = realloc(response, resp_len + add);

		if (!grown)
			abort();
		response = grown;
		memset(response + resp_len, 'x', add);
		resp_len += add;
	}
	/* Some objects live on in the cache; the rest go now. */
	for (uint32_t i = 0; i < nobj; i++) {
		if (next_rand(rng) % 5 == 0)
			cache_store(next_rand(rng), objs[i]);
		else
			free(objs[i]);
	}
	if (next_rand(rng) % 7 == 0) {
		/* A larger, aligned buffer now and then (an I/O path). */
		void *io = NULL;

		if (posix_memalign(&io, 4096, 64 * 1024) == 0) {
			memset(io, 0, 64 * 1024);
			free(io);
		}
	}
	free(response);
	free(request);
}

static void *worker(void *arg)
{
	uint64_t rng = 0x9e3779b97f4a7c15ull * ((uintptr_t)arg + 1);

	for (int i = 0; i < requests; i++)
		handle_request(&rng);
	return NULL;
}

int main(int argc, char **argv)
{
	int nthreads = 4;
	pthread_t th[64];

	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--threads"))
			nthreads = atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--requests"))
			requests = atoi(argv[i + 1]);
	}
	if (nthreads < 1 || nthreads > 64 || requests < 0) {
		fprintf(stderr, "usage: demo_service [--threads 1-64] [--requests N]\n");
		return 2;
	}
	for (long t = 0; t < nthreads; t++)
		pthread_create(&th[t], NULL, worker, (void *)t);
	for (int t = 0; t < nthreads; t++)
		pthread_join(th[t], NULL);
	for (int i = 0; i < CACHE_SLOTS; i++)
		free(cache.entries[i]);
	printf("demo_service: %d threads handled %d requests, %llu cache stores\n", nthreads,
	       nthreads * requests, (unsigned long long)cache.stores);
	return 0;
}
