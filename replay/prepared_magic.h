/*
 * Magic of the replay engine's prepared files (bpftape replay --prepare), kept
 * apart so that readers of tapes can recognise one and say what it is.
 */
#ifndef BPFTAPE_PREPARED_MAGIC_H
#define BPFTAPE_PREPARED_MAGIC_H

#define PREPARED_MAGIC "BTPREP1\0"
#define PREPARED_MAGIC_LEN 8

#endif
