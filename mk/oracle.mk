# The fault-injection oracle (tests/oracle/): heap_oracle builds a heap of random blocks in
# several threads, records every block it holds or freed, damages the heap in one known way and
# stops; the harness holds what the extension says, live and from a core, against that record.
# `make test` runs a few cases of every kind of damage; `make fuzz` runs ORACLE_CASES of them.

ORACLE_DIR := $(BUILD)/tests/oracle
ORACLE_PROGRAM := $(ORACLE_DIR)/heap_oracle
# The same program with libptmalloc.a linked in: its heap is still found in a core cut before
# the libraries' data (the kernel-core cases).
ORACLE_LINKED_PROGRAM := $(ORACLE_DIR)/heap_oracle-linked
# A thread arena closing its first heap with a remainder below MINSIZE (test_closed_heap.py).
CLOSED_HEAP_PROGRAM := $(ORACLE_DIR)/closed_heap
ORACLE_CASES ?= 2000
ORACLE_CORE_CASES ?= 200
ORACLE_SEED ?= 1
ORACLE_HARNESS := PTM_BUILD=$(abspath $(BUILD)) $(PYTHON) tests/oracle/oracle_harness.py

ALL_TARGETS += $(ORACLE_PROGRAM) $(ORACLE_LINKED_PROGRAM) $(CLOSED_HEAP_PROGRAM)
TEST_TARGETS += test-oracle

$(ORACLE_PROGRAM): tests/oracle/heap_oracle.c
	@mkdir -p $(dir $@)
	$(CC) $(SAMPLE_CFLAGS) -fno-builtin-malloc -fno-builtin-free -fno-builtin-calloc \
		-fno-builtin-realloc -pthread $< -o $@

$(ORACLE_LINKED_PROGRAM): tests/oracle/heap_oracle.c $(BUILD)/libptmalloc.a
	@mkdir -p $(dir $@)
	$(CC) $(SAMPLE_CFLAGS) -fno-builtin-malloc -fno-builtin-free -fno-builtin-calloc \
		-fno-builtin-realloc -pthread $< -o $@ $(BUILD)/libptmalloc.a

$(CLOSED_HEAP_PROGRAM): tests/oracle/closed_heap.c
	@mkdir -p $(dir $@)
	$(CC) $(SAMPLE_CFLAGS) -pthread $< -o $@

.PHONY: test-oracle fuzz-oracle
test-oracle: $(ORACLE_PROGRAM) $(ORACLE_LINKED_PROGRAM) $(CLOSED_HEAP_PROGRAM) $(BUILD)/libptmalloc.so \
		$(HEAPWALK_LIBRARY) $(BUILD)/bench/million_chunks
	PTM_BUILD=$(abspath $(BUILD)) $(PYTHON) -m pytest -q -p no:cacheprovider tests/oracle

fuzz: fuzz-oracle
fuzz-oracle: $(ORACLE_PROGRAM) $(ORACLE_LINKED_PROGRAM) $(BUILD)/libptmalloc.so $(HEAPWALK_LIBRARY)
	-$(ORACLE_HARNESS) --cases $(ORACLE_CASES) --seed $(ORACLE_SEED)
	-$(ORACLE_HARNESS) --cases $(ORACLE_CORE_CASES) --seed $(ORACLE_SEED) --allocator linked \
		--allocator clone --allocator glibc --mutation core-cut --mutation core-filter
