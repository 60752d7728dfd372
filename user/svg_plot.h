/* A line plot as a standalone SVG file: resident memory against op index, per allocator. */
#ifndef BPFTAPE_SVG_PLOT_H
#define BPFTAPE_SVG_PLOT_H

#include <stddef.h>
#include <stdint.h>

struct plot_series {
	const char *name;
	const uint64_t *x;	/* op index */
	const uint64_t *y;	/* bytes */
	size_t n;
};

/* Writes the plot; a dashed series (live requested bytes) may be given too. */
int svg_plot(const char *path, const char *title, const struct plot_series *series, size_t nseries,
	     const struct plot_series *reference);

#endif
