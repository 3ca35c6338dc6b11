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
# The fork tests also run with the clone linked in, both ways: glibc's fork() orders its locks
# against whatever malloc it finds, and a linked program registers its handlers in another order.
FORK_LOCK_TESTS := fork_stdio fork_handlers
fork_builds = $(1) $(1)-linked $(1)-static
THREAD_PROGRAMS += $(foreach t,$(FORK_LOCK_TESTS),$(call fork_builds,$(BUILD)/tests/threads/$(t)))
THREAD_TEST_CFLAGS = $(subst -O0,-O2,$(SAMPLE_CFLAGS)) $(STATS_TEST_CFLAGS)
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

THREAD_HEADERS := $(wildcard tests/threads/*.h)

# fork_handlers links a library whose constructor registers atfork handlers of its own.
EARLY_HANDLERS := $(BUILD)/tests/threads/libearly_handlers.so
THREAD_PROGRAMS += $(EARLY_HANDLERS)
EARLY_HANDLERS_LINK := -L$(dir $(EARLY_HANDLERS)) -learly_handlers -Wl,-rpath,'$$ORIGIN'
THREAD_LIBRARIES = $(if $(filter fork_handlers%,$(notdir $@)),$(EARLY_HANDLERS_LINK))
FORK_HANDLERS_BINARIES := $(call fork_builds,$(BUILD)/tests/threads/fork_handlers)
$(FORK_HANDLERS_BINARIES): $(EARLY_HANDLERS)

$(EARLY_HANDLERS): tests/threads/early_handlers.c $(THREAD_HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(THREAD_TEST_CFLAGS) -shared -fPIC -o $@ $<

$(BUILD)/tests/threads/%: tests/threads/%.c $(THREAD_HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(THREAD_TEST_CFLAGS) -o $@ $< $(THREAD_LIBRARIES) -lpthread

$(BUILD)/tests/threads/%-linked: tests/threads/%.c $(THREAD_HEADERS) $(BUILD)/libptmalloc.so
	@mkdir -p $(dir $@)
	$(CC) $(THREAD_TEST_CFLAGS) -o $@ $< $(THREAD_LIBRARIES) -L$(BUILD) -lptmalloc \
		-Wl,-rpath,'$$ORIGIN/../..' -lpthread

$(BUILD)/tests/threads/%-static: tests/threads/%.c $(THREAD_HEADERS) $(BUILD)/libptmalloc.a
	@mkdir -p $(dir $@)
	$(CC) $(THREAD_TEST_CFLAGS) -o $@ $< $(THREAD_LIBRARIES) $(BUILD)/libptmalloc.a -lpthread

.PHONY: test-stats test-threads
test-stats: $(STATS_PROGRAMS) $(BUILD)/libptmalloc.so
	$(STATS_PYTEST) tests/stats

test-threads: $(THREAD_PROGRAMS) $(BUILD)/libptmalloc.so
	$(STATS_PYTEST) tests/threads
