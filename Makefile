# sonde: the one build. `make` builds ./sonde and ./sonde.so;
# `make test`, `make demo`, `make asan`, `make bench` set up, build and run.
# Objects go to build/$(MODE) (release or asan), so both builds coexist.

MODE ?= release
B ?= build/$(MODE)
CC ?= cc

PKGS := lua5.4 libpng zlib libdeflate cairo fontconfig
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) openblas)
PKG_LIBS = $(shell pkg-config --libs $(PKGS))
# OpenBLAS is opened at first use (blas.c), after sonde has chosen its core
# type, so it is not linked: start-up stays fast and OPENBLAS_CORETYPE can
# still be set.
OPENBLAS_LIB = $(shell pkg-config --variable=libdir openblas)/libopenblas.so.0

WARN := -Wall -Wextra -Wno-unused-parameter
CFLAGS_release := -O2 -g
CFLAGS_asan := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS_asan := -fsanitize=address,undefined
# -ffp-contract=off: no silent FMA, so a result does not depend on the
# compiler's choice to fuse; results are the same bits run to run.
ALL_CFLAGS = -std=gnu11 $(WARN) $(CFLAGS_$(MODE)) -fPIC -pthread -ffp-contract=off \
  $(PKG_CFLAGS) -DSD_OPENBLAS_LIB='"$(OPENBLAS_LIB)"' $(CFLAGS)
ALL_LDFLAGS = $(LDFLAGS_$(MODE)) -pthread $(LDFLAGS)

CORE_SRC := $(wildcard runtime/core/*.c runtime/ml/*.c runtime/io/*.c)
LUA_SRC := $(wildcard runtime/lua/*.c)
INTERP_SRC := $(wildcard interp/*.c)
STDLIB := $(sort $(wildcard stdlib/*.lua))
UNIT_SRC := $(wildcard tests/unit/test_*.c)

CORE_OBJ := $(CORE_SRC:%.c=$(B)/%.o)
LUA_OBJ := $(LUA_SRC:%.c=$(B)/%.o) $(B)/stdlib_embed.o
INTERP_OBJ := $(INTERP_SRC:%.c=$(B)/%.o)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(B)/tests/%)
LIBS = $(PKG_LIBS) -ldl -lm

ifeq ($(B),build/release)
PROG := sonde
MODULE := sonde.so
else
PROG := $(B)/sonde
MODULE := $(B)/sonde.so
endif

.PHONY: all deps test check demo asan bench clean fuzz
all: $(PROG) $(MODULE) $(UNIT_BIN)

$(PROG): $(INTERP_OBJ) $(LUA_OBJ) $(CORE_OBJ)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS) -lreadline

# For a stock lua5.4: require "sonde" (the host provides Lua's symbols).
$(MODULE): $(LUA_OBJ) $(CORE_OBJ)
	$(CC) $(ALL_LDFLAGS) -shared -o $@ $^ $(shell pkg-config --libs libpng zlib libdeflate cairo fontconfig) -ldl -lm

$(B)/%.o: %.c $(wildcard runtime/*/*.h interp/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(B)/embed: scripts/embed.c
	@mkdir -p $(B)
	$(CC) -O1 -o $@ $<

$(B)/stdlib_embed.c: $(B)/embed $(STDLIB)
	$(B)/embed $@ $(foreach f,$(STDLIB),$(basename $(notdir $(f)))=$(f))

$(B)/stdlib_embed.o: $(B)/stdlib_embed.c
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(B)/tests/%: tests/unit/%.c $(CORE_OBJ) tests/unit/unit.h
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Iruntime/core -o $@ $< $(CORE_OBJ) $(ALL_LDFLAGS) \
	  $(shell pkg-config --cflags --libs check) $(LIBS)

editor-files: $(PROG) # editor files' built-in lists, from the doc registry (scripts/editor_files.lua)
	$(abspath $(PROG)) --dump-api >$(B)/api.json && $(abspath $(PROG)) scripts/editor_files.lua $(B)/api.json .

deps:
	@sh scripts/deps.sh

# The suite: C units (Check) and Lua tests, totalled in one line.
check: all
	@sh tests/run.sh $(B) $(abspath $(PROG))

test: deps
	@$(MAKE) --no-print-directory check

demo: deps
	@$(MAKE) --no-print-directory all
	./sonde run examples/quickstart.sonde --out runs

asan: deps
	@$(MAKE) --no-print-directory MODE=asan check

bench:
	@sh scripts/deps.sh bench
	@$(MAKE) --no-print-directory all
	@sh bench/run.sh

# libFuzzer targets, one per file reader (tests/fuzz/fuzz_*.c), built with
# clang over the core and io sources; tests/fuzz/test_fuzz.sh runs them.
FUZZ_B := build/fuzz
FUZZ_SAN := -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_CFLAGS = -std=gnu11 -g -O1 -pthread $(FUZZ_SAN) $(PKG_CFLAGS) -DSD_OPENBLAS_LIB='"$(OPENBLAS_LIB)"'
FUZZ_BIN := $(patsubst tests/fuzz/%.c,$(FUZZ_B)/%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_OBJ := $(CORE_SRC:%.c=$(FUZZ_B)/%.o)

fuzz: $(FUZZ_BIN)
.SECONDARY: $(FUZZ_OBJ)

$(FUZZ_B)/%.o: %.c $(wildcard runtime/*/*.h)
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<

$(FUZZ_B)/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_OBJ)
	clang $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $^ $(LIBS)

clean:
	rm -rf build sonde sonde.so
