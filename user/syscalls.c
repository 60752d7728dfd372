/* The syscall table and syscall-set parsing. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "syscalls.h"

#define SYSCALL(nr_, name_, nargs_, path_, classes_) \
	{ .nr = nr_, .nargs = nargs_, .path_arg = path_, .classes = classes_, .name = name_ },

static const struct syscall_info table[] = {
#include "syscall_table_x86.h"
};

#undef SYSCALL

#define NSYSCALLS (sizeof(table) / sizeof(table[0]))

size_t syscall_count(void)
{
	return NSYSCALLS;
}

const struct syscall_info *syscall_at(size_t i)
{
	return i < NSYSCALLS ? &table[i] : NULL;
}

const struct syscall_info *syscall_by_nr(unsigned nr)
{
	/* The table is sorted by number, and dense from 0: most are at their own index. */
	size_t lo = 0, hi = NSYSCALLS;

	if (nr < NSYSCALLS && table[nr].nr == nr)
		return &table[nr];

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (table[mid].nr == nr)
			return &table[mid];
		if (table[mid].nr < nr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

const struct syscall_info *syscall_by_name(const char *name)
{
	for (size_t i = 0; i < NSYSCALLS; i++)
		if (!strcmp(table[i].name, name))
			return &table[i];
	return NULL;
}

static const struct {
	const char *name;
	unsigned bit;
} classes[] = {
	{ "file", SC_FILE }, { "net", SC_NET }, { "mem", SC_MEM },
	{ "process", SC_PROCESS }, { "signal", SC_SIGNAL },
	/* strace's names for the same classes (-e trace=%file) */
	{ "%file", SC_FILE }, { "%net", SC_NET }, { "%network", SC_NET }, { "%memory", SC_MEM },
	{ "%process", SC_PROCESS }, { "%signal", SC_SIGNAL },
};

static void set_bit(uint64_t *bitmap, unsigned nr)
{
	if (nr < SYSCALL_NR_MAX)
		bitmap[nr / 64] |= 1ull << (nr % 64);
}

/* The trampolines' syscalls are the tracer's, not the program's. */
static void clear_tracer(uint64_t *bitmap)
{
	for (size_t i = 0; i < NSYSCALLS; i++)
		if ((table[i].classes & SC_TRACER) && table[i].nr < SYSCALL_NR_MAX)
			bitmap[table[i].nr / 64] &= ~(1ull << (table[i].nr % 64));
}

int syscall_set_parse(const char *spec, uint64_t *bitmap, char *msg, size_t msglen)
{
	char *copy, *save = NULL, *tok;
	int count = 0, err = 0;

	memset(bitmap, 0, SYSCALL_NR_MAX / 8);
	if (!strcmp(spec, "none"))
		return 0;
	if (!strcmp(spec, "all")) {
		memset(bitmap, 0xff, SYSCALL_NR_MAX / 8);
		clear_tracer(bitmap);
		return SYSCALL_NR_MAX;
	}
	copy = strdup(spec);
	if (!copy)
		return -ENOMEM;
	for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		const struct syscall_info *sc = syscall_by_name(tok);
		unsigned cls = 0;

		for (size_t i = 0; i < sizeof(classes) / sizeof(classes[0]); i++)
			if (!strcmp(classes[i].name, tok))
				cls = classes[i].bit;
		if (sc) {
			set_bit(bitmap, sc->nr);
		} else if (cls) {
			for (size_t i = 0; i < NSYSCALLS; i++)
				if (table[i].classes & cls)
					set_bit(bitmap, table[i].nr);
		} else {
			snprintf(msg, msglen,
				 "'%s' is neither a syscall nor a class (file, net, mem, process, signal, or "
				 "strace's %%file, %%network, %%memory, %%process, %%signal)",
				 tok);
			err = -EINVAL;
			break;
		}
	}
	free(copy);
	if (err)
		return err;
	clear_tracer(bitmap);
	for (unsigned i = 0; i < SYSCALL_NR_MAX; i++)
		count += (bitmap[i / 64] >> (i % 64)) & 1;
	return count;
}
