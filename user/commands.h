/* The bpftape subcommands: one function each, dispatched from user/main.c. */
#ifndef BPFTAPE_COMMANDS_H
#define BPFTAPE_COMMANDS_H

int do_record(int argc, char **argv);	/* user/record.c */
int do_replay(int argc, char **argv);	/* user/replay.c */
int do_convert(int argc, char **argv);	/* tools/convert.c */
int do_dump(int argc, char **argv);	/* tools/dump.c */
int do_stat(int argc, char **argv);	/* tools/stat.c */
int do_leaks(int argc, char **argv);	/* tools/leaks.c */

#endif
