# The differential tests against the real glibc 2.41 (tests/diff/, with PTM_GLIBC=2.41): the
# replayer and the corruption stager built against 2.41 (mk/versions.mk) and run by its loader,
# plain and with build/libptmalloc-2.41.so preloaded; and the statistics reports of
# tests/stats/stats_scenarios.c the same way (tests/versions/test_release_stats.py).  Shorter than 2.36's, like 2.31's (200 x
# 2,000 operations; the tunables pass on one seed) to keep `make test` short;
# `make test-diff-2.41 DIFF_2_41_OPERATIONS=20000` runs the full length.

DIFF_2_41_DIR      := $(BUILD)/diff-2.41
DIFF_2_41_PROGRAMS := $(DIFF_2_41_DIR)/replay $(DIFF_2_41_DIR)/corrupt
DIFF_2_41_OPERATIONS ?= 2000
STATS_2.41_PROGRAMS := $(BUILD)/tests/versions/stats_scenarios-2.41 $(BUILD)/tests/versions/libtls_peer-2.41.so

TEST_TARGETS += test-diff-2.41

.PHONY: test-diff-2.41
test-diff-2.41: $(DIFF_2_41_PROGRAMS) $(STATS_2.41_PROGRAMS) $(BUILD)/diff/trace_gen $(CLONE_2.41)
	PTM_GLIBC=2.41 PTM_TRACE_OPERATIONS=$(DIFF_2_41_OPERATIONS) PTM_TUNABLE_SEEDS=1 PTM_STATS_RELEASES=2.41 \
		$(DIFF_PYTEST) tests/diff tests/versions/test_release_stats.py \
		-k 'not test_exports and not test_programs and not test_sbrk'

$(BUILD)/tests/versions/stats_scenarios-2.41: tests/stats/stats_scenarios.c $(BUILD)/glibc/2.41/version
	@mkdir -p $(dir $@)
	$(CC) $(SAMPLE_CFLAGS) $(STATS_TEST_CFLAGS) $< -o $@ -lpthread $(GLIBC_2.41_LINK)
$(BUILD)/tests/versions/libtls_peer-2.41.so: tests/stats/tls_peer.c $(BUILD)/glibc/2.41/version
	@mkdir -p $(dir $@)
	$(CC) $(SAMPLE_CFLAGS) -shared -fPIC $< -o $@ $(GLIBC_2.41_LINK)
