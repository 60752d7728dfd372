/* The recorder's writing thread: see writer.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "byte_output.h"
#include "mwrap.h"
#include "writer.h"

#define QUEUE_SLOTS 4096
/* A crash loses what waits to be written: at most this much of it, in time. */
#define MAX_BACKLOG_NS (1000ull * 1000 * 1000)

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int add_mwrap(const struct tape_event *ev, void *ctx)
{
	struct writer *w = ctx;

	/* One mwrap trace holds one address space: say when several went in. */
	if (tape_type_is_alloc(ev->type)) {
		if (!w->mwrap_pid)
			w->mwrap_pid = ev->pid;
		w->mwrap_several_pids |= ev->pid != w->mwrap_pid;
	}
	return mwrap_writer__add(w->mwrap, ev) < 0 ? -EIO : 0;
}

static int write_chunk(struct writer *w, struct tape_raw_chunk *c)
{
	uint64_t before;
	int err;

	if (w->format == OUTPUT_NATIVE) {
		before = tape_writer__bytes(w->tape);
		err = tape_writer__write_chunk(w->tape, c);
		w->bytes_written += tape_writer__bytes(w->tape) - before;
	} else {
		before = mwrap_writer__bytes(w->mwrap);
		err = tape_raw_chunk__each(c, add_mwrap, w);
		w->bytes_written += mwrap_writer__bytes(w->mwrap) - before;
	}
	if (!err)
		w->events_written += c->nevents;
	return err;
}

static void *writer_main(void *arg)
{
	struct writer *w = arg;

	pthread_mutex_lock(&w->lock);
	for (;;) {
		struct tape_raw_chunk c;
		int err;

		while (!w->count && !w->closing)
			pthread_cond_wait(&w->cond, &w->lock);
		if (!w->count)
			break;
		c = w->queue[w->head];
		w->head = (w->head + 1) % w->slots;
		__atomic_store_n(&w->count, w->count - 1, __ATOMIC_RELAXED);
		/* The chunk being written counts as waiting until it is written. */
		w->oldest_ns = w->queued_at[(w->head + w->slots - 1) % w->slots];
		pthread_cond_signal(&w->space);
		pthread_mutex_unlock(&w->lock);

		err = w->err ? w->err : write_chunk(w, &c);
		w->queued_bytes -= c.len;
		tape_raw_chunk__free(&c);

		pthread_mutex_lock(&w->lock);
		w->oldest_ns = w->count ? w->queued_at[w->head] : 0;
		if (err && !w->err) {
			w->err = err;
			snprintf(w->errmsg, sizeof(w->errmsg), "cannot write %s: %s%s", w->path,
				 strerror(-err),
				 err == -ENOSPC ? " (the disk is full; what was written stays readable)" : "");
		}
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

int writer__start(struct writer *w, int fd, const char *path, enum output_format format,
		  const struct tape_header *h, uint64_t cap_bytes, char *msg, size_t msglen)
{
	struct tape_writer_opts opts = { .codec = TAPE_CODEC_ZSTD, .fsync = true };
	int err;

	memset(w, 0, sizeof(*w));
	w->fd = fd;
	w->path = path;
	w->format = format;
	w->cap_bytes = cap_bytes;
	w->slots = QUEUE_SLOTS;
	w->max_age_ns = MAX_BACKLOG_NS;
	w->queue = calloc(w->slots, sizeof(*w->queue));
	w->queued_at = calloc(w->slots, sizeof(*w->queued_at));
	if (!w->queue || !w->queued_at)
		return -ENOMEM;
	if (format == OUTPUT_NATIVE) {
		err = tape_writer__open(&w->tape, fd, h, &opts);
		if (err) {
			snprintf(msg, msglen, "cannot write %s: %s", path, strerror(-err));
			return err;
		}
		w->bytes_written = tape_writer__bytes(w->tape);
	} else {
		err = byte_output__open(&w->out, fd, byte_compression_from_suffix(path), msg, msglen);
		if (err)
			return err;
		err = mwrap_writer__open(&w->mwrap, w->out, h->page_size);
		if (err)
			return err;
	}
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->cond, NULL);
	pthread_cond_init(&w->space, NULL);
	err = -pthread_create(&w->thread, NULL, writer_main, w);
	if (err)
		snprintf(msg, msglen, "cannot start the writing thread: %s", strerror(-err));
	return err;
}

bool writer__has_room(struct writer *w, size_t more)
{
	/*
	 * Read without the lock, once per event: the drain is the only
	 * producer, and the writer only frees room, so a yes stays true until
	 * the chunk being built is pushed. A free slot is room too: a stalled
	 * disk with slow, small chunks must end in counted losses, not in a
	 * full queue.
	 */
	uint64_t oldest = w->oldest_ns;

	return w->queued_bytes + more <= w->cap_bytes &&
	       __atomic_load_n(&w->count, __ATOMIC_RELAXED) < w->slots &&
	       (!oldest || mono_ns() - oldest < w->max_age_ns);
}

double writer__backlog(struct writer *w, uint64_t *bytes)
{
	uint64_t oldest = w->oldest_ns;

	*bytes = w->queued_bytes;
	return oldest ? (mono_ns() - oldest) / 1e9 : 0;
}

void writer__push(struct writer *w, struct tape_raw_chunk *c)
{
	pthread_mutex_lock(&w->lock);
	/*
	 * writer__has_room, asked before events, keeps a slot free; only loss
	 * records and the last chunk at the end can find the queue full: they
	 * wait for the writer, and are never dropped.
	 */
	while (w->count == w->slots)
		pthread_cond_wait(&w->space, &w->lock);
	w->queue[(w->head + w->count) % w->slots] = *c;
	w->queued_at[(w->head + w->count) % w->slots] = mono_ns();
	if (!w->oldest_ns)
		w->oldest_ns = w->queued_at[(w->head + w->count) % w->slots];
	__atomic_store_n(&w->count, w->count + 1, __ATOMIC_RELAXED);
	w->queued_bytes += c->len;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
	memset(c, 0, sizeof(*c));
}

int writer__error(struct writer *w, char *msg, size_t msglen)
{
	int err;

	pthread_mutex_lock(&w->lock);
	err = w->err;
	if (err)
		snprintf(msg, msglen, "%s", w->errmsg);
	pthread_mutex_unlock(&w->lock);
	return err;
}

int writer__finish(struct writer *w, char *msg, size_t msglen)
{
	int err, cerr = 0;

	pthread_mutex_lock(&w->lock);
	w->closing = true;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
	pthread_join(w->thread, NULL);
	err = w->err;
	if (err)
		snprintf(msg, msglen, "%s", w->errmsg);
	if (w->format == OUTPUT_NATIVE) {
		cerr = tape_writer__close(w->tape);
	} else {
		w->mwrap_drops = *mwrap_writer__drops(w->mwrap);
		mwrap_writer__free(w->mwrap);
		cerr = byte_output__close(w->out, err ? NULL : msg, msglen);
	}
	if (!err && cerr) {
		err = cerr;
		if (w->format == OUTPUT_NATIVE)
			snprintf(msg, msglen, "cannot write %s: %s", w->path, strerror(-cerr));
	}
	pthread_mutex_destroy(&w->lock);
	pthread_cond_destroy(&w->cond);
	pthread_cond_destroy(&w->space);
	free(w->queue);
	free(w->queued_at);
	return err;
}
