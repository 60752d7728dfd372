/*
 * The tape: bpftape's binary trace format. This header is the whole public
 * interface of the format library; docs/FORMAT.md specifies the bytes.
 *
 * A tape is a header (how the recording was made) followed by self-contained
 * chunks of encoded events. Readers stream it one chunk at a time.
 */
#ifndef BPFTAPE_TAPE_H
#define BPFTAPE_TAPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TAPE_VERSION_MAJOR 1
#define TAPE_VERSION_MINOR 1

/* Event types as stored on disk. Values are part of the format: never renumber. */
enum tape_event_type {
	TAPE_EV_MALLOC = 1,
	TAPE_EV_CALLOC = 2,
	TAPE_EV_REALLOC = 3,
	TAPE_EV_REALLOCARRAY = 4,
	TAPE_EV_POSIX_MEMALIGN = 5,
	TAPE_EV_ALIGNED_ALLOC = 6,
	TAPE_EV_MEMALIGN = 7,
	TAPE_EV_VALLOC = 8,
	TAPE_EV_PVALLOC = 9,
	TAPE_EV_FREE = 10,
	TAPE_EV_NEW = 11,		/* C++ operator new and new[], every form (1.1) */
	TAPE_EV_DELETE = 12,		/* C++ operator delete and delete[], every form (1.1) */
	TAPE_EV_SYSCALL = 16,
	TAPE_EV_FORK = 20,
	TAPE_EV_EXEC = 21,
	TAPE_EV_EXIT = 22,
	TAPE_EV_COMM = 23,
	TAPE_EV_MAP = 24,
	TAPE_EV_STACK = 25,		/* a call stack, referred to by its ID (1.1) */
	TAPE_EV_PROBE = 26,		/* a file's allocator functions probed in a process (1.1) */
	TAPE_EV_LOSS = 30,
	TAPE_EV_ATTACH = 31,
	TAPE_EV_DETACH = 32,
	TAPE_EV_MAX_KNOWN = 32,
};

static inline bool tape_type_is_alloc(unsigned type)
{
	return type >= TAPE_EV_MALLOC && type <= TAPE_EV_DELETE;
}

/* Does this allocator call produce a block (everything but free and delete)? */
static inline bool tape_type_allocates(unsigned type)
{
	return (type >= TAPE_EV_MALLOC && type <= TAPE_EV_PVALLOC) || type == TAPE_EV_NEW;
}

/* Does it only give a block back (free, operator delete)? */
static inline bool tape_type_frees(unsigned type)
{
	return type == TAPE_EV_FREE || type == TAPE_EV_DELETE;
}

/* Name of an event type as the tools print it ("malloc", "syscall", ...). */
const char *tape_type_name(unsigned type);
/* Inverse of tape_type_name; 0 when the name is unknown. */
unsigned tape_type_from_name(const char *name);

/*
 * One allocator call, free included. Fields a function does not have are 0:
 * ptr is the block given to free/realloc/reallocarray, nmemb is set for calloc
 * and reallocarray, align for the aligned forms. result is 0 for a failure.
 */
struct tape_alloc {
	uint64_t ptr;
	uint64_t size;
	uint64_t nmemb;
	uint64_t align;
	uint64_t result;
	uint64_t caller;	/* return address in the caller; 0 when unknown */
	int32_t err;		/* posix_memalign's return value */
	uint32_t variant;	/* new and delete: TAPE_VARIANT_* */
	uint32_t stack;		/* the call's stack: a stack record's ID; 0 when none */
};

/* Forms of operator new and delete (struct tape_alloc.variant). */
#define TAPE_VARIANT_ARRAY 1	/* new[] / delete[] */
#define TAPE_VARIANT_NOTHROW 2	/* the std::nothrow_t form */
#define TAPE_VARIANT_ALIGNED 4	/* the std::align_val_t form: align is set */
#define TAPE_VARIANT_SIZED 8	/* sized delete: size is set */
#define TAPE_VARIANTS 15

enum tape_path_state {
	TAPE_PATH_NONE = 0,	/* the syscall takes no path */
	TAPE_PATH_OK = 1,
	TAPE_PATH_TRUNCATED = 2,	/* longer than the recorder's bound: the start is kept */
	TAPE_PATH_UNREADABLE = 3,	/* the page holding it was not resident, or the pointer was bad */
};

#define TAPE_SYS_NO_RETURN 1	/* exit, exit_group, or a thread that died in the call */
#define TAPE_SYS_STACK 2	/* (1.1) a stack id follows the path: set by the encoder */
#define TAPE_SYS_PATH2 4	/* (1.1) a second path's state (and path) follow: the encoder's */
#define TAPE_SYS_FDS 8		/* (1.1) two descriptors follow: the encoder's */
#define TAPE_SYS_ENCODED (TAPE_SYS_STACK | TAPE_SYS_PATH2 | TAPE_SYS_FDS)

struct tape_syscall {
	uint32_t nr;
	uint8_t nargs;		/* how many of args were recorded; the rest are 0 */
	uint8_t path_state;
	uint16_t flags;
	int64_t ret;
	uint64_t args[6];
	uint64_t duration;	/* ns; the event's ts is the entry time */
	uint32_t path_len;
	const char *path;	/* not NUL-terminated; valid until the next event */
	uint32_t stack;		/* (1.1) the calling code's stack record, 0 for none */
	/* (1.1) A second path: rename's, link's and symlink's new name. */
	uint8_t path2_state;
	uint32_t path2_len;
	const char *path2;
	/* (1.1) pipe, pipe2, socketpair: the two descriptors the call made. */
	bool has_fds;
	int32_t fds[2];
};

#define TAPE_FORK_THREAD 1	/* clone of a thread, not a new process */

struct tape_fork {
	uint32_t child_pid;
	uint32_t child_tid;
	uint32_t flags;
};

struct tape_exec {
	uint32_t old_tid;	/* the thread that called execve, before it became the leader */
	uint32_t name_len;
	const char *filename;
};

#define TAPE_EXIT_PROCESS 1	/* the last thread: the process is gone */

struct tape_exit {
	int32_t code;		/* as wait(2) reports it */
	uint32_t flags;
};

struct tape_comm {
	uint32_t len;
	const char *name;
};

/* One file-backed executable mapping of a traced process, for symbolising callers. */
struct tape_map {
	uint64_t start;
	uint64_t end;
	uint64_t offset;
	uint32_t build_id_len;
	uint32_t path_len;
	const uint8_t *build_id;
	const char *path;
};

/*
 * A call stack of process pid (1.1): return addresses in its address space,
 * innermost first (the first is the allocator's caller, the address in the
 * allocator record's caller field). Allocator records of the same process
 * refer to it by id: ids name stacks within a process, so a reader looks
 * them up by (pid, id), and a later record with the same pid and id replaces
 * the earlier. The record comes before the first allocator record that uses
 * it. docs/FORMAT.md, "Stack", says the whole of it.
 */
#define TAPE_STACK_MAX_FRAMES 128
#define TAPE_STACK_CUT 1	/* the walk stopped at the recorder's depth: outer frames missing */
#define TAPE_STACK_PARTIAL 2	/* the walk stopped at a frame it could not unwind */

struct tape_stack {
	uint32_t id;		/* never 0 */
	uint32_t nframes;
	uint32_t flags;		/* TAPE_STACK_* */
	const uint64_t *frames;	/* valid until the next event */
};

/* A file whose allocator functions are probed in process pid from ts on (1.1). */
struct tape_probe {
	uint32_t build_id_len;
	uint32_t path_len;
	const uint8_t *build_id;
	const char *path;
};

enum tape_loss_reason {
	TAPE_LOSS_RINGBUF = 1,		/* the BPF ring buffer was full */
	TAPE_LOSS_WRITER = 2,		/* the recorder's memory cap: the writer fell behind */
	TAPE_LOSS_FOLLOW_GAP = 3,	/* a followed child ran before its probes were attached */
	TAPE_LOSS_INFLIGHT = 4,		/* no room to remember a call's arguments until it returned */
	TAPE_LOSS_DAMAGE = 5,		/* a reader skipped damaged input (conversions) */
	TAPE_LOSS_NO_RETURN = 6,	/* a call whose return probe never fired */
	TAPE_LOSS_UNKNOWN_PROBE = 7,	/* a probe hit whose function could not be told (1.1) */
	TAPE_LOSS_UNREAD_IMAGE = 8,	/* exec'd and gone before its new image was read (1.1) */
};

/* What a loss reason means, in a few words ("unknown reason" for others). */
const char *tape_loss_reason_name(uint32_t reason);

#define TAPE_LOSS_NO_CPU UINT32_MAX

struct tape_loss {
	uint32_t lost_type;	/* event type lost, 0 for every kind */
	uint32_t reason;
	uint32_t cpu;
	uint64_t count;		/* 0 when the count cannot be known (a follow gap) */
	uint64_t first_ts;	/* the event's ts is the last moment of the loss */
};

/* attach/detach markers: probes of a process came on or went away at ts. */
struct tape_marker {
	uint32_t what;		/* TAPE_MARK_* bits */
};

#define TAPE_MARK_ALLOC 1
#define TAPE_MARK_SYSCALLS 2

struct tape_event {
	uint16_t type;
	uint16_t len;		/* encoded payload length (informational) */
	uint32_t pid;
	uint32_t tid;
	uint64_t ts;		/* ns since the tape's clock zero */
	union {
		struct tape_alloc alloc;
		struct tape_syscall sys;
		struct tape_fork fork;
		struct tape_exec exec;
		struct tape_exit exit;
		struct tape_comm comm;
		struct tape_map map;
		struct tape_stack stack;
		struct tape_probe probe;
		struct tape_loss loss;
		struct tape_marker marker;
	};
};

/* ------------------------------------------------------------------ header */

enum tape_config_key {
	TAPE_CFG_TOOL = 1,		/* string: "bpftape 0.1.0" */
	TAPE_CFG_COMMAND_LINE = 2,	/* NUL-separated argv of the recorder */
	TAPE_CFG_TARGET_PID = 3,	/* u32; one entry per PID */
	TAPE_CFG_TARGET_COMMAND = 4,	/* NUL-separated argv of the started command */
	TAPE_CFG_LIBRARY = 5,		/* u8 build-id length, build id, path */
	TAPE_CFG_KERNEL = 6,		/* string: uname -r */
	TAPE_CFG_HOSTNAME = 7,
	TAPE_CFG_BOOT_ID = 8,
	TAPE_CFG_CLOCK = 9,		/* string: the clock timestamps count */
	TAPE_CFG_ZERO_MONO_NS = 10,	/* u64: that clock's reading at ts 0 */
	TAPE_CFG_ZERO_WALL_NS = 11,	/* u64: CLOCK_REALTIME ns at ts 0 */
	TAPE_CFG_MODE = 12,		/* string: "pid", "command", "system", "converted" */
	TAPE_CFG_OPTION = 13,		/* string "name=value"; one entry per option */
	TAPE_CFG_SOURCE = 14,		/* string: what a converted tape came from */
	TAPE_CFG_ARCH = 15,		/* string: uname -m, whose syscall numbers these are (1.1) */
};

#define TAPE_LITTLE_ENDIAN 1
#define TAPE_BIG_ENDIAN 2

struct tape_config_entry {
	uint16_t key;
	uint32_t len;
	uint8_t *data;
};

struct tape_header {
	uint16_t version_major;
	uint16_t version_minor;
	uint8_t byte_order;	/* of the traced machine */
	uint8_t pointer_size;	/* of the traced machine */
	uint32_t page_size;
	bool checksum_bad;	/* set by readers: the header's checksum did not match */
	uint32_t nentries;
	uint32_t cap;
	struct tape_config_entry *entries;
};

/* A header describing this machine, with no configuration yet. */
void tape_header__init_host(struct tape_header *h);
void tape_header__free(struct tape_header *h);
int tape_header__add(struct tape_header *h, uint16_t key, const void *data, size_t len);
int tape_header__add_str(struct tape_header *h, uint16_t key, const char *s);
int tape_header__add_u64(struct tape_header *h, uint16_t key, uint64_t v);
int tape_header__add_u32(struct tape_header *h, uint16_t key, uint32_t v);
/* NUL-separated list from argv[0..argc). */
int tape_header__add_argv(struct tape_header *h, uint16_t key, int argc, char *const argv[]);
/* The idx-th entry with this key, or NULL. */
const struct tape_config_entry *tape_header__find(const struct tape_header *h, uint16_t key,
						  unsigned idx);
/* Numeric value of an entry (u32 or u64), or dflt when absent or malformed. */
uint64_t tape_header__u64(const struct tape_header *h, uint16_t key, uint64_t dflt);
const char *tape_config_key_name(uint16_t key);

/*
 * Is the tape's machine like this one (byte order and pointer size)? When not,
 * writes a sentence naming both into msg and returns false.
 */
bool tape_header__matches_host(const struct tape_header *h, char *msg, size_t msglen);

/* ---------------------------------------------------------------- encoding */

/*
 * The encoder turns events into one chunk's raw bytes (varints and deltas).
 * It is cheap and never blocks: the recorder's drain thread calls it for
 * every event, and hands full chunks to a writer thread.
 */
struct tape_encoder;

struct tape_raw_chunk {
	uint8_t *data;
	size_t len;
	size_t cap;
	uint32_t nevents;
	uint64_t first_ts;
	uint64_t last_ts;
};

struct tape_encoder *tape_encoder__new(void);
void tape_encoder__free(struct tape_encoder *e);
/* Appends ev to the current chunk. Returns 0 or -ENOMEM. */
int tape_encoder__add(struct tape_encoder *e, const struct tape_event *ev);
/* Bytes in the current chunk so far. */
size_t tape_encoder__size(const struct tape_encoder *e);
uint32_t tape_encoder__count(const struct tape_encoder *e);
/*
 * Ends the current chunk: moves its bytes into *out (whose buffer the caller
 * then owns, and may give back with tape_encoder__recycle) and starts a new
 * one with fresh delta state. Returns 0 when there was nothing to take.
 */
int tape_encoder__take(struct tape_encoder *e, struct tape_raw_chunk *out);
/*
 * Calls fn for each event of a raw chunk, in order; stops when fn returns
 * non-zero and returns that. Returns -EBADMSG for a malformed chunk.
 */
int tape_raw_chunk__each(const struct tape_raw_chunk *c,
			 int (*fn)(const struct tape_event *ev, void *ctx), void *ctx);
/* Gives a buffer back for reuse, so that steady-state recording does not allocate. */
void tape_encoder__recycle(struct tape_encoder *e, struct tape_raw_chunk *c);
void tape_raw_chunk__free(struct tape_raw_chunk *c);

/* ------------------------------------------------------------------ writer */

enum tape_codec {
	TAPE_CODEC_NONE = 0,
	TAPE_CODEC_ZSTD = 1,
};

struct tape_writer_opts {
	int codec;		/* TAPE_CODEC_* */
	int zstd_level;		/* 0: the library's default for tapes */
	bool fsync;		/* fsync after every chunk (recording) */
	size_t chunk_bytes;	/* close a chunk at this raw size; 0: default (1 MiB) */
};

struct tape_writer;

/* Writes the header to fd at once. The writer does not own fd. */
int tape_writer__open(struct tape_writer **out, int fd, const struct tape_header *h,
		      const struct tape_writer_opts *opts);
/* Encode-and-write in one call, for single-threaded writers (convert, tests). */
int tape_writer__add(struct tape_writer *w, const struct tape_event *ev);
/* Compresses, checksums and writes one raw chunk (the recorder's writer thread). */
int tape_writer__write_chunk(struct tape_writer *w, const struct tape_raw_chunk *c);
/* Writes what tape_writer__add has buffered. */
int tape_writer__flush(struct tape_writer *w);
/* Flushes and frees; returns the first error seen, if any. */
int tape_writer__close(struct tape_writer *w);
uint64_t tape_writer__bytes(const struct tape_writer *w);
uint64_t tape_writer__events(const struct tape_writer *w);

/* ------------------------------------------------------------------ reader */

struct byte_input;

/* What a reader had to skip or could not read. Zero everywhere for a sound tape. */
struct tape_damage {
	uint64_t truncated_at;		/* file offset where the tape stops short; 0 if not */
	uint64_t truncated_bytes;	/* bytes of the cut-off chunk that were present */
	uint64_t corrupt_chunks;	/* chunks dropped for a bad checksum or bad contents */
	uint64_t corrupt_events;	/* events those chunks said they held */
	uint64_t skipped_bytes;		/* bytes passed over to find the next chunk */
	uint64_t first_damage_at;	/* offset of the first problem */
	uint64_t unknown_records;	/* records of kinds this reader does not know (skipped) */
};

struct tape_reader;

/*
 * Reads the header from in (which the reader then owns). On failure returns
 * a negative errno and, when msg is given, a sentence saying what is wrong.
 */
int tape_reader__open(struct tape_reader **out, struct byte_input *in, char *msg, size_t msglen);
const struct tape_header *tape_reader__header(const struct tape_reader *r);
/*
 * Next event in tape order: 1 with *ev filled, 0 at the end, or a negative
 * errno for an I/O error. Damage is skipped and counted, not returned.
 */
int tape_reader__next(struct tape_reader *r, struct tape_event *ev);
const struct tape_damage *tape_reader__damage(const struct tape_reader *r);
/* One sentence about the damage (empty when there is none). */
void tape_damage__describe(const struct tape_damage *d, char *buf, size_t len);
uint64_t tape_reader__offset(const struct tape_reader *r);
void tape_reader__close(struct tape_reader *r);

/* Magic bytes at the start of every tape. */
#define TAPE_MAGIC "BPFTAPE\0"
#define TAPE_MAGIC_LEN 8

#endif
