# The programs of the gdb suites' `heap refs`, `heap diff` and `heap history` tests (tests/gdb/refs_planted.c,
# tests/gdb/leaky_loop.c, tests/gdb/history_threads.c) built against glibc 2.31 and 2.41 like the known samples
# (mk/versions.mk), for tests/versions/test_refs_and_diff.py and test_history_releases.py.
VERSIONS_GDB_SAMPLES := refs_planted leaky_loop history_threads
VERSIONS_GDB_PROGRAMS := $(foreach r,$(GLIBC_RELEASES),$(foreach s,$(VERSIONS_GDB_SAMPLES),$(VERSIONS_DIR)/gdb/$(s)-$(r)))

$(VERSIONS_DIR)/gdb/%-2.41: tests/gdb/%.c $(BUILD)/glibc/2.41/version
	@mkdir -p $(dir $@)
	$(CC) -g -O0 -fno-builtin -pthread $< -o $@ $(GLIBC_2.41_LINK)
$(VERSIONS_DIR)/gdb/%-2.31: tests/gdb/%.c $(BUILD)/glibc/2.31/version
	@mkdir -p $(dir $@)
	$(CC) -g -O0 -fno-builtin -pthread $(GLIBC_2.31_COMPILE) $< -o $@ $(GLIBC_2.31_LINK)

test-versions: $(VERSIONS_GDB_PROGRAMS)
