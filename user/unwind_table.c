/* Unwind tables from .eh_frame, through libdw: see unwind_table.h. */
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <errno.h>
#include <gelf.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "grow_array.h"
#include "unwind_table.h"

#define REG_RBP 6
#define REG_RSP 7
#define REG_RA 16

/* DW_EH_PE_* pointer encodings of .eh_frame_hdr. */
#define PE_OMIT 0xff
#define PE_FORMAT 0x0f
#define PE_APPL 0x70
#define PE_UDATA4 0x03
#define PE_SDATA4 0x0b
#define PE_UDATA8 0x04
#define PE_SDATA8 0x0c
#define PE_PCREL 0x10
#define PE_DATAREL 0x30

struct reader {
	const uint8_t *p, *end;
	uint64_t base;		/* the section's address */
	const uint8_t *start;
	bool bad;
};

static uint64_t read_encoded(struct reader *r, uint8_t enc)
{
	uint64_t addr = r->base + (r->p - r->start);
	int64_t v = 0;
	size_t size;

	switch (enc & PE_FORMAT) {
	case PE_UDATA4:
	case PE_SDATA4:
		size = 4;
		break;
	case PE_UDATA8:
	case PE_SDATA8:
		size = 8;
		break;
	default:
		r->bad = true;
		return 0;
	}
	if ((size_t)(r->end - r->p) < size) {
		r->bad = true;
		return 0;
	}
	if (size == 4) {
		int32_t s;
		uint32_t u;

		memcpy(&u, r->p, 4);
		memcpy(&s, r->p, 4);
		v = (enc & PE_FORMAT) == PE_SDATA4 ? s : (int64_t)u;
	} else {
		memcpy(&v, r->p, 8);
	}
	r->p += size;
	if ((enc & PE_APPL) == PE_PCREL)
		v += addr;
	else if ((enc & PE_APPL) == PE_DATAREL)
		v += r->base;
	else if (enc & PE_APPL)
		r->bad = true;
	return v;
}

/* The functions' start addresses, sorted, from .eh_frame_hdr's search table. */
static int fde_starts(Elf *elf, uint64_t **starts, size_t *n)
{
	Elf_Scn *scn = NULL;
	size_t shstrndx;
	GElf_Shdr sh;

	*starts = NULL;
	*n = 0;
	if (elf_getshdrstrndx(elf, &shstrndx))
		return -ENOENT;
	while ((scn = elf_nextscn(elf, scn))) {
		const char *name;
		Elf_Data *d;
		struct reader r;
		uint8_t ptr_enc, cnt_enc, tab_enc;
		uint64_t count;

		if (!gelf_getshdr(scn, &sh))
			continue;
		name = elf_strptr(elf, shstrndx, sh.sh_name);
		if (!name || strcmp(name, ".eh_frame_hdr"))
			continue;
		d = elf_getdata(scn, NULL);
		if (!d || d->d_size < 4)
			return -ENOENT;
		r = (struct reader){ (const uint8_t *)d->d_buf + 4, (const uint8_t *)d->d_buf + d->d_size,
				     sh.sh_addr, d->d_buf, false };
		ptr_enc = ((uint8_t *)d->d_buf)[1];
		cnt_enc = ((uint8_t *)d->d_buf)[2];
		tab_enc = ((uint8_t *)d->d_buf)[3];
		if (((uint8_t *)d->d_buf)[0] != 1 || cnt_enc == PE_OMIT || tab_enc == PE_OMIT)
			return -ENOENT;
		read_encoded(&r, ptr_enc);
		count = read_encoded(&r, cnt_enc);
		if (r.bad || count > (uint64_t)(r.end - r.p) / 8)
			return -ENOENT;
		*starts = malloc((count ? count : 1) * sizeof(**starts));
		if (!*starts)
			return -ENOMEM;
		for (uint64_t i = 0; i < count && !r.bad; i++) {
			(*starts)[(*n)++] = read_encoded(&r, tab_enc);
			read_encoded(&r, tab_enc);	/* the FDE's own address */
		}
		return r.bad ? -ENOENT : 0;
	}
	return -ENOENT;
}

/* Is ops "the value at CFA + off" (DW_OP_call_frame_cfa, DW_OP_plus_uconst off)? */
static bool at_cfa(const Dwarf_Op *ops, size_t nops, int64_t *off)
{
	if (nops != 2 || ops[0].atom != DW_OP_call_frame_cfa || ops[1].atom != DW_OP_plus_uconst)
		return false;
	*off = (int64_t)ops[1].number;
	return true;
}

/* The walker's rule for the code a frame describes. */
static struct unwind_row rule_of(Dwarf_Frame *f, uint64_t pc)
{
	struct unwind_row row = { .pc = pc, .flags = UNWIND_STOP };
	Dwarf_Op *ops, mem[3];
	int64_t cfa_off, off;
	size_t nops;
	bool sig = false;
	Dwarf_Addr start, end;
	int reg;

	dwarf_frame_info(f, &start, &end, &sig);
	if (sig || dwarf_frame_cfa(f, &ops, &nops) || nops != 1)
		return row;
	if (ops[0].atom == DW_OP_bregx) {
		reg = ops[0].number;
		cfa_off = (int64_t)ops[0].number2;
	} else if (ops[0].atom >= DW_OP_breg0 && ops[0].atom <= DW_OP_breg31) {
		reg = ops[0].atom - DW_OP_breg0;
		cfa_off = (int64_t)ops[0].number;
	} else {
		return row;	/* an expression (PLT entries): not followed */
	}
	if ((reg != REG_RSP && reg != REG_RBP) || cfa_off < INT16_MIN || cfa_off > INT16_MAX)
		return row;
	/* x86-64: the return address is the word below the CFA. */
	if (dwarf_frame_register(f, REG_RA, mem, &ops, &nops) || !at_cfa(ops, nops, &off) ||
	    off != -8)
		return row;
	if (!dwarf_frame_register(f, REG_RBP, mem, &ops, &nops) && nops) {
		if (!at_cfa(ops, nops, &off) || !off || off % 8 || off / 8 < INT8_MIN ||
		    off / 8 > INT8_MAX)
			return row;
		row.rbp_off8 = off / 8;
	}
	row.cfa_off = cfa_off;
	row.flags = reg == REG_RBP ? UNWIND_CFA_RBP : 0;
	return row;
}

static bool same_rule(const struct unwind_row *a, const struct unwind_row *b)
{
	return a->cfa_off == b->cfa_off && a->rbp_off8 == b->rbp_off8 && a->flags == b->flags;
}

static int add_row(struct unwind_table *t, size_t *cap, size_t max, struct unwind_row row)
{
	struct unwind_row *r;

	/* A row that changes nothing is not needed. */
	if (t->n && same_rule(&t->rows[t->n - 1], &row))
		return 0;
	if (t->n == max)
		return -E2BIG;
	r = grow_array(t->rows, cap, t->n + 1, sizeof(*t->rows));
	if (!r)
		return -ENOMEM;
	t->rows = r;
	t->rows[t->n++] = row;
	return 0;
}

static bool text_segment(Elf *elf, uint64_t *vaddr, uint64_t *offset)
{
	size_t n;

	if (elf_getphdrnum(elf, &n))
		return false;
	for (size_t i = 0; i < n; i++) {
		GElf_Phdr ph;

		if (gelf_getphdr(elf, i, &ph) && ph.p_type == PT_LOAD && (ph.p_flags & PF_X)) {
			*vaddr = ph.p_vaddr;
			*offset = ph.p_offset;
			return true;
		}
	}
	return false;
}

int unwind_table__build(struct unwind_table *t, int fd, size_t max_rows, char *msg,
			size_t msglen)
{
	uint64_t *starts = NULL;
	size_t nstarts = 0, cap = 0;
	Dwarf_CFI *cfi;
	Elf *elf;
	int err = 0;

	memset(t, 0, sizeof(*t));
	elf_version(EV_CURRENT);
	elf = elf_begin(fd, ELF_C_READ, NULL);
	if (!elf || !text_segment(elf, &t->text_vaddr, &t->text_offset)) {
		snprintf(msg, msglen, "not an ELF file with code");
		err = -ENOEXEC;
		goto out;
	}
	cfi = dwarf_getcfi_elf(elf);
	err = cfi ? fde_starts(elf, &starts, &nstarts) : -ENOENT;
	if (err) {
		snprintf(msg, msglen, "no call frame information (.eh_frame_hdr)");
		goto out;
	}
	for (size_t i = 0; i < nstarts && !err; i++) {
		uint64_t addr = starts[i], next = i + 1 < nstarts ? starts[i + 1] : UINT64_MAX;

		/* Each range of the function, as libdw's interpretation gives them. */
		while (addr < next && !err) {
			Dwarf_Addr start, end;
			Dwarf_Frame *f;
			bool sig;

			if (addr > UINT32_MAX || dwarf_cfi_addrframe(cfi, addr, &f))
				break;
			dwarf_frame_info(f, &start, &end, &sig);
			err = add_row(t, &cap, max_rows, rule_of(f, addr));
			free(f);
			if (end <= addr)
				break;
			addr = end;
		}
		/* Past the function's end, up to the next: no information. */
		if (!err && addr < next && addr <= UINT32_MAX)
			err = add_row(t, &cap, max_rows,
				      (struct unwind_row){ .pc = addr, .flags = UNWIND_STOP });
	}
	if (err == -E2BIG)
		snprintf(msg, msglen, "more than %zu unwind rows", max_rows);
	else if (err)
		snprintf(msg, msglen, "out of memory");
out:
	free(starts);
	if (elf)
		elf_end(elf);
	if (err)
		unwind_table__free(t);
	return err;
}

void unwind_table__free(struct unwind_table *t)
{
	free(t->rows);
	t->rows = NULL;
	t->n = 0;
}
