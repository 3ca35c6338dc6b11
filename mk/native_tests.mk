# CUnit suite of the gdb extension's C helper (tests/native/, gdb/native/heapwalk.c compiled in),
# built into build/tests/native/ and run by `make test-native`.
#
#   test-heapwalk          the suite as the library is built (-O2)
#   test-heapwalk-sanitized  the same suite under AddressSanitizer and UBSan, no recovery: a read
#                          one word past a crafted buffer, or any undefined behaviour, fails it
#
# The gdb suite checks the other half: tests/gdb/test_native_equivalence.py compares every heap
# command with the helper on and off (PTMALLOC_GDB_NATIVE=0).

NATIVE_TEST_DIR := $(BUILD)/tests/native
NATIVE_TEST_SOURCES := tests/native/test_heapwalk.c tests/native/test_link_words.c \
	gdb/native/link_words.c tests/unit/unit_result.c
NATIVE_TEST_INPUTS := $(NATIVE_TEST_SOURCES) tests/unit/unit_result.h gdb/native/heapwalk.c \
	gdb/native/link_words.h $(HEAPWALK_CODES)
NATIVE_TEST_CFLAGS := -std=gnu11 $(CFLAGS_DEBUG) -Wall -Wextra -Werror -Igdb/native \
	-I$(HEAPWALK_CODES_DIR) -Itests/unit
NATIVE_SANITIZE := -fsanitize=address,undefined -fno-sanitize-recover=all
NATIVE_TEST_PROGRAMS := $(NATIVE_TEST_DIR)/test-heapwalk $(NATIVE_TEST_DIR)/test-heapwalk-sanitized

ALL_TARGETS += $(NATIVE_TEST_PROGRAMS)
TEST_TARGETS += test-native

$(NATIVE_TEST_DIR)/test-heapwalk: $(NATIVE_TEST_INPUTS)
	@mkdir -p $(dir $@)
	$(CC) $(NATIVE_TEST_CFLAGS) -O2 $(NATIVE_TEST_SOURCES) -lcunit -o $@

$(NATIVE_TEST_DIR)/test-heapwalk-sanitized: $(NATIVE_TEST_INPUTS)
	@mkdir -p $(dir $@)
	$(CC) $(NATIVE_TEST_CFLAGS) -O1 $(NATIVE_SANITIZE) $(NATIVE_TEST_SOURCES) -lcunit -o $@

.PHONY: test-native
test-native: $(NATIVE_TEST_PROGRAMS)
	@status=0; \
	for program in $(NATIVE_TEST_PROGRAMS); do \
		echo "== $$program"; \
		ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1 \
			$$program || status=1; \
	done; \
	exit $$status
