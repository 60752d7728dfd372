/*
 * The one place command-line numbers are parsed, for every binary: ranges
 * are checked and trailing garbage is refused ("5x" is an error, not 5).
 */
#ifndef BPFTAPE_PARSE_H
#define BPFTAPE_PARSE_H

#include <stdbool.h>
#include <stdint.h>

/* A whole number in [min, max]; decimal or 0x hex. 0, -EINVAL or -ERANGE. */
int parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);
/* A size with an optional K, M or G suffix (powers of 1024), in [min, max] bytes. */
int parse_size(const char *s, uint64_t min, uint64_t max, uint64_t *out);
/* Seconds, fractional allowed, optional unit ns, us, ms, s, m, h; in [0, max_s]. */
int parse_duration(const char *s, double max_s, double *seconds);
/* A comma-separated list of u32 (PIDs); at most max of them. Returns the count or -errno. */
int parse_u32_list(const char *s, uint32_t *out, int max);
/* Does s appear in the comma-separated list? */
bool list_has(const char *list, const char *s);

#endif
