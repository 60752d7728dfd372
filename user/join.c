/* Bounded joins: see join.h. */
#include <errno.h>
#include <time.h>

#include "cli.h"
#include "join.h"

bool join_within(pthread_t thread, double seconds, const char *what)
{
	struct timespec ts;
	int err;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += (time_t)seconds;
	ts.tv_nsec += (long)((seconds - (time_t)seconds) * 1e9);
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	err = pthread_timedjoin_np(thread, NULL, &ts);
	if (err == ETIMEDOUT) {
		cli_warn("%s did not stop within %.0f s (blocked reading a file or a process's "
			 "memory: a FUSE file system?); going on without it", what, seconds);
		return false;
	}
	return true;
}
