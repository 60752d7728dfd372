/* Reading new images as execs happen: see exec_lane.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/libbpf.h>

#include "exec_lane.h"
#include "join.h"
#include "record_skel.h"

#define MAX_WAITING 4096	/* captures not taken yet; the oldest go beyond */
#define POLL_MS 100

struct exec_lane_entry {
	struct exec_lane_entry *next;
	pid_t pid;
	struct image_capture *image;
};

static int on_note(void *ctx, void *data, size_t size)
{
	struct exec_lane *l = ctx;
	const struct exec_note *note = data;
	struct exec_lane_entry *e;

	if (size < sizeof(*note))
		return 0;
	e = calloc(1, sizeof(*e));
	if (!e)
		return 0;	/* the follower reads it itself, later */
	e->pid = note->pid;
	e->image = image_capture__read(note->pid);
	pthread_mutex_lock(&l->lock);
	if (l->tail)
		l->tail->next = e;
	else
		l->head = e;
	l->tail = e;
	if (++l->n > MAX_WAITING) {
		struct exec_lane_entry *old = l->head;

		l->head = old->next;
		l->n--;
		image_capture__free(old->image);
		free(old);
	}
	pthread_mutex_unlock(&l->lock);
	return 0;
}

static void *lane_main(void *arg)
{
	struct exec_lane *l = arg;

	while (!l->stopping)
		if (ring_buffer__poll(l->rb, POLL_MS) < 0 && errno != EINTR)
			break;
	return NULL;
}

int exec_lane__start(struct exec_lane *l, int map_fd)
{
	int err;

	memset(l, 0, sizeof(*l));
	pthread_mutex_init(&l->lock, NULL);
	l->rb = ring_buffer__new(map_fd, on_note, l, NULL);
	if (!l->rb)
		return -errno;
	err = pthread_create(&l->thread, NULL, lane_main, l);
	if (err) {
		ring_buffer__free(l->rb);
		l->rb = NULL;
		return -err;
	}
	l->running = true;
	return 0;
}

struct image_capture *exec_lane__take(struct exec_lane *l, pid_t pid)
{
	struct exec_lane_entry **pp, *e = NULL;
	struct image_capture *image = NULL;

	if (!l->running)
		return NULL;
	pthread_mutex_lock(&l->lock);
	for (pp = &l->head; *pp; pp = &(*pp)->next) {
		if ((*pp)->pid != pid)
			continue;
		e = *pp;
		*pp = e->next;
		if (l->tail == e) {
			/* The new tail is the entry before e, found again from the head. */
			struct exec_lane_entry *t = l->head;

			while (t && t->next)
				t = t->next;
			l->tail = t;
		}
		l->n--;
		break;
	}
	pthread_mutex_unlock(&l->lock);
	if (e) {
		image = e->image;
		free(e);
	}
	return image;
}

void exec_lane__stop(struct exec_lane *l)
{
	if (l->running) {
		l->stopping = true;
		if (!join_within(l->thread, JOIN_SECONDS, "reading new images"))
			return;	/* still in use by the thread: left to the exit */
		l->running = false;
	}
	ring_buffer__free(l->rb);
	l->rb = NULL;
	while (l->head) {
		struct exec_lane_entry *e = l->head;

		l->head = e->next;
		image_capture__free(e->image);
		free(e);
	}
	l->tail = NULL;
	l->n = 0;
	pthread_mutex_destroy(&l->lock);
}
