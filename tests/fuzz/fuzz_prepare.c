/*
 * Fuzzes the replay engine's inputs: any tape or trace through the
 * preparation pass, whose output must then pass the engine's own checks;
 * and the input taken as a prepared form itself (the engine accepts one),
 * which the checks must refuse or accept without reading out of bounds.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "fuzz_input.h"
#include "prepare.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct event_source *src;
	struct prepared p;
	char path[64], msg[512];
	int fd = fuzz_file(data, size, path, sizeof(path)), out;

	if (fd < 0)
		return 0;
	/* As a prepared form: checked, never trusted. */
	if (!prepared__check(&p, data, size, msg, sizeof(msg)))
		(void)p.h->nops;
	if (!event_source__open(&src, path, msg, sizeof(msg))) {
		out = memfd_create("prepared", 0);
		if (out >= 0 && !prepare(src, "fuzz", &(struct prepare_opts){ 0 }, out, msg,
					 sizeof(msg))) {
			/* What preparation writes, the engine must accept. */
			if (prepared__map(&p, out, msg, sizeof(msg))) {
				fprintf(stderr, "prepared form refused: %s\n", msg);
				abort();
			}
			prepared__unmap(&p);
		}
		if (out >= 0)
			close(out);
		event_source__close(src, msg, sizeof(msg));
	}
	close(fd);
	return 0;
}
