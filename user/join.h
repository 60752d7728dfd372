/*
 * Joining a thread that reads what a target chooses (its memory through
 * /proc, files it maps, which a FUSE server it runs can hold up for as long
 * as it likes): stopping waits for it a bounded time, then goes on without
 * it; the process's exit ends it.
 */
#ifndef BPFTAPE_JOIN_H
#define BPFTAPE_JOIN_H

#include <pthread.h>
#include <stdbool.h>

#define JOIN_SECONDS 2.0

/* Joins thread within seconds; false (with a warning naming what) when it did not end. */
bool join_within(pthread_t thread, double seconds, const char *what);

#endif
