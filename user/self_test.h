/* bpftape record --self-test: the cost of a probed call on this machine (self_test.c). */
#ifndef BPFTAPE_SELF_TEST_H
#define BPFTAPE_SELF_TEST_H

/* Times and records a loop of this binary's, prints the result. An exit status. */
int self_test_run(void);
/*
 * Nanoseconds per malloc-or-free call of this thread, over a short loop: a
 * recorder probing every process (-a, no filter) takes its own traps too,
 * and so measures what every other process now pays, minus the time before.
 */
double self_test_call_ns(void);
/* The hidden command the test records: "__self-test-loop N FILE". */
int self_test_loop(int argc, char **argv);

#endif
