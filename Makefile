# One entry point for the whole project.  Each part of the house keeps its rules in mk/<part>.mk and
# adds itself to ALL_TARGETS (built by `make`) and TEST_TARGETS (run by `make test`, in order).

BUILD      := build
CC         := gcc
PYTHON     := /usr/bin/python3
GDB        := gdb
# Our own C: C11 with GNU extensions (TLS, attributes), full DWARF so gdb knows every heap type.
CFLAGS_DEBUG := -g3 -gdwarf-5 -fno-omit-frame-pointer
CFLAGS     := -std=gnu11 -O2 $(CFLAGS_DEBUG) -Wall -Wextra -Werror
# Test programs and samples: never optimise away what they stage.
SAMPLE_CFLAGS := -std=gnu11 -O0 $(CFLAGS_DEBUG) -Wall -Wextra -Werror

ALL_TARGETS  :=
TEST_TARGETS :=

.PHONY: all test demo deps clean
all: build-all

# Fragments are included in a fixed order so that `make test` runs the fast C suites first.
include mk/deps.mk
include mk/allocator.mk
include $(filter-out mk/deps.mk mk/allocator.mk,$(sort $(wildcard mk/*.mk)))

# The format check, the Python lint and the fast C suites first, then the differential, gdb and
# audit suites.
TEST_ORDER := format-check lint test-unit test-native test-dwarf test-diff test-diff-tunables test-diff-2.31 test-stats test-threads test-gdb test-audit
TEST_TARGETS := $(filter $(TEST_TARGETS),$(TEST_ORDER)) $(filter-out $(TEST_ORDER),$(TEST_TARGETS))

build-all: $(ALL_TARGETS)

# -k: every suite runs even when an earlier one fails, so one run reports every failure.
# The build runs on every core; the suites one after another (some of them time or race threads).
test: deps
	@$(MAKE) --no-print-directory -j$(shell nproc) build-all
	@$(MAKE) -k --no-print-directory run-tests

run-tests: $(TEST_TARGETS)

clean:
	rm -rf $(BUILD)

$(BUILD):
	mkdir -p $@
