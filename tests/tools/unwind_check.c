/*
 * Checks user/unwind_table.c against libdw itself: for many addresses of a
 * file's code, the table's row (the last one at or before the address) must
 * give the rule libdw's own interpretation of .eh_frame gives there.
 * Usage: unwind_check FILE [SAMPLES]   prints rows, time, and mismatches.
 */
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "unwind_table.h"

static const struct unwind_row *row_at(const struct unwind_table *t, uint64_t pc)
{
	size_t lo = 0, hi = t->n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (t->rows[mid].pc <= pc)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo ? &t->rows[lo - 1] : NULL;
}

/* libdw's own answer at pc: the CFA register (7 rsp, 6 rbp) and offset, the saved rbp offset. */
static int libdw_rule(Dwarf_CFI *cfi, uint64_t pc, int *reg, long *cfa, long *rbp)
{
	Dwarf_Frame *f;
	Dwarf_Op *ops, mem[3];
	size_t n;

	if (dwarf_cfi_addrframe(cfi, pc, &f))
		return -1;
	if (dwarf_frame_cfa(f, &ops, &n) || n != 1 || ops[0].atom != DW_OP_bregx) {
		free(f);
		return -1;
	}
	*reg = ops[0].number;
	*cfa = (long)ops[0].number2;
	*rbp = 0;
	if (!dwarf_frame_register(f, 6, mem, &ops, &n) && n == 2)
		*rbp = (long)ops[1].number;
	free(f);
	return 0;
}

int main(int argc, char **argv)
{
	struct unwind_table t;
	long samples = argc > 2 ? atol(argv[2]) : 100000, checked = 0, bad = 0;
	struct timespec a, b;
	char msg[256];
	Dwarf_CFI *cfi;
	Elf *elf;
	int fd;

	if (argc < 2)
		return 2;
	fd = open(argv[1], O_RDONLY);
	clock_gettime(CLOCK_MONOTONIC, &a);
	if (fd < 0 || unwind_table__build(&t, fd, 1u << 24, msg, sizeof(msg))) {
		printf("%s: %s\n", argv[1], fd < 0 ? "cannot open" : msg);
		return 1;
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	elf = elf_begin(fd, ELF_C_READ, NULL);
	cfi = dwarf_getcfi_elf(elf);
	srand(1);
	for (long i = 0; i < samples && t.n > 1; i++) {
		size_t k = rand() % (t.n - 1);
		uint64_t pc = t.rows[k].pc + rand() % (t.rows[k + 1].pc - t.rows[k].pc);
		const struct unwind_row *r = row_at(&t, pc);
		int reg;
		long cfa, rbp;

		if (libdw_rule(cfi, pc, &reg, &cfa, &rbp) || (reg != 6 && reg != 7)) {
			/* libdw knows nothing there, or a rule the walker does not follow: must stop. */
			bad += !(r->flags & UNWIND_STOP);
			checked++;
			continue;
		}
		if (r->flags & UNWIND_STOP)
			continue;	/* a rule the table gave up on (an unusual rbp save): allowed */
		checked++;
		if (r->cfa_off != cfa || !!(r->flags & UNWIND_CFA_RBP) != (reg == 6) ||
		    r->rbp_off8 * 8 != rbp) {
			if (bad++ < 5)
				printf("  0x%lx: table cfa %s%+d rbp %+d, libdw cfa r%d%+ld rbp %+ld\n",
				       (unsigned long)pc, r->flags & UNWIND_CFA_RBP ? "rbp" : "rsp",
				       r->cfa_off, r->rbp_off8 * 8, reg, cfa, rbp);
		}
	}
	printf("%s: %zu rows in %.3f s; %ld addresses checked against libdw, %ld differ\n", argv[1],
	       t.n, (b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9, checked, bad);
	unwind_table__free(&t);
	return bad ? 1 : 0;
}
