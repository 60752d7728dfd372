/*
 * bpftape-replay: the replay engine. A lean binary (libc and libzstd only)
 * so that it can run under any allocator with LD_PRELOAD and its own
 * bookkeeping stays out of the measurement: the input is prepared in a
 * child process, into a memfd, and this process only maps it and replays.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "engine.h"
#include "event_source.h"
#include "parse.h"
#include "prepare.h"
#include "report.h"

#define EXIT_USAGE 2

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: bpftape-replay [OPTIONS] INPUT\n\n"
		"Replays the allocation calls of INPUT (a bpftape tape, an mwrap trace, raw or\n"
		".gz/.zst/.bz2, or a prepared file) against the allocator this process runs\n"
		"with, and measures time, resident memory and fragmentation. Choose the\n"
		"allocator with LD_PRELOAD, or let `bpftape replay --allocators` do it.\n\n"
		"Options:\n"
		"  --threads MODE     serial: the tape's order on one thread (mwrap's way);\n"
		"                     faithful: one thread per recorded thread, waiting only on\n"
		"                     real dependencies (default when the tape has threads)\n"
		"  --touch POLICY     page (default): write a byte in every page of each block;\n"
		"                     all: every byte, and wipe freed blocks; none: nothing\n"
		"  --pid PID          only this process (default: the whole process tree)\n"
		"  --prepare OUT      write the prepared form to OUT and stop; replay it later\n"
		"  --json             the report as one JSON object\n"
		"  --timeline FILE    resident and live bytes against op index, as CSV\n"
		"  --sample N         sample resident memory every N calls (default: ~1024 samples)\n"
		"  --hold SECONDS     keep the replayed heap afterwards (negative: until killed)\n"
		"  --label NAME       the allocator's name in the report\n"
		"  -h, --help         this help\n\n"
		"Examples:\n"
		"  bpftape-replay app.tape\n"
		"  LD_PRELOAD=libjemalloc.so.2 bpftape-replay --json app.tape\n"
		"  bpftape-replay --prepare app.prep app.tape && bpftape-replay app.prep\n");
}

struct options {
	struct engine_opts engine;
	struct prepare_opts prep;
	const char *prepare_out;
	const char *timeline;
	const char *label;
	const char *input;
	bool json;
	int image;		/* an exec continuing: the image to run */
	bool root;		/* ... in the process that carries its tree */
	int prepared_fd, results_fd;
	char *pass_on[16];	/* options a replayed exec passes to the next image */
	int npass;
};

static int bad(const char *opt, const char *value, const char *expected)
{
	fprintf(stderr, "bpftape-replay: invalid value '%s' for %s: %s\nTry 'bpftape-replay --help'.\n",
		value, opt, expected);
	return EXIT_USAGE;
}

static int parse(struct options *o, int argc, char **argv)
{
	enum { O_THREADS = 256, O_TOUCH, O_PID, O_PREPARE, O_JSON, O_TIMELINE, O_SAMPLE, O_HOLD,
	       O_LABEL, O_IMAGE, O_PFD, O_RFD, O_ROOT, O_NO_WAITS };
	static const struct option opts[] = {
		{ "threads", required_argument, NULL, O_THREADS },
		{ "touch", required_argument, NULL, O_TOUCH },
		{ "pid", required_argument, NULL, O_PID },
		{ "prepare", required_argument, NULL, O_PREPARE },
		{ "json", no_argument, NULL, O_JSON },
		{ "timeline", required_argument, NULL, O_TIMELINE },
		{ "sample", required_argument, NULL, O_SAMPLE },
		{ "hold", required_argument, NULL, O_HOLD },
		{ "label", required_argument, NULL, O_LABEL },
		{ "image", required_argument, NULL, O_IMAGE },
		{ "prepared-fd", required_argument, NULL, O_PFD },
		{ "results-fd", required_argument, NULL, O_RFD },
		{ "root", no_argument, NULL, O_ROOT },
		/* Diagnostics: shows what dependency waits prevent (tests use it). */
		{ "unsafe-no-waits", no_argument, NULL, O_NO_WAITS },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	uint64_t v;
	int c;

	memset(o, 0, sizeof(*o));
	o->engine.touch = TOUCH_PAGE;
	o->image = -1;
	o->prepared_fd = o->results_fd = -1;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case O_THREADS:
			if (!strcmp(optarg, "serial"))
				o->engine.threads = THREADS_SERIAL;
			else if (!strcmp(optarg, "faithful"))
				o->engine.threads = THREADS_FAITHFUL;
			else
				return bad("--threads", optarg, "expected serial or faithful");
			o->pass_on[o->npass++] = "--threads";
			o->pass_on[o->npass++] = optarg;
			break;
		case O_TOUCH:
			if (!strcmp(optarg, "none"))
				o->engine.touch = TOUCH_NONE;
			else if (!strcmp(optarg, "page"))
				o->engine.touch = TOUCH_PAGE;
			else if (!strcmp(optarg, "all"))
				o->engine.touch = TOUCH_ALL;
			else
				return bad("--touch", optarg, "expected none, page or all");
			o->pass_on[o->npass++] = "--touch";
			o->pass_on[o->npass++] = optarg;
			break;
		case O_PID:
			if (parse_u64(optarg, 1, UINT32_MAX, &v))
				return bad("--pid", optarg, "expected a process ID");
			o->prep.pid = v;
			break;
		case O_PREPARE:
			o->prepare_out = optarg;
			break;
		case O_JSON:
			o->json = true;
			break;
		case O_TIMELINE:
			o->timeline = optarg;
			break;
		case O_SAMPLE:
			if (parse_u64(optarg, 1, 1ull << 40, &v))
				return bad("--sample", optarg, "expected a positive count");
			o->engine.sample_every = v;
			o->pass_on[o->npass++] = "--sample";
			o->pass_on[o->npass++] = optarg;
			break;
		case O_HOLD:
			if (optarg[0] == '-' && atof(optarg) < 0)
				o->engine.hold_secs = -1;
			else if (parse_duration(optarg, 1e9, &o->engine.hold_secs))
				return bad("--hold", optarg, "expected seconds, or a negative number");
			o->engine.hold = true;
			o->pass_on[o->npass++] = "--hold";
			o->pass_on[o->npass++] = optarg;
			break;
		case O_ROOT:
			o->root = true;
			break;
		case O_NO_WAITS:
			o->engine.no_waits = true;
			o->pass_on[o->npass++] = "--unsafe-no-waits";
			break;
		case O_LABEL:
			o->label = optarg;
			break;
		case O_IMAGE:
		case O_PFD:
		case O_RFD:
			if (parse_u64(optarg, 0, INT32_MAX, &v))
				return bad("an internal option", optarg, "a number");
			*(c == O_IMAGE ? &o->image : c == O_PFD ? &o->prepared_fd : &o->results_fd) = v;
			break;
		case 'h':
			usage(stdout);
			return -1;
		default:
			fprintf(stderr, "Try 'bpftape-replay --help'.\n");
			return EXIT_USAGE;
		}
	}
	if (o->image >= 0)
		return 0;
	if (optind != argc - 1) {
		fprintf(stderr, "bpftape-replay: give one input (a tape, an mwrap trace or a prepared file)\n"
				"Try 'bpftape-replay --help'.\n");
		return EXIT_USAGE;
	}
	o->input = argv[optind];
	return 0;
}

static bool is_prepared(const char *path)
{
	char magic[PREPARED_MAGIC_LEN];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	bool yes = fd >= 0 && read(fd, magic, sizeof(magic)) == sizeof(magic) &&
		   !memcmp(magic, PREPARED_MAGIC, PREPARED_MAGIC_LEN);

	if (fd >= 0)
		close(fd);
	return yes;
}

/* Reads and prepares the input into fd; the damage, if any, into the header. */
static int prepare_into(const struct options *o, int fd, char *msg, size_t msglen)
{
	struct event_source *src;
	char damage[256], why[256];
	int err = event_source__open(&src, o->input, msg, msglen);

	if (err)
		return err;
	if (event_source__format(src) == SOURCE_NATIVE &&
	    !tape_header__matches_host(event_source__header(src), why, sizeof(why))) {
		snprintf(msg, msglen, "%s: %s: replay it on the same kind of machine", o->input, why);
		event_source__close(src, NULL, 0);
		return -EINVAL;
	}
	err = prepare(src, o->input, &o->prep, fd, msg, msglen);
	if (!err && event_source__damage(src, damage, sizeof(damage))) {
		/* The header is at the start of fd: patch its damage field. */
		struct prep_header h;

		if (pread(fd, &h, sizeof(h), 0) == sizeof(h)) {
			snprintf(h.damage, sizeof(h.damage), "%s", damage);
			if (pwrite(fd, &h, sizeof(h), 0) != sizeof(h))
				err = -EIO;
		}
		fprintf(stderr, "bpftape-replay: warning: %s is damaged: %s; replaying what was read\n",
			o->input, damage);
	}
	if (event_source__close(src, why, sizeof(why)) && !err) {
		snprintf(msg, msglen, "%s: %s", o->input, why);
		err = -EBADMSG;
	}
	return err;
}

/*
 * Prepares in a child process, so that the reader's buffers never touch
 * this process's heap: it replays from a pristine allocator.
 */
static int prepare_in_child(const struct options *o, int *out_fd, char *msg, size_t msglen)
{
	int fd = memfd_create("bpftape-prepared", 0), pipefd[2], status;
	ssize_t n;
	pid_t pid;

	if (fd < 0 || pipe2(pipefd, O_CLOEXEC)) {
		snprintf(msg, msglen, "cannot create the prepared form: %s", strerror(errno));
		return -errno;
	}
	pid = fork();
	if (pid < 0) {
		snprintf(msg, msglen, "cannot fork: %s", strerror(errno));
		return -errno;
	}
	if (pid == 0) {
		char why[512] = "";
		int err = prepare_into(o, fd, why, sizeof(why));

		if (err && write(pipefd[1], why, strlen(why)) < 0)
			_exit(1);
		_exit(err ? 1 : 0);
	}
	close(pipefd[1]);
	n = read(pipefd[0], msg, msglen - 1);
	msg[n > 0 ? n : 0] = 0;
	close(pipefd[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		if (!msg[0])
			snprintf(msg, msglen, "preparing %s failed (%s %d)", o->input,
				 WIFSIGNALED(status) ? "signal" : "status",
				 WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
		close(fd);
		return -EIO;
	}
	*out_fd = fd;
	return 0;
}

static int write_prepared_file(const struct options *o)
{
	char msg[512] = "";
	int fd = open(o->prepare_out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	struct prepared p;
	int err;

	if (fd < 0) {
		fprintf(stderr, "bpftape-replay: cannot create %s: %s\n", o->prepare_out, strerror(errno));
		return 1;
	}
	err = prepare_into(o, fd, msg, sizeof(msg));
	close(fd);
	if (!err) {
		fd = open(o->prepare_out, O_RDONLY | O_CLOEXEC);
		err = fd < 0 ? -errno : prepared__map(&p, fd, msg, sizeof(msg));
		if (fd >= 0)
			close(fd);
	}
	if (err) {
		fprintf(stderr, "bpftape-replay: %s\n", msg[0] ? msg : strerror(-err));
		unlink(o->prepare_out);
		return 1;
	}
	fprintf(stderr, "bpftape-replay: prepared %s: %llu calls of %u process images, %u threads, %llu slots\n",
		o->prepare_out, (unsigned long long)p.h->stats.ops, p.h->nprocesses, p.h->nthreads,
		(unsigned long long)p.h->nslots);
	prepared__unmap(&p);
	return 0;
}

static struct results *map_results(int fd, size_t size, bool create)
{
	void *m;

	if (create && ftruncate(fd, size))
		return NULL;
	m = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	return m == MAP_FAILED ? NULL : m;
}

int main(int argc, char **argv)
{
	struct options o;
	struct prepared p;
	struct results *res;
	struct exec_context exec;
	char msg[512] = "", *args[20];
	int r, fd = -1, rfd;
	size_t rsize;

	r = parse(&o, argc, argv);
	if (r)
		return r < 0 ? 0 : r;
	if (o.prepare_out) {
		if (is_prepared(o.input)) {
			fprintf(stderr, "bpftape-replay: %s is prepared already\n", o.input);
			return 1;
		}
		return write_prepared_file(&o);
	}
	if (o.image >= 0) {
		fd = o.prepared_fd;
	} else if (is_prepared(o.input)) {
		fd = open(o.input, O_RDONLY);
		if (fd < 0) {
			fprintf(stderr, "bpftape-replay: cannot open %s: %s\n", o.input, strerror(errno));
			return 1;
		}
	} else if (prepare_in_child(&o, &fd, msg, sizeof(msg))) {
		fprintf(stderr, "bpftape-replay: %s\n", msg);
		return 1;
	}
	if (prepared__map(&p, fd, msg, sizeof(msg))) {
		fprintf(stderr, "bpftape-replay: %s\n", msg);
		return 1;
	}
	/* Results are shared with the processes a replayed fork or exec makes. */
	o.engine.sample_every = engine_sample_every(&p, &o.engine);
	rsize = results_size(&p, o.engine.sample_every);
	rfd = o.image >= 0 ? o.results_fd : memfd_create("bpftape-results", 0);
	res = rfd >= 0 ? map_results(rfd, rsize, o.image < 0) : NULL;
	if (!res) {
		fprintf(stderr, "bpftape-replay: cannot share the results: %s\n", strerror(errno));
		return 1;
	}
	if (o.image < 0) {
		memset(res, 0, rsize);
		res->nprocesses = p.h->nprocesses;
		res->touch = o.engine.touch;
		res->sample_every = o.engine.sample_every;
	}
	for (int i = 0; i < o.npass; i++)
		args[i] = o.pass_on[i];
	args[o.npass] = NULL;
	exec = (struct exec_context){ "/proc/self/exe", args, fd, rfd };
	if (o.image >= 0) {
		r = engine_run(&p, o.image, o.root, &o.engine, res, &exec, msg, sizeof(msg));
		if (r)
			fprintf(stderr, "bpftape-replay: %s\n", msg);
		return r ? 1 : 0;
	}
	if (!p.h->nops)
		fprintf(stderr, "bpftape-replay: warning: %s holds no allocation calls to replay\n",
			o.input);
	pid_t pids[256];
	int npids = 0;

	r = engine_run_all(&p, &o.engine, res, &exec, pids, 256, &npids, msg, sizeof(msg));
	if (r)
		fprintf(stderr, "bpftape-replay: %s\n", msg);

	struct report_ctx rc = { &p, res, o.label, o.engine.touch };

	if (o.json)
		report_json(stdout, &rc);
	else
		report_text(stdout, &rc);
	fflush(stdout);
	if (o.timeline && report_timeline(o.timeline, &rc)) {
		fprintf(stderr, "bpftape-replay: cannot write %s: %s\n", o.timeline, strerror(errno));
		r = -EIO;
	}
	/* The replay processes exit after their trees (and any --hold). */
	for (int k = 0; k < npids; k++) {
		int status;

		if (pids[k] > 0)
			while (waitpid(pids[k], &status, 0) < 0 && errno == EINTR)
				;
	}
	return r || res->failed || p.h->damage[0] ? 1 : 0;
}
