# Makefile -- build libperftap.so and perftap; test, demo, bench, install.
#
# Sources are found by wildcard so that a new module is one new file:
#   shim/*.c        -> libperftap.so (shim/hooks*.c and shim/preload*.c only
#                      there; the rest is also linked into the unit tests)
#   report/*.c      -> perftap (report/main.c only there)
#   tests/unit/test_*.c   -> one Criterion binary each, built twice: plain,
#                      and with AddressSanitizer + UndefinedBehaviorSanitizer
#   tests/clients/*.c     -> real C clients (libmariadb, hiredis) for the
#                      integration tests

CC       ?= gcc
PREFIX   ?= /usr/local
DESTDIR  ?=
BUILD    ?= build

PKGS     := libmariadb hiredis libcjson libunwind
# Missing packages must not break `make clean` or the first line of
# `make test` (which installs them), hence the 2>/dev/null.
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CJSON_LIBS := $(shell pkg-config --libs libcjson 2>/dev/null)
CRIT_LIBS  := $(shell pkg-config --libs criterion 2>/dev/null)
# The command's own libraries: SQLite (history), elfutils (symbolizing
# stacks), ncurses (top).  The shim never links these: it must not pull
# libsqlite3 into a program that does not use it.
REPORT_LIBS := $(shell pkg-config --libs sqlite3 libdw ncurses 2>/dev/null)

WARN     := -Wall -Wextra -Werror
CFLAGS   ?= -O2 -g
# PT_DEBUG_ASSERT (shim/debug.h) checks the invariant blocks: always in
# the sanitizer unit tests, in everything with `make DEBUG=1
# BUILD=build-debug` (a build directory of its own), never in the release
# shim.
DEBUG    ?=
DEBUG_CFLAGS := $(if $(filter 1,$(DEBUG)),-DPERFTAP_DEBUG)
ALL_CFLAGS := -std=c11 -D_GNU_SOURCE $(WARN) $(CFLAGS) $(DEBUG_CFLAGS) -fPIC \
	-fvisibility=hidden -Iinclude -Ishim -Ireport $(PKG_CFLAGS) -MMD -MP
SAN_FLAGS := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer \
	-fno-sanitize-recover=undefined

SHIM_SRC    := $(wildcard shim/*.c)
PRELOAD_SRC := $(wildcard shim/hooks*.c shim/preload*.c)
CORE_SRC    := $(filter-out $(PRELOAD_SRC),$(SHIM_SRC))
REPORT_SRC  := $(wildcard report/*.c)
REPORT_LIB_SRC := $(filter-out report/main.c,$(REPORT_SRC))
UNIT_SRC    := $(wildcard tests/unit/test_*.c)
UNIT_HELPER_SRC := $(filter-out $(UNIT_SRC),$(wildcard tests/unit/*.c))
CLIENT_SRC  := $(wildcard tests/clients/*.c)
BENCH_SRC   := $(wildcard bench/*.c)
FUZZ_SRC    := $(wildcard tests/fuzz/fuzz_*.c)
PROBE_SRC   := $(wildcard tests/probes/*.c)

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))
san = $(patsubst %.c,$(BUILD)/san/%.o,$(1))

LIB      := $(BUILD)/libperftap.so
CMD      := $(BUILD)/perftap
UNIT_BIN := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))
SAN_BIN  := $(patsubst tests/unit/%.c,$(BUILD)/tests-san/%,$(UNIT_SRC))
CLIENT_BIN := $(patsubst tests/clients/%.c,$(BUILD)/clients/%,$(CLIENT_SRC))
BENCH_BIN  := $(patsubst bench/%.c,$(BUILD)/bench/%,$(BENCH_SRC))
FUZZ_BIN   := $(patsubst tests/fuzz/%.c,$(BUILD)/fuzz/%,$(FUZZ_SRC))

# libFuzzer targets (tests/fuzz/fuzz_*.c): clang only.  Every target links
# the shim's core and the report's modules, built once with coverage
# instrumentation; a sanitizer report is a crash (-fno-sanitize-recover).
FUZZ_CC    := clang
FUZZ_FLAGS := -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=undefined \
	-fno-omit-frame-pointer
FUZZ_CFLAGS := -std=c11 -D_GNU_SOURCE $(WARN) -Iinclude -Ishim -Ireport \
	$(PKG_CFLAGS) -MMD -MP
fuzzobj = $(patsubst %.c,$(BUILD)/fuzz/obj/%.o,$(1))
FUZZ_SECONDS ?= 60
PROBE_LIB  := $(patsubst tests/probes/%.c,$(BUILD)/probes/%.so,$(PROBE_SRC))

LIBS_COMMON := $(CJSON_LIBS) -lm -lpthread -ldl

# Objects are built through pattern rules named in other pattern rules'
# prerequisites, which would make them intermediate (deleted after every
# link, so every build recompiled everything).
.SECONDARY:

.PHONY: all test unit-tests build-tests demo bench fuzz fuzz-build install uninstall clean format deps
all: $(LIB) $(CMD)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(BUILD)/san/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(SAN_FLAGS) -DPERFTAP_DEBUG -c $< -o $@

# The shim: only interposed symbols are exported (-fvisibility=hidden plus
# PT_EXPORT on each hook); everything else stays private to the library.
$(LIB): $(call obj,$(SHIM_SRC))
	$(CC) -shared -o $@ $^ -Wl,-z,now -Wl,--no-undefined $(LIBS_COMMON)

$(CMD): $(call obj,$(REPORT_SRC) $(CORE_SRC))
	$(CC) -o $@ $^ $(REPORT_LIBS) $(LIBS_COMMON)

$(BUILD)/tests/%: $(call obj,tests/unit/%.c $(UNIT_HELPER_SRC) $(CORE_SRC) $(REPORT_LIB_SRC))
	@mkdir -p $(@D)
	$(CC) -o $@ $^ $(CRIT_LIBS) $(REPORT_LIBS) $(LIBS_COMMON)

$(BUILD)/tests-san/%: $(call san,tests/unit/%.c $(UNIT_HELPER_SRC) $(CORE_SRC) $(REPORT_LIB_SRC))
	@mkdir -p $(@D)
	$(CC) $(SAN_FLAGS) -o $@ $^ $(CRIT_LIBS) $(REPORT_LIBS) $(LIBS_COMMON)

$(BUILD)/fuzz/obj/%.o: %.c
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_FLAGS) -fsanitize=fuzzer-no-link -c $< -o $@

$(BUILD)/fuzz/%: $(call fuzzobj,tests/fuzz/%.c $(CORE_SRC) $(REPORT_LIB_SRC))
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_FLAGS) -fsanitize=fuzzer -o $@ $^ $(REPORT_LIBS) $(LIBS_COMMON)

$(BUILD)/clients/%: tests/clients/%.c
	@mkdir -p $(@D)
	$(CC) -std=c11 -D_GNU_SOURCE $(WARN) -O2 -g $(PKG_CFLAGS) -Iinclude -o $@ $< $(PKG_LIBS) -lpthread

$(BUILD)/bench/%: bench/%.c $(call obj,$(CORE_SRC) $(REPORT_LIB_SRC))
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -o $@ $(filter %.c %.o,$^) $(REPORT_LIBS) $(LIBS_COMMON)

# Probes: ctypes-loadable libraries over shim modules, for tests that need
# a live CPython (pyrt); Python's headers only check offsets there.
PY_CFLAGS := $(shell pkg-config --cflags python3 2>/dev/null)
$(BUILD)/probes/%.so: tests/probes/%.c shim/pyrt.c shim/pyframes.c
	@mkdir -p $(@D)
	$(CC) -std=c11 -D_GNU_SOURCE $(WARN) -O2 -g -fPIC -shared -fvisibility=hidden \
		-Ishim -Iinclude $(PY_CFLAGS) -o $@ $^ -lpthread -ldl

# The stack probe also needs the capture and the writer.
$(BUILD)/probes/stack_probe.so: tests/probes/stack_probe.c shim/pyrt.c \
		shim/pyframes.c shim/stack.c shim/writer.c shim/real.c shim/sys.c
	@mkdir -p $(@D)
	$(CC) -std=c11 -D_GNU_SOURCE $(WARN) -O2 -g -fPIC -shared -fvisibility=hidden \
		-Ishim -Iinclude $(PY_CFLAGS) -o $@ $^ -lpthread -ldl

unit-tests: $(UNIT_BIN) $(SAN_BIN)
build-tests: all unit-tests $(CLIENT_BIN) $(BENCH_BIN) $(FUZZ_BIN) $(PROBE_LIB) \
		$(BUILD)/tools/austin
fuzz-build: $(FUZZ_BIN)

# The sampler test_stacks_austin.py cross-checks call sites against
# (Debian 12's austin cannot read CPython 3.11: the script says more).
$(BUILD)/tools/austin: scripts/build-austin.sh
	PERFTAP_BUILD=$(abspath $(BUILD)) bash scripts/build-austin.sh

# Every target for FUZZ_SECONDS each, one after the other, on a copy of
# its committed corpus (tests/fuzz/corpus/TARGET); new inputs stay in
# $(BUILD)/fuzz/corpus, crashes in $(BUILD)/fuzz/artifacts.
fuzz: deps
	$(MAKE) fuzz-build
	PERFTAP_BUILD=$(BUILD) FUZZ_SECONDS=$(FUZZ_SECONDS) bash scripts/fuzz.sh run

deps:
	bash scripts/install-deps.sh

# `make test` is the one command CI and new users run: it installs what is
# missing, builds, starts private servers, runs every test, stops them.
test: deps
	$(MAKE) build-tests
	PERFTAP_BUILD=$(BUILD) bash scripts/run-tests.sh

demo: deps
	$(MAKE) all
	BUILD=$(abspath $(BUILD)) bash scripts/demo.sh

bench:
	bash scripts/install-deps.sh --bench
	$(MAKE) all $(BENCH_BIN) $(CLIENT_BIN)
	PERFTAP_BUILD=$(BUILD) bash scripts/bench.sh

install: all
	install -d $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/bin
	install -m 0755 $(LIB) $(DESTDIR)$(PREFIX)/lib/libperftap.so
	install -m 0755 $(CMD) $(DESTDIR)$(PREFIX)/bin/perftap
	install -d $(DESTDIR)$(PREFIX)/share/perftap
	install -m 0644 baselines/*.json $(DESTDIR)$(PREFIX)/share/perftap/

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/lib/libperftap.so $(DESTDIR)$(PREFIX)/bin/perftap
	rm -rf $(DESTDIR)$(PREFIX)/share/perftap

format:
	clang-format -i $(wildcard include/perftap/*.h shim/*.[ch] report/*.[ch] tests/unit/*.[ch] tests/clients/*.c tests/fuzz/*.[ch] bench/*.c)

clean:
	@if [ -x scripts/servers.sh ] && [ -d $(BUILD)/servers ]; then PERFTAP_BUILD=$(BUILD) bash scripts/servers.sh stop; fi
	rm -rf $(BUILD)

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
