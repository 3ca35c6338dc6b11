# Differential tests against the system glibc 2.36: the same traces, corruptions and programs run
# plain and with build/libptmalloc.so preloaded must give identical answers (tests/diff/).
#   test-diff           traces (200 x 20,000 operations), corruptions, DWARF layouts, exports, programs
#   test-diff-tunables  the traces again under every tunable, MALLOC_* variable and mallopt parameter

DIFF_PROGRAMS := $(BUILD)/diff/trace_gen $(BUILD)/diff/replay $(BUILD)/diff/corrupt \
	$(BUILD)/diff/sbrk_blocked
# The replayer and the corruption stager must call the allocator exactly as written.
DIFF_CFLAGS := $(SAMPLE_CFLAGS) -fno-builtin-malloc -fno-builtin-free -fno-builtin-calloc \
	-fno-builtin-realloc
DIFF_PYTEST := PTM_BUILD=$(abspath $(BUILD)) $(PYTHON) -m pytest -q -p no:cacheprovider

ALL_TARGETS += $(DIFF_PROGRAMS)
TEST_TARGETS += test-diff test-diff-tunables

$(BUILD)/diff/%: tests/diff/%.c
	@mkdir -p $(dir $@)
	$(CC) $(DIFF_CFLAGS) -o $@ $<

.PHONY: test-diff test-diff-tunables
test-diff: $(DIFF_PROGRAMS) $(BUILD)/libptmalloc.so
	$(DIFF_PYTEST) tests/diff --ignore=tests/diff/test_tunables.py

test-diff-tunables: $(DIFF_PROGRAMS) $(BUILD)/libptmalloc.so
	$(DIFF_PYTEST) tests/diff/test_tunables.py

$(BUILD)/diff/replay: tests/diff/raw_output.h
$(BUILD)/diff/sbrk_blocked: tests/diff/raw_output.h
