# ungebro — one non-recursive Makefile.
#
# Settings are at the top and can be overridden (make VARIANT=asan, CC=clang).
# Every variant builds into its own directory so sanitizer and plain objects
# never mix; generated protobuf-c code lives only under build/.

ifeq ($(origin CC),default)
CC := gcc
endif
VARIANT   ?= release
BUILD     ?= build/$(VARIANT)
GEN       := $(BUILD)/gen
PYTHON    ?= /usr/bin/python3
PYTEST    ?= $(PYTHON) -m pytest

WARN      := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wswitch-enum \
             -Wno-switch-enum
CSTD      := -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE
OPT_release := -O2 -g
OPT_asan    := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
               -fno-sanitize-recover=undefined
OPT_debug   := -O0 -g
OPT       ?= $(OPT_$(VARIANT))
# A packager's CFLAGS, CPPFLAGS and LDFLAGS (dpkg-buildflags) come before
# the build's own, on the command line as in the environment: override,
# since a command-line CFLAGS would otherwise replace the C11 mode, the
# warnings and the include paths rather than add to them.
override CFLAGS  += $(CSTD) $(WARN) $(OPT) -I. -I$(GEN) -MMD -MP
override LDFLAGS += $(filter -fsanitize=%,$(OPT))
LDLIBS    += -lzmq -lprotobuf-c -llmdb -lsodium -lm
# The web inbox and hubd (its metrics endpoint, hub/metrics.c) serve
# HTTP. hubctl and unit tests link hub/hub.o (hub_parse_types, the loop),
# which pulls that endpoint in; adapters and inbox never link it.
LDLIBS_webd := -lmicrohttpd
LDLIBS_hubd := -lmicrohttpd
LDLIBS_hubctl := -lmicrohttpd

# Debian packages the build, the tests and the demo need. bootstrap installs
# whichever are missing, so a fresh machine needs nothing done by hand.
DEB_PACKAGES := gcc make libzmq3-dev libprotobuf-c-dev protobuf-c-compiler \
                liblmdb-dev libsodium-dev lmdb-utils python3-zmq python3-nacl \
                python3-protobuf python3-pytest protobuf-compiler \
                clang libclang-rt-14-dev clang-format \
                libmicrohttpd-dev chromium chromium-driver python3-selenium \
                valgrind redis-server redis-tools tcpdump msmtp \
                python3-pytest-xdist strace groff-base systemd

# What make format formats and the layout test checks.
FORMATTED = $(wildcard */*.c */*.h tests/unit/*.c tests/unit/*.h \
                      tests/fuzz/*.c tests/fuzz/*.h tests/bench/*.c tests/bench/*.h)

# Program entry points; every other .c file in these folders goes into
# libungebro.a so each program links only what it uses. Each
# adapters/NAME_main.c is the program adapter-NAME.
ADAPTER_MAINS := $(wildcard adapters/*_main.c)
ADAPTERS := $(patsubst adapters/%_main.c,adapter-%,$(ADAPTER_MAINS))
PROGRAMS := hubd hubctl inbox webd $(ADAPTERS)
MAIN_hubd   := hub/hubd_main.c
MAIN_hubctl := hub/hubctl_main.c
MAIN_inbox  := hub/inbox_main.c
MAIN_webd   := web/webd_main.c
$(foreach a,$(ADAPTERS),$(eval MAIN_$(a) := adapters/$(patsubst adapter-%,%,$(a))_main.c))
MAINS := $(foreach p,$(PROGRAMS),$(MAIN_$(p)))

PROTO_SRC := proto/ungebro.proto
PROTO_C   := $(GEN)/proto/ungebro.pb-c.c
PROTO_H   := $(GEN)/proto/ungebro.pb-c.h

LIB_SRC := $(filter-out $(MAINS),$(wildcard common/*.c proto/*.c store/*.c hub/*.c adapters/*.c web/*.c))
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/obj/%.o) $(BUILD)/obj/gen/ungebro.pb-c.o
LIB     := $(BUILD)/libungebro.a
BINS    := $(PROGRAMS:%=$(BUILD)/bin/%)

UNIT_SRC  := $(wildcard tests/unit/*_test.c)
UNIT_BINS := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
# The bench's load client (tests/bench/loadgen.c): built with everything
# else so the warnings gate it too.
LOADGEN   := $(BUILD)/bench/ug-loadgen

.PHONY: all test asan valgrind bench demo fuzz fuzz-build clean bootstrap format
.DEFAULT_GOAL := all
# Keep program objects; make would delete them as intermediates.
.SECONDARY:

all: $(BINS) $(UNIT_BINS) $(LOADGEN)

# One protoc-c run makes both files (&:): as two targets it would run
# twice under make -j, rewriting the header while another compile reads it.
$(PROTO_C) $(PROTO_H) &: $(PROTO_SRC)
	@mkdir -p $(GEN)/proto
	protoc-c --c_out=$(GEN) $<

$(BUILD)/obj/gen/ungebro.pb-c.o: $(PROTO_C)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

# Every object may include the generated header, so it must exist first.
$(BUILD)/obj/%.o: %.c | $(PROTO_H)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

$(LIB): $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(LOADGEN): $(BUILD)/obj/tests/bench/loadgen.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $< $(LIB) $(LDLIBS)

$(BUILD)/tests/%: $(BUILD)/obj/tests/unit/%.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $< $(LIB) $(LDLIBS) $(LDLIBS_hubd)

.SECONDEXPANSION:
$(BUILD)/bin/%: $(LIB) $$(BUILD)/obj/$$(basename $$(MAIN_$$*)).o
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $(BUILD)/obj/$(basename $(MAIN_$*)).o $(LIB) $(LDLIBS) $(LDLIBS_$*)

bootstrap:
	@missing=""; for p in $(DEB_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "bootstrap: installing$$missing"; \
	  SUDO=""; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

# make test: build, then one pytest run that executes every C unit binary as
# a case and every end-to-end test, ending with pytest's "N passed" line.
# TEST_JOBS pytest processes share the files, one file to a process at a
# time, so a file's tests still run in order beside each other; most of
# the suite waits on real clocks and sockets, not on the CPU. 1: one
# process, as pytest alone runs them.
TEST_JOBS ?= 2
ifeq ($(shell echo '$(TEST_JOBS)' | grep -xE '[1-9][0-9]?'),)
$(error TEST_JOBS must be a whole number of processes from 1 to 99, not '$(TEST_JOBS)')
endif
PYTEST_JOBS := $(if $(filter-out 1,$(TEST_JOBS)),-n $(TEST_JOBS) --dist loadfile)

test: bootstrap
	@$(MAKE) --no-print-directory all
	UG_BUILD=$(BUILD) $(PYTEST) -q --durations=20 $(PYTEST_JOBS) tests

asan: bootstrap
	@$(MAKE) --no-print-directory VARIANT=asan test

valgrind: bootstrap
	@$(MAKE) --no-print-directory all
	UG_BUILD=$(BUILD) UG_VALGRIND=1 $(PYTEST) -q $(PYTEST_JOBS) tests

# make bench: the hub against Debian's redis-server (appendfsync always),
# fresh and pre-filled store; tests/bench/bench.py says what it runs.
# BENCH_QUICK=1: one short round; BENCH_PREFILL, BENCH_PREFILL_SECONDS.
# exec: make passes a SIGTERM to its child, which must be bench.py (it
# stops its servers), not a shell that would leave it running.
bench: bootstrap
	@$(MAKE) --no-print-directory all
	UG_BUILD=$(BUILD) exec $(PYTHON) tests/bench/bench.py

# exec: as for bench, make's SIGTERM must reach demo.py, which stops the
# hubd and webd it started, not a shell that dies and leaves them.
demo: bootstrap
	@$(MAKE) --no-print-directory all
	UG_BUILD=$(BUILD) exec $(PYTHON) deploy/demo.py

# Fuzz every decoder of outside input: each tests/fuzz/NAME_fuzz.c is a
# libFuzzer target build/fuzz/NAME_fuzz (clang), run for FUZZ_SECONDS from
# its committed seed corpus tests/fuzz/corpus/NAME_fuzz; what it finds
# grows build/fuzz/corpus/NAME_fuzz, and an input that fails is saved as
# build/fuzz/NAME_fuzz-crash-SHA1 (leak-, oom-, timeout-), not wherever
# make was started. make test runs each briefly
# (tests/test_fuzz.py). An undefined-behaviour report stops the run as a
# crash does: recovered from, it would print and pass.
FUZZ_SECONDS ?= 60
# libFuzzer reads -max_total_time=abc (or 0) as no limit: a run that
# never ends, and keeps the time in an int. So make fuzz refuses such a
# value before it builds.
ifneq ($(filter fuzz,$(MAKECMDGOALS)),)
ifeq ($(shell echo '$(FUZZ_SECONDS)' | grep -xE '[1-9][0-9]{0,8}'),)
$(error FUZZ_SECONDS must be a whole number of seconds from 1 to 999999999, not '$(FUZZ_SECONDS)')
endif
endif
FUZZ_NORECOVER := -fno-sanitize-recover=undefined
FUZZ_TARGETS := $(patsubst tests/fuzz/%.c,build/fuzz/%,$(wildcard tests/fuzz/*_fuzz.c))

# The targets' make is given the library's variant too, so that it knows
# how build/fuzz/libungebro.a is made (make -n on a tree without it).
FUZZ_VARIANT = VARIANT=fuzz CC=clang \
  OPT="-O1 -g -fsanitize=fuzzer-no-link,address,undefined $(FUZZ_NORECOVER)"
fuzz-build: bootstrap
	@$(MAKE) --no-print-directory $(FUZZ_VARIANT) build/fuzz/libungebro.a
	@$(MAKE) --no-print-directory $(FUZZ_VARIANT) $(FUZZ_TARGETS)

# The targets are compiled under the same warnings as everything else;
# a target that reaches hubd's code (files_fuzz) links its libraries.
# -MMD: a target is remade when a header it includes changes (the .d
# beside it is read by the -include at the end, BUILD being build/fuzz).
build/fuzz/%_fuzz: tests/fuzz/%_fuzz.c build/fuzz/libungebro.a
	clang $(CSTD) $(WARN) -I. -Ibuild/fuzz/gen -MMD -MP -MF $@.d -MT $@ \
	  -fsanitize=fuzzer,address,undefined $(FUZZ_NORECOVER) $< \
	  build/fuzz/libungebro.a \
	  $(LDLIBS) $(LDLIBS_hubd) -o $@

fuzz: fuzz-build
	@for t in $(FUZZ_TARGETS); do \
	  name=$$(basename $$t); mkdir -p build/fuzz/corpus/$$name; \
	  echo "fuzz: $$name for $(FUZZ_SECONDS) s"; \
	  $$t -max_total_time=$(FUZZ_SECONDS) -max_len=4096 \
	    -artifact_prefix=build/fuzz/$$name- \
	    build/fuzz/corpus/$$name tests/fuzz/corpus/$$name || exit 1; \
	done

# The whole tree, as .clang-format says; tests/test_layout.py fails when
# a file is not what this makes of it. bootstrap installs clang-format.
format: bootstrap
	clang-format -i $(FORMATTED)

clean:
	rm -rf build

# ---- install / uninstall (docs/OPERATIONS.md, "Build and install") ----
# make install [PREFIX=/usr/local] [DESTDIR=] [UNITDIR=]: the programs,
# the systemd units (their paths rewritten to PREFIX; UNITDIR for a PREFIX
# whose lib/systemd/system systemd does not read), the example configs, the docs
# (with proto/ungebro.proto, the schema PROTOCOL.md sends vendors to) and a
# man page per program. uninstall removes exactly those files.
# The docs land beside README.md, not in docs/: its links are rewritten.
PREFIX  ?= /usr/local
# PREFIX=/usr/ must not write /usr//bin into the units and man pages.
PREFIX_DIR := $(patsubst %/,%,$(patsubst %/,%,$(PREFIX)))
BINDIR  := $(PREFIX_DIR)/bin
MAN1DIR := $(PREFIX_DIR)/share/man/man1
DOCDIR  := $(PREFIX_DIR)/share/doc/ungebro
UNITDIR ?= $(PREFIX_DIR)/lib/systemd/system
INSTALL_UNITS := $(wildcard deploy/*.service)
INSTALL_EXAMPLES := $(wildcard deploy/*.example) deploy/grafana-ungebro.json
INSTALL_DOCS := README.md $(wildcard docs/*.md docs/*.png)
# PROTOCOL.md names it by this path, so it keeps it beside the docs.
INSTALL_PROTO := proto/ungebro.proto
INSTALL_MAN := $(PROGRAMS:%=deploy/man/%.1)
INSTALLED := $(PROGRAMS:%=$(BINDIR)/%) \
             $(INSTALL_UNITS:deploy/%=$(UNITDIR)/%) \
             $(INSTALL_EXAMPLES:deploy/%=$(DOCDIR)/examples/%) \
             $(patsubst %,$(DOCDIR)/%,$(notdir $(INSTALL_DOCS))) \
             $(DOCDIR)/$(INSTALL_PROTO) \
             $(INSTALL_MAN:deploy/man/%=$(MAN1DIR)/%)

.PHONY: install uninstall
install: $(BINS)
	install -d -m 0755 $(DESTDIR)$(BINDIR) $(DESTDIR)$(MAN1DIR) \
	  $(DESTDIR)$(DOCDIR)/examples $(DESTDIR)$(DOCDIR)/proto $(DESTDIR)$(UNITDIR)
	install -m 0755 $(BINS) $(DESTDIR)$(BINDIR)/
	for u in $(INSTALL_UNITS); do \
	  sed -e 's|/usr/local/bin|$(BINDIR)|g' \
	      -e 's|/usr/local/share/doc/ungebro|$(DOCDIR)|g' $$u \
	    > $(DESTDIR)$(UNITDIR)/$$(basename $$u).tmp && \
	  chmod 0644 $(DESTDIR)$(UNITDIR)/$$(basename $$u).tmp && \
	  mv $(DESTDIR)$(UNITDIR)/$$(basename $$u).tmp \
	     $(DESTDIR)$(UNITDIR)/$$(basename $$u) || exit 1; \
	done
	install -m 0644 $(INSTALL_EXAMPLES) $(DESTDIR)$(DOCDIR)/examples/
	install -m 0644 $(filter-out README.md,$(INSTALL_DOCS)) $(DESTDIR)$(DOCDIR)/
	install -m 0644 $(INSTALL_PROTO) $(DESTDIR)$(DOCDIR)/proto/
	sed -e 's|](docs/|](|g' README.md > $(DESTDIR)$(DOCDIR)/README.md.tmp && \
	  chmod 0644 $(DESTDIR)$(DOCDIR)/README.md.tmp && \
	  mv $(DESTDIR)$(DOCDIR)/README.md.tmp $(DESTDIR)$(DOCDIR)/README.md
	for m in $(INSTALL_MAN); do \
	  sed -e 's|/usr/local/share/doc/ungebro|$(DOCDIR)|g' $$m \
	    > $(DESTDIR)$(MAN1DIR)/$$(basename $$m).tmp && \
	  chmod 0644 $(DESTDIR)$(MAN1DIR)/$$(basename $$m).tmp && \
	  mv $(DESTDIR)$(MAN1DIR)/$$(basename $$m).tmp \
	     $(DESTDIR)$(MAN1DIR)/$$(basename $$m) || exit 1; \
	done

uninstall:
	rm -f $(INSTALLED:%=$(DESTDIR)%)
	@# Only what is there and empty: a second uninstall is no error.
	@for d in $(DESTDIR)$(DOCDIR)/examples $(DESTDIR)$(DOCDIR)/proto \
	          $(DESTDIR)$(DOCDIR); do \
	  if [ -d "$$d" ] && [ -z "$$(ls -A "$$d")" ]; then \
	    rmdir "$$d" || exit 1; \
	  fi; \
	done

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
