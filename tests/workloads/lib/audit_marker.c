/*
 * A hostile LD_AUDIT library: the loader calls la_version first thing, in
 * whichever process loads it. It leaves $MARKER_DIR/ran.UID behind, so that
 * tests see who ran it (the traced program as its user: expected; the
 * recorder as root: the attack that must never work).
 */
#include <fcntl.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

unsigned int la_version(unsigned int version)
{
	const char *dir = getenv("MARKER_DIR");
	char path[4096];

	if (dir) {
		snprintf(path, sizeof(path), "%s/ran.%u", dir, (unsigned)geteuid());
		close(open(path, O_WRONLY | O_CREAT, 0644));
	}
	return version;
}
