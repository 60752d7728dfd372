/*
 * bpftape replay: runs the replay engine (bpftape-replay, a binary of its own
 * so that it can be put under any allocator), once, or once per allocator
 * for a side-by-side comparison, with a plot.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "commands.h"
#include "svg_plot.h"

#define MAX_ALLOCATORS 8

/* The allocators Debian packages, by the names users know them by. */
static const struct {
	const char *name;
	const char *lib;	/* NULL: the libc the engine runs with */
	const char *package;
} known[] = {
	{ "glibc", NULL, "libc6" },
	{ "jemalloc", "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2", "libjemalloc2" },
	{ "mimalloc", "/usr/lib/x86_64-linux-gnu/libmimalloc.so.2", "libmimalloc2.0" },
	{ "tcmalloc", "/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4", "libtcmalloc-minimal4" },
};

struct allocator_run {
	char name[64];
	char lib[PATH_MAX];
	char json[8192];
	char timeline[PATH_MAX];
	bool ok;
	double wall_s, ns_per_call, peak_rss, final_rss, fragmentation, ops, empty;
	char emulated[128];
};

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: bpftape replay [OPTIONS] TAPE\n\n"
		"Replays the allocation calls of TAPE (a bpftape tape or an mwrap trace) offline,\n"
		"unprivileged, and measures time, resident memory and fragmentation. Runs the\n"
		"engine bpftape-replay; all its options apply (bpftape-replay --help):\n"
		"  --threads serial|faithful, --touch none|page|all, --pid PID, --json,\n"
		"  --timeline FILE, --sample N, --hold SECONDS, --prepare OUT\n\n"
		"Comparing allocators:\n"
		"  --allocators LIST  replay once per allocator and compare them side by side:\n"
		"                     glibc, jemalloc, mimalloc, tcmalloc (Debian's packages), or\n"
		"                     paths of allocator libraries\n"
		"  --plot FILE.svg    resident memory over the replay, one line per allocator\n\n"
		"Examples:\n"
		"  bpftape replay app.tape\n"
		"  bpftape replay --allocators glibc,jemalloc,mimalloc,tcmalloc --plot rss.svg app.tape\n"
		"  bpftape replay --threads serial --touch none mwrap.4242.trace.gz\n");
}

/* The engine: next to this binary, else in PATH. */
static int find_engine(char *out, size_t len)
{
	char self[PATH_MAX - 32];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (n > 0) {
		char *slash;

		self[n] = 0;
		slash = strrchr(self, '/');
		if (slash) {
			*slash = 0;
			snprintf(out, len, "%s/bpftape-replay", self);
			if (access(out, X_OK) == 0)
				return 0;
		}
	}
	for (char *p = getenv("PATH"), *end; p && *p; p = end ? end + 1 : NULL) {
		end = strchr(p, ':');
		snprintf(out, len, "%.*s/bpftape-replay", end ? (int)(end - p) : (int)strlen(p), p);
		if (access(out, X_OK) == 0)
			return 0;
		if (!end)
			break;
	}
	cli_error("cannot find bpftape-replay next to bpftape or in PATH");
	return -ENOENT;
}

static int resolve_allocator(const char *name, struct allocator_run *run)
{
	memset(run, 0, sizeof(*run));
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
		if (strcmp(known[i].name, name))
			continue;
		snprintf(run->name, sizeof(run->name), "%s", name);
		if (known[i].lib) {
			if (access(known[i].lib, R_OK)) {
				cli_error("%s is not installed: apt-get install %s (or make deps)", name,
					  known[i].package);
				return -ENOENT;
			}
			snprintf(run->lib, sizeof(run->lib), "%s", known[i].lib);
		}
		return 0;
	}
	if (strchr(name, '/')) {
		const char *base = strrchr(name, '/') + 1;

		if (access(name, R_OK)) {
			cli_error("allocator library %s: %s", name, strerror(errno));
			return -ENOENT;
		}
		snprintf(run->name, sizeof(run->name), "%.*s", (int)strcspn(base, "."), base);
		snprintf(run->lib, sizeof(run->lib), "%s", name);
		return 0;
	}
	cli_error("unknown allocator '%s': give glibc, jemalloc, mimalloc, tcmalloc or a library's path",
		  name);
	return -EINVAL;
}

/* Runs the engine with argv, LD_PRELOAD=lib, its stdout into out. Returns its status. */
static int run_engine(char *const argv[], const char *lib, char *out, size_t outlen)
{
	int fds[2], status;
	size_t len = 0;
	ssize_t n;
	pid_t pid;

	if (pipe(fds))
		return -errno;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		dup2(fds[1], 1);
		close(fds[0]);
		close(fds[1]);
		if (lib)
			setenv("LD_PRELOAD", lib, 1);
		else
			unsetenv("LD_PRELOAD");
		execv(argv[0], argv);
		_exit(127);
	}
	close(fds[1]);
	while ((n = read(fds[0], out + len, outlen - 1 - len)) > 0)
		len += n;
	out[len] = 0;
	close(fds[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* A number or string of the engine's flat JSON object. */
static double json_num(const char *json, const char *key)
{
	char pat[80];
	const char *p;

	snprintf(pat, sizeof(pat), "\"%s\":", key);
	p = strstr(json, pat);
	return p ? strtod(p + strlen(pat), NULL) : 0;
}

static void json_str(const char *json, const char *key, char *out, size_t len)
{
	char pat[80];
	const char *p;
	size_t n = 0;

	snprintf(pat, sizeof(pat), "\"%s\":\"", key);
	p = strstr(json, pat);
	out[0] = 0;
	if (!p)
		return;
	for (p += strlen(pat); *p && *p != '"' && n + 1 < len; p++) {
		if (*p == '\\' && p[1])
			p++;
		out[n++] = *p;
	}
	out[n] = 0;
}

/* One timeline CSV's first image with data: op index and resident bytes. */
static int read_timeline(const char *path, uint64_t **x, uint64_t **y, uint64_t **live, size_t *n)
{
	FILE *f = fopen(path, "r");
	char line[256];
	size_t cap = 0;
	unsigned image, pid, first = UINT32_MAX;

	*x = *y = *live = NULL;
	*n = 0;
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long op, rss, lv;

		if (sscanf(line, "%u,%u,%llu,%llu,%llu", &image, &pid, &op, &rss, &lv) != 5)
			continue;
		if (first == UINT32_MAX && op)
			first = image;
		if (image != first && first != UINT32_MAX)
			continue;
		if (*n == cap) {
			cap = cap ? cap * 2 : 1024;
			*x = realloc(*x, cap * sizeof(**x));
			*y = realloc(*y, cap * sizeof(**y));
			*live = realloc(*live, cap * sizeof(**live));
		}
		(*x)[*n] = op;
		(*y)[*n] = rss;
		(*live)[*n] = lv;
		(*n)++;
	}
	fclose(f);
	return 0;
}

static int plot(const char *path, const char *tape, struct allocator_run *runs, int n)
{
	struct plot_series series[MAX_ALLOCATORS], ref = { "live requested" };
	uint64_t *live[MAX_ALLOCATORS] = { NULL };
	char title[512];
	int k = 0, err;

	for (int i = 0; i < n; i++) {
		uint64_t *x, *y;
		size_t m;

		if (!runs[i].ok || read_timeline(runs[i].timeline, &x, &y, &live[k], &m))
			continue;
		series[k] = (struct plot_series){ runs[i].name, x, y, m };
		if (!ref.n)
			ref = (struct plot_series){ "live requested", x, live[k], m };
		k++;
	}
	snprintf(title, sizeof(title), "Resident heap while replaying %s", tape);
	err = svg_plot(path, title, series, k, ref.n ? &ref : NULL);
	for (int i = 0; i < k; i++) {
		free((void *)series[i].x);
		free((void *)series[i].y);
		free(live[i]);
	}
	return err;
}

static void print_table(const char *tape, struct allocator_run *runs, int n)
{
	double best_time = 0, best_peak = 0;
	char b1[32], b2[32];

	for (int i = 0; i < n; i++) {
		if (!runs[i].ok)
			continue;
		if (!best_time || runs[i].wall_s < best_time)
			best_time = runs[i].wall_s;
		if (!best_peak || runs[i].peak_rss < best_peak)
			best_peak = runs[i].peak_rss;
	}
	printf("bpftape replay: %s, %.0f calls each (* best)\n", tape, runs[0].ops);
	printf("%-12s %11s %9s %13s %13s %14s  %s\n", "allocator", "time", "ns/call", "peak heap",
	       "final heap", "fragmentation", "notes");
	for (int i = 0; i < n; i++) {
		struct allocator_run *r = &runs[i];

		if (!r->ok) {
			printf("%-12s %s\n", r->name, "failed (see above)");
			continue;
		}
		printf("%-12s %9.3f s%s %9.1f %12s%s %13s %14.2f  %s%s\n", r->name, r->wall_s,
		       r->wall_s == best_time ? "*" : " ", r->ns_per_call,
		       cli_bytes(b1, sizeof(b1), r->peak_rss), r->peak_rss == best_peak ? "*" : " ",
		       cli_bytes(b2, sizeof(b2), r->final_rss), r->fragmentation,
		       r->emulated[0] ? "emulated: " : "", r->emulated);
	}
}

static int compare(const char *engine, const char *list, const char *plot_path, bool json,
		   int argc, char **argv)
{
	struct allocator_run runs[MAX_ALLOCATORS];
	char dir[] = "/tmp/bpftape-replay.XXXXXX", prepared[PATH_MAX], msg[4096];
	char *copy = strdup(list), *save = NULL, *name, *args[64];
	const char *tape = argv[argc - 1];
	int n = 0, nargs = 0, status = EXIT_OK;

	for (name = strtok_r(copy, ",", &save); name; name = strtok_r(NULL, ",", &save)) {
		if (n == MAX_ALLOCATORS) {
			free(copy);
			return cli_usage("at most %d allocators", MAX_ALLOCATORS);
		}
		if (resolve_allocator(name, &runs[n++])) {
			free(copy);
			return EXIT_FAIL;
		}
	}
	free(copy);
	if (!mkdtemp(dir)) {
		cli_error("cannot create a temporary directory: %s", strerror(errno));
		return EXIT_FAIL;
	}
	/* Prepare once: every allocator replays the same prepared form. */
	snprintf(prepared, sizeof(prepared), "%s/prepared", dir);
	args[nargs++] = (char *)engine;
	for (int i = 0; i < argc - 1 && nargs < 50; i++)
		if (!strcmp(argv[i], "--pid"))
			args[nargs++] = argv[i], args[nargs++] = argv[++i];
	args[nargs++] = "--prepare";
	args[nargs++] = prepared;
	args[nargs++] = (char *)tape;
	args[nargs] = NULL;
	if (run_engine(args, NULL, msg, sizeof(msg))) {
		status = EXIT_FAIL;
		goto out;
	}
	for (int i = 0; i < n; i++) {
		struct allocator_run *r = &runs[i];
		int k = 0, st;

		fprintf(stderr, "bpftape replay: replaying against %s (%d/%d)\n", r->name, i + 1, n);
		snprintf(r->timeline, sizeof(r->timeline), "%s/%s.csv", dir, r->name);
		args[k++] = (char *)engine;
		for (int j = 0; j < argc - 1 && k < 50; j++) {
			if (!strcmp(argv[j], "--pid") || !strcmp(argv[j], "--timeline") ||
			    !strcmp(argv[j], "--label")) {
				j++;
				continue;
			}
			if (strcmp(argv[j], "--json"))
				args[k++] = argv[j];
		}
		args[k++] = "--json";
		args[k++] = "--timeline";
		args[k++] = r->timeline;
		args[k++] = "--label";
		args[k++] = r->name;
		args[k++] = prepared;
		args[k] = NULL;
		st = run_engine(args, r->lib[0] ? r->lib : NULL, r->json, sizeof(r->json));
		/* Status 1 with a report: damaged input, replayed as far as it went. */
		r->ok = (st == 0 || st == 1) && strstr(r->json, "\"tool\"");
		if (!r->ok) {
			cli_error("the replay against %s failed (status %d)", r->name, st);
			status = EXIT_FAIL;
			continue;
		}
		r->wall_s = json_num(r->json, "wall_s");
		r->ns_per_call = json_num(r->json, "ns_per_call");
		r->peak_rss = json_num(r->json, "peak_rss");
		r->final_rss = json_num(r->json, "final_rss");
		r->fragmentation = json_num(r->json, "fragmentation");
		r->ops = json_num(r->json, "ops");
		r->empty = json_num(r->json, "empty_releases");
		json_str(r->json, "emulated", r->emulated, sizeof(r->emulated));
	}
	if (json) {
		printf("[");
		for (int i = 0, k = 0; i < n; i++)
			if (runs[i].ok)
				printf("%s%.*s", k++ ? "," : "", (int)strcspn(runs[i].json, "\n"),
				       runs[i].json);
		printf("]\n");
	} else {
		print_table(tape, runs, n);
	}
	if (plot_path) {
		int err = plot(plot_path, tape, runs, n);

		if (err) {
			cli_error("cannot write %s: %s", plot_path, strerror(-err));
			status = EXIT_FAIL;
		} else {
			fprintf(stderr, "bpftape replay: wrote %s\n", plot_path);
		}
	}
out:
	snprintf(msg, sizeof(msg), "rm -rf '%s'", dir);
	if (system(msg)) {
		/* Leftovers in /tmp are harmless. */
	}
	return status;
}

int do_replay(int argc, char **argv)
{
	const char *allocators = NULL, *plot_path = NULL;
	char engine[PATH_MAX], *args[128];
	bool json = false;
	int n = 0;

	/* Our own options out; the engine's are passed through as they are. */
	args[n++] = engine;
	for (int i = 1; i < argc && n < 120; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			usage(stdout);
			return EXIT_OK;
		}
		if (!strcmp(argv[i], "--allocators") || !strcmp(argv[i], "--plot")) {
			if (i + 1 == argc)
				return cli_usage("%s needs a value", argv[i]);
			*(!strcmp(argv[i], "--plot") ? &plot_path : &allocators) = argv[i + 1];
			i++;
			continue;
		}
		if (!strncmp(argv[i], "--allocators=", 13)) {
			allocators = argv[i] + 13;
			continue;
		}
		json |= !strcmp(argv[i], "--json");
		args[n++] = argv[i];
	}
	args[n] = NULL;
	if (n < 2 || args[n - 1][0] == '-')
		return cli_usage("which tape? give one file");
	if (plot_path && !allocators)
		return cli_usage("--plot draws a comparison: give --allocators too");
	if (find_engine(engine, sizeof(engine)))
		return EXIT_FAIL;
	if (!allocators) {
		execv(engine, args);
		cli_error("cannot run %s: %s", engine, strerror(errno));
		return EXIT_FAIL;
	}
	return compare(engine, allocators, plot_path, json, n - 1, args + 1);
}
