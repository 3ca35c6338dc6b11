# The differential tests against the real glibc 2.31 (tests/diff/, with PTM_GLIBC=2.31): the
# replayer and the corruption stager built against 2.31 and run by its loader, plain and with
# build/libptmalloc-2.31.so preloaded (dlsym is in 2.31's separate libdl).  The traces are
# shorter than 2.36's (200 x 2,000 operations; the tunables pass on one seed) to keep `make test`
# short; `make test-diff-2.31 DIFF_2_31_OPERATIONS=20000` runs the full length.

DIFF_2_31_DIR      := $(BUILD)/diff-2.31
DIFF_2_31_PROGRAMS := $(DIFF_2_31_DIR)/replay $(DIFF_2_31_DIR)/corrupt $(DIFF_2_31_DIR)/hooks_probe \
	$(DIFF_2_31_DIR)/check_probe
DIFF_2_31_OPERATIONS ?= 2000

TEST_TARGETS += test-diff-2.31

$(DIFF_2_31_DIR)/%: tests/diff/%.c tests/diff/raw_output.h $(BUILD)/glibc/2.31/version
	@mkdir -p $(dir $@)
	$(CC) $(DIFF_CFLAGS) $(GLIBC_2.31_COMPILE) -o $@ $< $(GLIBC_2.31_LINK) \
		$(call GLIBC_ROOT,2.31)/lib/x86_64-linux-gnu/libdl.so.2

.PHONY: test-diff-2.31
test-diff-2.31: $(DIFF_2_31_PROGRAMS) $(BUILD)/diff/trace_gen $(CLONE_2.31)
	PTM_GLIBC=2.31 PTM_TRACE_OPERATIONS=$(DIFF_2_31_OPERATIONS) PTM_TUNABLE_SEEDS=1 $(DIFF_PYTEST) tests/diff \
		-k 'not test_exports and not test_programs and not test_sbrk'
