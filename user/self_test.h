/* bpftape record --self-test: the cost of a probed call on this machine (self_test.c). */
#ifndef BPFTAPE_SELF_TEST_H
#define BPFTAPE_SELF_TEST_H

/* Times and records a loop of this binary's, prints the result. An exit status. */
int self_test_run(void);
/* The hidden command the test records: "__self-test-loop N FILE". */
int self_test_loop(int argc, char **argv);

#endif
