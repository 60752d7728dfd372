/* SVG line plots, written by hand: a few polylines, axes and a legend. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "svg_plot.h"

#define W 900
#define H 520
#define LEFT 90
#define RIGHT 190
#define TOP 50
#define BOTTOM 60

static const char *const colors[] = { "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e",
				      "#9467bd", "#8c564b", "#e377c2", "#17becf" };

/* A round step for about n ticks over [0, max]. */
static double tick_step(double max, int n)
{
	double raw = max / n, mag = 1, steps[] = { 1, 2, 2.5, 5, 10 };

	while (mag * 10 <= raw)
		mag *= 10;
	while (mag > raw && mag > 1e-9)
		mag /= 10;
	for (int i = 0; i < 5; i++)
		if (steps[i] * mag >= raw)
			return steps[i] * mag;
	return 10 * mag;
}

static void escape(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '<')
			fputs("&lt;", f);
		else if (*s == '>')
			fputs("&gt;", f);
		else if (*s == '&')
			fputs("&amp;", f);
		else
			fputc(*s, f);
	}
}

static void polyline(FILE *f, const struct plot_series *s, double xmax, double ymax,
		     const char *color, const char *dash)
{
	fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\"%s points=\"", color, dash);
	for (size_t i = 0; i < s->n; i++)
		fprintf(f, "%.1f,%.1f ", LEFT + (W - LEFT - RIGHT) * (xmax ? s->x[i] / xmax : 0),
			H - BOTTOM - (H - TOP - BOTTOM) * (ymax ? s->y[i] / ymax : 0));
	fprintf(f, "\"/>\n");
}

int svg_plot(const char *path, const char *title, const struct plot_series *series, size_t nseries,
	     const struct plot_series *reference)
{
	double xmax = 0, ymax = 0, step;
	FILE *f = fopen(path, "w");

	if (!f)
		return -errno;
	for (size_t i = 0; i <= nseries; i++) {
		const struct plot_series *s = i < nseries ? &series[i] : reference;

		for (size_t k = 0; s && k < s->n; k++) {
			if (s->x[k] > xmax)
				xmax = s->x[k];
			if (s->y[k] > ymax)
				ymax = s->y[k];
		}
	}
	ymax = ymax ? ymax * 1.05 / 1048576.0 : 1;
	step = tick_step(ymax, 6);
	ymax = step * (int)(ymax / step + 1);
	ymax *= 1048576.0;
	fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		   "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
		   "viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" font-size=\"13\">\n"
		   "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n", W, H, W, H);
	fprintf(f, "<text x=\"%d\" y=\"28\" font-size=\"16\" font-weight=\"bold\">", LEFT);
	escape(f, title);
	fprintf(f, "</text>\n");
	/* Axes, grid and labels. */
	for (double v = 0; v <= ymax / 1048576.0 + 1e-9; v += step) {
		double y = H - BOTTOM - (H - TOP - BOTTOM) * (v * 1048576.0 / ymax);

		fprintf(f, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#ddd\"/>\n", LEFT,
			y, W - RIGHT, y);
		fprintf(f, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%g</text>\n", LEFT - 8,
			y + 4, v);
	}
	step = tick_step(xmax ? xmax : 1, 6);
	for (double v = 0; v <= xmax + 1e-9 && xmax; v += step) {
		double x = LEFT + (W - LEFT - RIGHT) * (v / xmax);

		fprintf(f, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#999\"/>\n", x,
			H - BOTTOM, x, H - BOTTOM + 5);
		fprintf(f, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%g</text>\n", x,
			H - BOTTOM + 20, v);
	}
	fprintf(f, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"black\"/>\n", LEFT,
		H - BOTTOM, W - RIGHT, H - BOTTOM);
	fprintf(f, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"black\"/>\n", LEFT, TOP,
		LEFT, H - BOTTOM);
	fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">allocator calls replayed</text>\n",
		(W - RIGHT + LEFT) / 2, H - 15);
	fprintf(f, "<text x=\"20\" y=\"%d\" text-anchor=\"middle\" transform=\"rotate(-90 20 %d)\">"
		   "resident heap (MiB)</text>\n", (H - BOTTOM + TOP) / 2, (H - BOTTOM + TOP) / 2);
	if (reference)
		polyline(f, reference, xmax, ymax, "#555", " stroke-dasharray=\"6 4\"");
	for (size_t i = 0; i < nseries; i++)
		polyline(f, &series[i], xmax, ymax, colors[i % 8], "");
	/* Legend. */
	for (size_t i = 0; i <= nseries; i++) {
		const char *name = i < nseries ? series[i].name : reference ? "live requested" : NULL;
		int y = TOP + 20 + 24 * (int)i;

		if (!name)
			break;
		fprintf(f, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"%s\" stroke-width=\"3\"%s/>\n",
			W - RIGHT + 20, y, W - RIGHT + 50, y, i < nseries ? colors[i % 8] : "#555",
			i < nseries ? "" : " stroke-dasharray=\"6 4\"");
		fprintf(f, "<text x=\"%d\" y=\"%d\">", W - RIGHT + 58, y + 4);
		escape(f, name);
		fprintf(f, "</text>\n");
	}
	fprintf(f, "</svg>\n");
	return fclose(f) ? -errno : 0;
}
