/*
 * Builds a tape (or an mwrap trace) from a text description, for tests with
 * known answers. One event per line; '#' starts a comment; numbers in any
 * base strtoull reads:
 *
 *   TS PID TID malloc SIZE RESULT [CALLER [STACK]]
 *   TS PID TID calloc NMEMB SIZE RESULT [CALLER [STACK]]
 *   TS PID TID realloc PTR SIZE RESULT [CALLER [STACK]]
 *   TS PID TID reallocarray PTR NMEMB SIZE RESULT [CALLER [STACK]]
 *   TS PID TID posix_memalign ALIGN SIZE RESULT ERR [CALLER [STACK]]
 *   TS PID TID aligned_alloc|memalign ALIGN SIZE RESULT [CALLER [STACK]]
 *   TS PID TID valloc|pvalloc SIZE RESULT [CALLER [STACK]]
 *   TS PID TID new SIZE RESULT [CALLER [STACK]]
 *   TS PID TID free|delete PTR [CALLER [STACK]]
 *   TS PID TID stack ID [cut] [partial] FRAME...   (innermost first; at most 128)
 *   TS PID TID syscall NR RET DURATION [PATH]
 *   TS PID TID fork CHILD_PID CHILD_TID [thread]
 *   TS PID TID exec FILENAME
 *   TS PID TID exit CODE [process]
 *   TS PID TID comm NAME
 *   TS PID TID map START END OFFSET PATH [BUILD_ID_HEX]
 *   TS PID TID loss TYPE REASON COUNT FIRST_TS
 *
 * Usage: make_tape IN.txt OUT [--mwrap] [--foreign] [--chunk N]
 *   --mwrap    write an mwrap trace (compressed by OUT's suffix)
 *   --foreign  claim a big-endian machine with 4-byte pointers in the header
 *   --chunk N  close a chunk every N events (default: by size)
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "byte_output.h"
#include "mwrap.h"
#include "tape.h"

static uint64_t num(char **save)
{
	char *t = strtok_r(NULL, " \t\n", save);

	return t ? strtoull(t, NULL, 0) : 0;
}

static char *word(char **save)
{
	return strtok_r(NULL, " \t\n", save);
}

static int parse_line(char *line, struct tape_event *ev, char *strings, uint8_t *id,
		      uint64_t *frames)
{
	char *save = NULL, *t = strtok_r(line, " \t\n", &save), *name, *s;
	struct tape_alloc *a = &ev->alloc;

	memset(ev, 0, sizeof(*ev));
	if (!t || *t == '#')
		return 0;
	ev->ts = strtoull(t, NULL, 0);
	ev->pid = num(&save);
	ev->tid = num(&save);
	name = word(&save);
	if (!name)
		return -1;
	ev->type = tape_type_from_name(name);
	if (!strcmp(name, "aligned_alloc") || !strcmp(name, "memalign") ||
	    !strcmp(name, "posix_memalign")) {
		a->align = num(&save);
		a->size = num(&save);
		a->result = num(&save);
		if (ev->type == TAPE_EV_POSIX_MEMALIGN)
			a->err = num(&save);
		a->caller = num(&save);
		a->stack = num(&save);
		return 1;
	}
	switch (ev->type) {
	case TAPE_EV_STACK:
		ev->stack.id = num(&save);
		ev->stack.frames = frames;
		while ((s = word(&save)) && *s != '#') {
			if (!strcmp(s, "cut"))
				ev->stack.flags |= TAPE_STACK_CUT;
			else if (!strcmp(s, "partial"))
				ev->stack.flags |= TAPE_STACK_PARTIAL;
			else if (ev->stack.nframes < TAPE_STACK_MAX_FRAMES)
				frames[ev->stack.nframes++] = strtoull(s, NULL, 0);
			else
				return -1;
		}
		return 1;
	case TAPE_EV_MALLOC:
	case TAPE_EV_NEW:
	case TAPE_EV_VALLOC:
	case TAPE_EV_PVALLOC:
		a->size = num(&save);
		a->result = num(&save);
		break;
	case TAPE_EV_CALLOC:
		a->nmemb = num(&save);
		a->size = num(&save);
		a->result = num(&save);
		break;
	case TAPE_EV_REALLOC:
		a->ptr = num(&save);
		a->size = num(&save);
		a->result = num(&save);
		break;
	case TAPE_EV_REALLOCARRAY:
		a->ptr = num(&save);
		a->nmemb = num(&save);
		a->size = num(&save);
		a->result = num(&save);
		break;
	case TAPE_EV_FREE:
	case TAPE_EV_DELETE:
		a->ptr = num(&save);
		break;
	case TAPE_EV_SYSCALL:
		ev->sys.nr = num(&save);
		ev->sys.ret = (int64_t)num(&save);
		ev->sys.duration = num(&save);
		ev->sys.nargs = 0;
		s = word(&save);
		if (s) {
			strcpy(strings, s);
			ev->sys.path = strings;
			ev->sys.path_len = strlen(s);
			ev->sys.path_state = TAPE_PATH_OK;
		}
		return 1;
	case TAPE_EV_FORK:
		ev->fork.child_pid = num(&save);
		ev->fork.child_tid = num(&save);
		s = word(&save);
		ev->fork.flags = s && !strcmp(s, "thread") ? TAPE_FORK_THREAD : 0;
		return 1;
	case TAPE_EV_EXEC:
		s = word(&save);
		strcpy(strings, s ? s : "");
		ev->exec.filename = strings;
		ev->exec.name_len = strlen(strings);
		ev->exec.old_tid = ev->tid;
		return 1;
	case TAPE_EV_EXIT:
		ev->exit.code = num(&save);
		s = word(&save);
		ev->exit.flags = s && !strcmp(s, "process") ? TAPE_EXIT_PROCESS : 0;
		return 1;
	case TAPE_EV_COMM:
		s = word(&save);
		strcpy(strings, s ? s : "");
		ev->comm.name = strings;
		ev->comm.len = strlen(strings);
		return 1;
	case TAPE_EV_MAP:
		ev->map.start = num(&save);
		ev->map.end = num(&save);
		ev->map.offset = num(&save);
		s = word(&save);
		strcpy(strings, s ? s : "");
		ev->map.path = strings;
		ev->map.path_len = strlen(strings);
		s = word(&save);
		for (size_t i = 0; s && s[2 * i] && s[2 * i + 1] && i < 64; i++) {
			sscanf(s + 2 * i, "%2hhx", &id[i]);
			ev->map.build_id_len = i + 1;
		}
		ev->map.build_id = id;
		return 1;
	case TAPE_EV_LOSS:
		ev->loss.lost_type = num(&save);
		ev->loss.reason = num(&save);
		ev->loss.count = num(&save);
		ev->loss.first_ts = num(&save);
		ev->loss.cpu = TAPE_LOSS_NO_CPU;
		return 1;
	default:
		return -1;
	}
	a->caller = num(&save);
	a->stack = num(&save);
	return 1;
}

int main(int argc, char **argv)
{
	bool mwrap = false, foreign = false;
	long chunk = 0;
	struct tape_writer *w = NULL;
	struct byte_output *o = NULL;
	struct mwrap_writer *mw = NULL;
	struct tape_header h;
	char line[8192], strings[4096], msg[256];
	uint64_t frames[TAPE_STACK_MAX_FRAMES];
	uint8_t id[64];
	FILE *in;
	int fd, n = 0;

	for (int i = 3; i < argc; i++) {
		mwrap |= !strcmp(argv[i], "--mwrap");
		foreign |= !strcmp(argv[i], "--foreign");
		if (!strcmp(argv[i], "--chunk") && i + 1 < argc)
			chunk = atol(argv[++i]);
	}
	if (argc < 3 || !(in = fopen(argv[1], "r"))) {
		fprintf(stderr, "usage: make_tape IN.txt OUT [--mwrap] [--foreign]\n");
		return 2;
	}
	fd = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		return 1;
	tape_header__init_host(&h);
	if (foreign) {
		h.byte_order = TAPE_BIG_ENDIAN;
		h.pointer_size = 4;
	}
	tape_header__add_str(&h, TAPE_CFG_TOOL, "make_tape");
	if (mwrap) {
		if (byte_output__open(&o, fd, byte_compression_from_suffix(argv[2]), msg, sizeof(msg)) ||
		    mwrap_writer__open(&mw, o, 4096))
			return 1;
	} else if (tape_writer__open(&w, fd, &h, NULL)) {
		return 1;
	}
	while (fgets(line, sizeof(line), in)) {
		struct tape_event ev;
		int r = parse_line(line, &ev, strings, id, frames);

		n++;
		if (r < 0) {
			fprintf(stderr, "make_tape: %s:%d: cannot read this line\n", argv[1], n);
			return 2;
		}
		if (r && (mwrap ? mwrap_writer__add(mw, &ev) < 0 : tape_writer__add(w, &ev) != 0))
			return 1;
		if (r && w && chunk && tape_writer__events(w) % chunk == 0 && tape_writer__flush(w))
			return 1;
	}
	fclose(in);
	if (mwrap) {
		mwrap_writer__free(mw);
		if (byte_output__close(o, msg, sizeof(msg)))
			return 1;
	} else if (tape_writer__close(w)) {
		return 1;
	}
	tape_header__free(&h);
	return close(fd) ? 1 : 0;
}
