# CUnit suites of the allocator (tests/unit/), built into build/unit/ and run by `make test-unit`.
#
#   unit-arithmetic        size arithmetic and bin indexing, in process, linked to libptmalloc.a
#   unit-paths             each path through malloc/free/realloc/calloc/memalign, every case in a
#                          fresh child; statically linked to libptmalloc.a so cases also check
#                          main_arena, mp_ and the tcache
#   unit-paths-dynamic     the same cases, plain dynamic binary: run on the system glibc (the oracle
#                          for every expectation) and with LD_PRELOAD=libptmalloc.so
#   unit-integrity         one case per integrity check: SIGABRT with glibc's exact message, on the
#                          system glibc and on the preloaded clone
#   unit-history           the allocation history's ring: wrap-around, one event per public call,
#                          threads recording at once; linked to libptmalloc.a
#
# tests/unit/known-clone-failures.txt lists cases the clone is known to fail (left out under the
# clone, still run on glibc); each line there has a finding written down for the allocator.

UNIT_DIR := $(BUILD)/unit
UNIT_CFLAGS := $(SAMPLE_CFLAGS) -D_GNU_SOURCE -Iallocator -Itests/unit
UNIT_HEADERS := $(wildcard tests/unit/*.h) $(wildcard allocator/*.h)
UNIT_RUNNER := tests/unit/case_runner.c tests/unit/child_run.c tests/unit/unit_result.c \
	tests/unit/staging.c
UNIT_PATH_CASES := $(filter-out tests/unit/paths_main.c,$(wildcard tests/unit/paths_*.c))
UNIT_STATIC_CLONE := -Wl,--whole-archive $(BUILD)/libptmalloc.a -Wl,--no-whole-archive
UNIT_KNOWN_FAILURES := tests/unit/known-clone-failures.txt
UNIT_PROGRAMS := $(UNIT_DIR)/unit-arithmetic $(UNIT_DIR)/unit-paths $(UNIT_DIR)/unit-paths-dynamic \
	$(UNIT_DIR)/unit-integrity $(UNIT_DIR)/unit-history

ALL_TARGETS += $(UNIT_PROGRAMS)
TEST_TARGETS += test-unit

$(UNIT_DIR)/unit-arithmetic: tests/unit/arithmetic.c tests/unit/unit_result.c $(UNIT_HEADERS) \
		$(BUILD)/libptmalloc.a
	@mkdir -p $(dir $@)
	$(CC) $(UNIT_CFLAGS) -DPTM_INTERNALS=1 tests/unit/arithmetic.c tests/unit/unit_result.c \
		$(UNIT_STATIC_CLONE) -lcunit -lpthread -o $@

$(UNIT_DIR)/unit-history: tests/unit/history.c tests/unit/unit_result.c $(UNIT_HEADERS) \
		$(BUILD)/libptmalloc.a
	@mkdir -p $(dir $@)
	$(CC) $(UNIT_CFLAGS) -DPTM_INTERNALS=1 tests/unit/history.c tests/unit/unit_result.c \
		$(UNIT_STATIC_CLONE) -lcunit -lpthread -o $@

$(UNIT_DIR)/unit-paths: tests/unit/paths_main.c $(UNIT_PATH_CASES) $(UNIT_RUNNER) $(UNIT_HEADERS) \
		$(BUILD)/libptmalloc.a
	@mkdir -p $(dir $@)
	$(CC) $(UNIT_CFLAGS) -DPTM_INTERNALS=1 tests/unit/paths_main.c $(UNIT_PATH_CASES) $(UNIT_RUNNER) \
		$(UNIT_STATIC_CLONE) -lcunit -lpthread -o $@

$(UNIT_DIR)/unit-paths-dynamic: tests/unit/paths_main.c $(UNIT_PATH_CASES) $(UNIT_RUNNER) \
		$(UNIT_HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(UNIT_CFLAGS) -DPTM_INTERNALS=0 tests/unit/paths_main.c $(UNIT_PATH_CASES) $(UNIT_RUNNER) \
		-lcunit -lpthread -o $@

$(UNIT_DIR)/unit-integrity: tests/unit/integrity_main.c tests/unit/integrity_malloc.c \
		tests/unit/integrity_free.c $(UNIT_RUNNER) $(UNIT_HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(UNIT_CFLAGS) tests/unit/integrity_main.c tests/unit/integrity_malloc.c \
		tests/unit/integrity_free.c $(UNIT_RUNNER) -lcunit -lpthread -o $@

.PHONY: test-unit
test-unit: $(UNIT_PROGRAMS) $(BUILD)/libptmalloc.so
	@status=0; \
	for program in $(UNIT_PROGRAMS); do \
		echo "== $$program"; \
		case $$program in \
		*-arithmetic|*-history) $$program || status=1 ;; \
		*) $$program --clone $(BUILD)/libptmalloc.so --known-failures $(UNIT_KNOWN_FAILURES) \
			|| status=1 ;; \
		esac; \
	done; \
	exit $$status
