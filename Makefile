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

.PHONY: all test demo deps clean run-tests test-lane-gdb test-lane-others
all: build-all

# Fragments are included in a fixed order so that `make test` runs the fast C suites first.
include mk/deps.mk
include mk/allocator.mk
include $(filter-out mk/deps.mk mk/allocator.mk,$(sort $(wildcard mk/*.mk)))

# The format check, the Python lint and the fast C suites first, then the differential, gdb and
# audit suites.
TEST_ORDER := format-check lint test-unit test-native test-dwarf test-diff test-diff-tunables test-diff-2.31 test-diff-2.41 test-stats test-threads test-gdb test-audit
TEST_TARGETS := $(filter $(TEST_TARGETS),$(TEST_ORDER)) $(filter-out $(TEST_ORDER),$(TEST_TARGETS))

build-all: $(ALL_TARGETS)

# The suites that drive gdb (each runs one gdb after another, so one core is mostly idle): a lane
# of their own, run beside the lane of the other suites.  Within a lane the suites run one after
# another; each lane's output is printed whole when it ends, so the two never interleave.
GDB_LANE := test-gdb test-oracle test-predict test-robust-gdb
GDB_LANE_TARGETS := $(filter $(GDB_LANE),$(TEST_TARGETS))
OTHER_LANE_TARGETS := $(filter-out $(GDB_LANE),$(TEST_TARGETS))

# -k: every suite runs even when an earlier one fails, so one run reports every failure.
# The build runs on every core; the suites in two lanes side by side (see GDB_LANE).
test: deps
	@$(MAKE) --no-print-directory -j$(shell nproc) build-all
	@$(MAKE) -k --no-print-directory -j2 --output-sync=recurse run-tests

run-tests: test-lane-gdb test-lane-others

test-lane-gdb:
	@$(MAKE) -k --no-print-directory -j1 $(GDB_LANE_TARGETS)

test-lane-others:
	@$(MAKE) -k --no-print-directory -j1 $(OTHER_LANE_TARGETS)

clean:
	rm -rf $(BUILD)

$(BUILD):
	mkdir -p $@
