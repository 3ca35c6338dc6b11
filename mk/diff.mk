# Differential tests against the system glibc 2.36: the same traces, corruptions and programs run
# plain and with build/libptmalloc.so preloaded must give identical answers (tests/diff/).
#   test-diff           traces (200 x DIFF_OPERATIONS), corruptions, DWARF layouts, exports, programs
#   test-diff-tunables  the traces again under every tunable, MALLOC_* variable and mallopt parameter
#                       (DIFF_TUNABLE_SEEDS traces each)
#   fuzz-diff           both at full length (200 x 20,000 operations, three traces per setting),
#                       part of `make fuzz`; `make test` runs them shorter to stay within its time

DIFF_PROGRAMS := $(BUILD)/diff/trace_gen $(BUILD)/diff/replay $(BUILD)/diff/corrupt \
	$(BUILD)/diff/sbrk_blocked
# The replayer and the corruption stager must call the allocator exactly as written.
DIFF_CFLAGS := $(SAMPLE_CFLAGS) -fno-builtin-malloc -fno-builtin-free -fno-builtin-calloc \
	-fno-builtin-realloc
DIFF_PYTEST := PTM_BUILD=$(abspath $(BUILD)) $(PYTHON) -m pytest -q -p no:cacheprovider
DIFF_OPERATIONS ?= 5000
DIFF_TUNABLE_SEEDS ?= 1

ALL_TARGETS += $(DIFF_PROGRAMS)
TEST_TARGETS += test-diff test-diff-tunables

$(BUILD)/diff/%: tests/diff/%.c
	@mkdir -p $(dir $@)
	$(CC) $(DIFF_CFLAGS) -o $@ $<

.PHONY: test-diff test-diff-tunables fuzz-diff
test-diff: $(DIFF_PROGRAMS) $(BUILD)/libptmalloc.so
	PTM_TRACE_OPERATIONS=$(DIFF_OPERATIONS) $(DIFF_PYTEST) tests/diff \
		--ignore=tests/diff/test_tunables.py

test-diff-tunables: $(DIFF_PROGRAMS) $(BUILD)/libptmalloc.so
	PTM_TUNABLE_SEEDS=$(DIFF_TUNABLE_SEEDS) $(DIFF_PYTEST) tests/diff/test_tunables.py

fuzz: fuzz-diff
fuzz-diff: $(DIFF_PROGRAMS) $(BUILD)/libptmalloc.so
	PTM_TRACE_OPERATIONS=20000 $(DIFF_PYTEST) tests/diff

$(BUILD)/diff/replay: tests/diff/raw_output.h
$(BUILD)/diff/sbrk_blocked: tests/diff/raw_output.h
