/*
 * The C++ chains of stack_sites.c: operator new through std::vector's
 * push_back, a plain new, and a new in a member function inlined into its
 * caller, each from a known chain that the program writes down itself
 * (stack_truth.h). Every object is left allocated. Usage: stack_sites_cxx LOG
 */
#include <cstdio>
#include <vector>

#include "stack_truth.h"

namespace sites {

struct Blob {
	char bytes[4007];
};

struct Widget {
	char bytes[3011];
};

struct Gadget {
	char bytes[2011];
	/* Always inlined into its caller: one return address, two frames. */
	static inline __attribute__((always_inline)) Gadget *make(truth *t, int at)
	{
		Gadget *g;

		NOTE_INLINED(t, at);
		g = CALL(t, at, new Gadget());
		BARRIER();
		return g;
	}
};

/* Never destroyed (a static one would free its buffer at exit): its buffer is a leak. */
static std::vector<Blob> &table = *new std::vector<Blob>;
static Widget *volatile widget_sink;
static Gadget *volatile gadget_sink;

/* The first push_back of an empty vector: operator new(sizeof(Blob)). */
NOINLINE void grow(truth *t, int at)
{
	NOTE_RETURN(t, at);
	CALL(t, at, table.push_back(Blob()));
	BARRIER();
}

NOINLINE void fill_table(truth *t, int at)
{
	NOTE_RETURN(t, at);
	CALL(t, at, grow(t, at + 1));
	BARRIER();
}

NOINLINE void make_widget(truth *t, int at)
{
	NOTE_RETURN(t, at);
	widget_sink = CALL(t, at, new Widget());
	BARRIER();
}

NOINLINE void build(truth *t, int at)
{
	NOTE_RETURN(t, at);
	CALL(t, at, make_widget(t, at + 1));
	BARRIER();
}

NOINLINE void assemble(truth *t, int at)
{
	NOTE_RETURN(t, at);
	gadget_sink = CALL(t, at, Gadget::make(t, at + 1));
	BARRIER();
}

} // namespace sites

int main(int argc, char **argv)
{
	truth t;
	FILE *log = argc > 1 ? std::fopen(argv[1], "w") : nullptr;

	if (!log)
		return 2;
	truth_maps(log);
	truth_start(&t, "vector", sizeof(sites::Blob));
	CALL(&t, 0, sites::fill_table(&t, 1));
	truth_write(&t, log);

	truth_start(&t, "new", sizeof(sites::Widget));
	CALL(&t, 0, sites::build(&t, 1));
	truth_write(&t, log);

	truth_start(&t, "inlined", sizeof(sites::Gadget));
	CALL(&t, 0, sites::assemble(&t, 1));
	truth_write(&t, log);
	return std::fclose(log) ? 1 : 0;
}
