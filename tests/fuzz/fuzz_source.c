/*
 * Fuzzes every reader behind event_source: format detection, gzip, zstd
 * and bzip2 decompression, the tape reader (header, chunks, records, resync
 * after damage) and the mwrap reader. Any input must end in events, a clean
 * error or reported damage: never a crash, a hang or an out-of-bounds read.
 */
#include <stddef.h>
#include <stdint.h>

#include "event_source.h"
#include "fuzz_input.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct event_source *src;
	struct tape_event ev;
	char path[64], msg[512];
	int fd = fuzz_file(data, size, path, sizeof(path));

	if (fd < 0)
		return 0;
	if (!event_source__open(&src, path, msg, sizeof(msg))) {
		while (event_source__next(src, &ev) > 0)
			;
		event_source__damage(src, msg, sizeof(msg));
		event_source__close(src, msg, sizeof(msg));
	}
	close(fd);
	return 0;
}
