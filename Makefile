# bpftape: the one Makefile. `make help` lists the targets.
.DELETE_ON_ERROR:
.SUFFIXES:
.DEFAULT_GOAL := all

ARCH := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')
B := build
PREFIX ?= /usr/local
CC ?= cc
CLANG ?= clang
BPFTOOL ?= bpftool
V ?= 0
# Warnings are errors in CI (.ci/run sets CI=1), and where asked.
WERROR ?= $(if $(CI),1,0)
STATIC ?= 0

ifeq ($(V),1)
Q :=
msg = @true
else
Q := @
msg = @printf '  %-8s %s\n' $(1) $(2);
endif

CFLAGS ?= -O2 -g
WARN := -Wall -Wextra -Wshadow -Wno-missing-field-initializers
ifeq ($(WERROR),1)
WARN += -Werror
endif
ALL_CFLAGS := $(CFLAGS) -std=gnu11 $(WARN) -D_GNU_SOURCE -MMD -MP -I. -Ireplay -Iuser -Itools -I$(B)
BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -Wall -Werror -Ivmlinux/$(ARCH) -Ibpf -MMD -MP

# --- the tape format library (replay/): every binary links it ---------------
FORMAT_SRCS := replay/parse.c replay/u64map.c replay/addr_map.c replay/tape_codec.c replay/tape_header.c replay/tape_writer.c \
	replay/tape_reader.c replay/tape_checksum.c replay/byte_input.c \
	replay/byte_output.c replay/mwrap.c replay/event_source.c
FORMAT_OBJS := $(FORMAT_SRCS:%.c=$(B)/%.o)
LIBTAPE := $(B)/libtape.a

# --- the replay engine: libc and libzstd only --------------------------------
ENGINE_SRCS := $(filter-out $(FORMAT_SRCS),$(wildcard replay/*.c))
ENGINE_OBJS := $(ENGINE_SRCS:%.c=$(B)/%.o)
ENGINE := $(B)/bpftape-replay

# --- BPF programs: one object per feature, linked into one, one skeleton ----
BPF_SRCS := $(wildcard bpf/*.bpf.c)
BPF_OBJS := $(BPF_SRCS:%.c=$(B)/%.o)
BPF_LINKED := $(B)/bpf/record.linked.o
SKEL := $(B)/record.skel.h

# --- the bpftape command: user/ (record, dispatch) and tools/ (subcommands) --
CMD_SRCS := $(wildcard user/*.c) $(wildcard tools/*.c)
CMD_OBJS := $(CMD_SRCS:%.c=$(B)/%.o)
CMD := $(B)/bpftape
CMD_LIBS := -lbpf -ldw -lelf -liberty -lz -lzstd -lpthread -ldl
ifeq ($(STATIC),1)
CMD_LDFLAGS := -static
# libdw's own dependencies (compressed sections), which a shared libdw brings itself.
CMD_LIBS += -llzma -lbz2
# No dlopen in a static binary: its symbolisation does without debuginfod.
ALL_CFLAGS += -DBPFTAPE_STATIC
endif

# --- tests, benchmarks, fuzzers ----------------------------------------------
UNIT_SRCS := $(wildcard tests/unit/*.c)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(B)/tests/unit/%)
WORKLOAD_SRCS := $(wildcard tests/workloads/*.c)
WORKLOAD_BINS := $(WORKLOAD_SRCS:tests/workloads/%.c=$(B)/tests/workloads/%)
TESTTOOL_SRCS := $(wildcard tests/tools/*.c)
TESTTOOL_BINS := $(TESTTOOL_SRCS:tests/tools/%.c=$(B)/tests/tools/%)
BENCH_SRCS := $(filter-out %.bpf.c,$(wildcard tools/bench/*.c))
BENCH_BINS := $(BENCH_SRCS:tools/bench/%.c=$(B)/bench/%)
FUZZ_SRCS := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS := $(FUZZ_SRCS:tests/fuzz/%.c=$(B)/fuzz/%)
FUZZ_SECONDS ?= 60

MAN_PAGES := $(wildcard docs/man/*.1)

.PHONY: all deps test test-build bench bench-build fuzz install clean vmlinux syscall-table help \
	demo demo-build check-static

all: $(CMD) $(ENGINE)

help:
	@echo 'make            build bpftape and bpftape-replay into $(B)/'
	@echo 'make deps       install missing Debian packages (apt-get)'
	@echo 'make test       build and run every test (needs root for the BPF tests)'
	@echo 'make demo       record the bundled demo workload, then replay it'
	@echo 'make bench      run the benchmarks and print their ratios'
	@echo 'make fuzz       run each fuzzer for FUZZ_SECONDS (default $(FUZZ_SECONDS))'
	@echo 'make vmlinux    regenerate vmlinux/$(ARCH)/vmlinux.h from this kernel'
	@echo 'make syscall-table  regenerate user/syscall_table_$(ARCH).h (needs root)'
	@echo 'make install    install into PREFIX (default $(PREFIX))'
	@echo 'options: V=1 verbose, WERROR=1 warnings are errors, STATIC=1 static bpftape'

deps:
	$(Q)tools/install-deps.sh

$(B)/%.o: %.c
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(ALL_CFLAGS) -c $< -o $@

$(LIBTAPE): $(FORMAT_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@
	$(Q)ar rcs $@ $^

$(ENGINE): $(ENGINE_OBJS) $(LIBTAPE)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) -o $@ $^ -lzstd -lpthread -lm

# BPF: compile each feature, link them into one object, generate its skeleton.
$(B)/bpf/%.bpf.o: bpf/%.bpf.c
	$(call msg,BPF,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BPF_LINKED): $(BPF_OBJS)
	$(call msg,BPFLINK,$@)
	$(Q)$(BPFTOOL) gen object $@ $^

$(SKEL): $(BPF_LINKED)
	$(call msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name record_bpf > $@

# Every object of the command may include the skeleton: generate it first.
$(CMD_OBJS): | $(SKEL)

$(CMD): $(CMD_OBJS) $(LIBTAPE)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $(CMD_LDFLAGS) -o $@ $^ $(CMD_LIBS)

$(B)/tests/unit/%: tests/unit/%.c $(LIBTAPE)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(ALL_CFLAGS) -Itests/unit -o $@ $< $(LIBTAPE) -lzstd -lz

$(B)/tests/tools/%: tests/tools/%.c $(LIBTAPE)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(ALL_CFLAGS) -o $@ $< $(LIBTAPE) -lzstd

# The recorder's loader search as data, checked against what the real loader loads.
$(B)/tests/tools/ld_list: tests/tools/ld_list.c $(B)/user/ld_search.o $(B)/user/elf_file.o \
		$(B)/user/safe_open.o
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(ALL_CFLAGS) -o $@ $(filter %.c %.o,$^) -lelf

# The unwind tables, checked against libdw's own reading of .eh_frame.
$(B)/tests/tools/unwind_check: tests/tools/unwind_check.c $(B)/user/unwind_table.o
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(ALL_CFLAGS) -o $@ $(filter %.c %.o,$^) -ldw -lelf

# Workloads call the allocator exactly as written: no builtin folding of malloc/free.
$(B)/tests/workloads/%: tests/workloads/%.c $(LIBTAPE)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(ALL_CFLAGS) -fno-builtin -O1 -o $@ $< -lpthread

# Symbolisation targets: known functions in an executable and in its library.
$(B)/tests/workloads/libsymtest.so: tests/workloads/lib/symtest.c
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(ALL_CFLAGS) -O1 -shared -fPIC -o $@ $<

$(B)/tests/workloads/sym_target: tests/workloads/sym_target.c $(B)/tests/workloads/libsymtest.so
	$(call msg,CC,$@)
	$(Q)$(CC) $(ALL_CFLAGS) -O1 -o $@ $< -L$(B)/tests/workloads -lsymtest -Wl,-rpath,'$$ORIGIN'

# Ground truth for process trees: a preloaded wrapper that counts every call of its process.
$(B)/tests/workloads/liballoc_counter.so: tests/workloads/lib/alloc_counter.c
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(ALL_CFLAGS) -O2 -shared -fPIC -fno-builtin -o $@ $< -ldl -lpthread

# A wrapper that passes every call on with a tail call.
$(B)/tests/workloads/libtail_wrapper.so: tests/workloads/lib/tail_wrapper.c
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(ALL_CFLAGS) -O2 -shared -fPIC -fno-builtin -o $@ $< -ldl

# Hostile targets: a loader of its own, and an LD_AUDIT library (tests/integration/security.sh).
$(B)/tests/workloads/evil_interp: tests/workloads/evil_interp.c
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(ALL_CFLAGS) -static -nostdlib -fno-stack-protector -o $@ $<

$(B)/tests/workloads/victim: tests/workloads/victim.c $(B)/tests/workloads/evil_interp
	$(call msg,CC,$@)
	$(Q)$(CC) $(ALL_CFLAGS) -o $@ $< -Wl,--dynamic-linker=$(abspath $(B))/tests/workloads/evil_interp

$(B)/tests/workloads/libaudit_marker.so: tests/workloads/lib/audit_marker.c
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(ALL_CFLAGS) -shared -fPIC -o $@ $<

# Known call chains, with and without frame pointers: the stack walker must get both.
$(B)/tests/workloads/stack_chain_fp: tests/workloads/stack_chain.c
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(ALL_CFLAGS) -O2 -fno-omit-frame-pointer -fno-optimize-sibling-calls -o $@ $<

$(B)/tests/workloads/stack_chain_nofp: tests/workloads/stack_chain.c
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(ALL_CFLAGS) -O2 -fomit-frame-pointer -fno-optimize-sibling-calls -o $@ $<

# Call chains that write their own ground truth (stack_truth.h), C and C++, each with and
# without frame pointers, -O2 -g: what the symbolised stacks must show.
$(B)/tests/workloads/stack_sites_fp: tests/workloads/stack_sites.c
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(ALL_CFLAGS) -O2 -g -fno-omit-frame-pointer -o $@ $<

$(B)/tests/workloads/stack_sites_nofp: tests/workloads/stack_sites.c
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(ALL_CFLAGS) -O2 -g -fomit-frame-pointer -o $@ $<

CXX ?= g++
WORKLOAD_CXXFLAGS := -O2 -g -std=gnu++17 $(WARN) -D_GNU_SOURCE -MMD -MP

$(B)/tests/workloads/stack_sites_cxx_fp: tests/workloads/stack_sites_cxx.cc
	$(call msg,CXX,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CXX) $(WORKLOAD_CXXFLAGS) -fno-omit-frame-pointer -o $@ $<

$(B)/tests/workloads/stack_sites_cxx_nofp: tests/workloads/stack_sites_cxx.cc
	$(call msg,CXX,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CXX) $(WORKLOAD_CXXFLAGS) -fomit-frame-pointer -o $@ $<

STACK_SITES := $(addprefix $(B)/tests/workloads/stack_sites,_fp _nofp _cxx_fp _cxx_nofp)

# The same workload with its allocator linked in: malloc in the executable.
$(B)/tests/workloads/alloc_workload_static: tests/workloads/alloc_workload.c
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(ALL_CFLAGS) -fno-builtin -O1 -static -o $@ $< -lpthread

$(B)/bench/%: tools/bench/%.c $(LIBTAPE)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(ALL_CFLAGS) -fno-builtin -o $@ $< $(LIBTAPE) -lzstd -lz -lpthread

# The syscall benchmark's counting-only floor: its own BPF object and skeleton.
$(B)/bench/count_sys.bpf.o: tools/bench/count_sys.bpf.c
	$(call msg,BPF,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(B)/bench/count_sys.skel.h: $(B)/bench/count_sys.bpf.o
	$(call msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name count_sys_bpf > $@

$(B)/bench/count_sys: tools/bench/count_sys.c $(B)/bench/count_sys.skel.h
	$(call msg,CC,$@)
	$(Q)$(CC) $(ALL_CFLAGS) -o $@ $< -lbpf -lelf -lz

# The replay baselines read the prepared form with the engine's own code.
$(B)/bench/replay_baselines: tools/bench/replay_baselines.c $(filter-out $(B)/replay/main.o,$(ENGINE_OBJS)) $(LIBTAPE)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(ALL_CFLAGS) -fno-builtin -o $@ $^ -lzstd -lpthread -lm

FUZZ_CFLAGS := -g -O1 -std=gnu11 -D_GNU_SOURCE -Ireplay -fsanitize=fuzzer,address,undefined
$(B)/fuzz/%: tests/fuzz/%.c $(FORMAT_SRCS) $(filter-out replay/main.c,$(ENGINE_SRCS))
	$(call msg,FUZZ,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) -o $@ $^ -lzstd -lpthread -lm

# test, demo and bench install what is missing first, then build, then run.
test:
	$(Q)$(MAKE) --no-print-directory deps
	$(Q)$(MAKE) --no-print-directory test-build
	$(Q)B=$(B) tests/run.sh

test-build: all $(UNIT_BINS) $(WORKLOAD_BINS) $(TESTTOOL_BINS) \
	$(B)/tests/workloads/alloc_workload_static $(B)/tests/workloads/sym_target \
	$(B)/tests/workloads/liballoc_counter.so $(B)/tests/workloads/libtail_wrapper.so \
	$(B)/tests/workloads/victim $(B)/tests/workloads/libaudit_marker.so \
	$(B)/tests/workloads/stack_chain_fp $(B)/tests/workloads/stack_chain_nofp $(STACK_SITES)
	$(Q)$(MAKE) --no-print-directory STATIC=1 B=$(B)/static $(B)/static/bpftape

demo:
	$(Q)$(MAKE) --no-print-directory deps
	$(Q)$(MAKE) --no-print-directory demo-build
	$(Q)B=$(B) tools/demo.sh

demo-build: all $(WORKLOAD_BINS)

bench:
	$(Q)$(MAKE) --no-print-directory deps
	$(Q)$(MAKE) --no-print-directory bench-build
	$(Q)B=$(B) tools/bench/run.sh

bench-build: all $(BENCH_BINS) $(WORKLOAD_BINS) $(TESTTOOL_BINS) $(STACK_SITES)

fuzz: $(FUZZ_BINS)
	$(Q)tests/fuzz/run.sh $(FUZZ_SECONDS)

check-static:
	$(Q)$(MAKE) --no-print-directory STATIC=1 B=$(B)/static $(B)/static/bpftape
	$(Q)file $(B)/static/bpftape | grep -q 'statically linked'

vmlinux:
	$(Q)mkdir -p vmlinux/$(ARCH)
	$(Q){ echo "/* Generated by 'make vmlinux' with $$($(BPFTOOL) version | head -1) from the BTF of Linux $$(uname -r) ($$(uname -m)). */"; \
	      $(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c; } > vmlinux/$(ARCH)/vmlinux.h.tmp
	$(Q)mv vmlinux/$(ARCH)/vmlinux.h.tmp vmlinux/$(ARCH)/vmlinux.h
	@echo "  wrote vmlinux/$(ARCH)/vmlinux.h"

syscall-table:
	$(Q)tools/gen-syscall-table.sh user/syscall_table_$(ARCH).h

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1
	install -m 755 $(CMD) $(ENGINE) $(DESTDIR)$(PREFIX)/bin/
	install -m 644 $(MAN_PAGES) $(DESTDIR)$(PREFIX)/share/man/man1/

clean:
	rm -rf $(B)

-include $(shell find $(B) -name '*.d' 2>/dev/null)
