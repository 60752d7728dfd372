/*
 * The static bpftape (make STATIC=1) links libdw statically. libdw's
 * dwfl_end calls its debuginfod hook, whose object file would bring in
 * dlopen, which glibc cannot offer a static program properly (the linker
 * warns). A static bpftape fetches nothing from debuginfod (debuginfo.c
 * says so), so the hook is this empty one and that object is never linked.
 */
#ifdef BPFTAPE_STATIC
#include <elfutils/libdwfl.h>

void __libdwfl_debuginfod_end(debuginfod_client *c);

void __libdwfl_debuginfod_end(debuginfod_client *c)
{
	(void)c;
}
#endif
