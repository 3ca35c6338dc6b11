# Statistics, tunables and threads: test programs under build/tests/{stats,threads} and the pytest
# suites that run them plain (system glibc 2.36, the oracle) and with build/libptmalloc.so
# preloaded.  The stress programs are optimised (their pattern checks dominate the run time); the
# builtin allocation folding is off so every malloc/free they write really happens.

STATS_TEST_CFLAGS := -fno-builtin-malloc -fno-builtin-free -fno-builtin-calloc -fno-builtin-realloc
STATS_PROGRAMS := $(BUILD)/tests/stats/stats_scenarios $(BUILD)/tests/stats/tunables_probe \
	$(BUILD)/tests/stats/libtls_peer.so $(BUILD)/tests/stats/secure_probe \
	$(BUILD)/tests/stats/secure_probe_clone
THREAD_PROGRAMS := $(BUILD)/tests/threads/thread_stress $(BUILD)/tests/threads/arena_count \
	$(BUILD)/tests/threads/fork_churn
STATS_PYTEST := PTM_BUILD=$(abspath $(BUILD)) $(PYTHON) -m pytest -q -p no:cacheprovider

ALL_TARGETS += $(STATS_PROGRAMS) $(THREAD_PROGRAMS)
TEST_TARGETS += test-stats test-threads

$(BUILD)/tests/stats/%: tests/stats/%.c
	@mkdir -p $(dir $@)
	$(CC) $(SAMPLE_CFLAGS) $(STATS_TEST_CFLAGS) -o $@ $< -lpthread

# The clone linked in, not preloaded: a set-user-id program ignores LD_PRELOAD from other paths.
$(BUILD)/tests/stats/secure_probe_clone: tests/stats/secure_probe.c $(BUILD)/libptmalloc.a
	@mkdir -p $(dir $@)
	$(CC) $(SAMPLE_CFLAGS) $(STATS_TEST_CFLAGS) -o $@ $< $(BUILD)/libptmalloc.a -lpthread

$(BUILD)/tests/stats/libtls_peer.so: tests/stats/tls_peer.c
	@mkdir -p $(dir $@)
	$(CC) $(SAMPLE_CFLAGS) -shared -fPIC -o $@ $<

$(BUILD)/tests/threads/%: tests/threads/%.c tests/threads/pattern.h
	@mkdir -p $(dir $@)
	$(CC) $(subst -O0,-O2,$(SAMPLE_CFLAGS)) $(STATS_TEST_CFLAGS) -o $@ $< -lpthread

.PHONY: test-stats test-threads
test-stats: $(STATS_PROGRAMS) $(BUILD)/libptmalloc.so
	$(STATS_PYTEST) tests/stats

test-threads: $(THREAD_PROGRAMS) $(BUILD)/libptmalloc.so
	$(STATS_PYTEST) tests/threads
