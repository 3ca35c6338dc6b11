# Performance measurement (bench/): `make bench` runs both halves, `make bench-alloc` the
# allocator against the system glibc, `make bench-gdb` the heap commands over a million-chunk
# heap.  Never part of `make test`: timings are reported as ratios, never asserted.
#   BENCH_RUNS=N   rounds per measurement (default 11; the gdb half uses at most 3)
#   BENCH_PIN=N    run the single-threaded allocator workloads, both sides, on CPU N only
#   BENCH_KEEP=1   keep build/bench/*.core and chunks.json (deleted after the run otherwise)
#   BENCH_GDB_PARTS=1m,10m,extras  the parts of `make bench-gdb` to run (default all; see
#                  bench/gdb_bench.py), e.g. 1m,10m for the growth alone on clone and glibc

BENCH_DIR := $(BUILD)/bench
BENCH_RUNS ?= 11
BENCH_WORKLOADS := small_objects realloc_mix producer_consumer larson_churn large_blocks \
	tree_build empty
BENCH_WORKLOAD_BINARIES := $(addprefix $(BENCH_DIR)/,$(BENCH_WORKLOADS))
# The same workloads with the clone linked into the executable from libptmalloc.a: the way a
# program built against the library uses it, without the cost of loading one more shared library
# that the preloaded runs pay.  Whole archive, so every entry point libc might call is ours.
BENCH_LINKED_BINARIES := $(addprefix $(BENCH_DIR)/linked/,$(BENCH_WORKLOADS))
# The workloads are ordinary optimised programs: what they measure is the allocator, not -O0.
BENCH_CFLAGS := -std=gnu11 -O2 $(CFLAGS_DEBUG) -Wall -Wextra -Werror -pthread \
	-fno-builtin-malloc -fno-builtin-free -fno-builtin-realloc
BENCH_SAMPLE := $(BENCH_DIR)/million_chunks
BENCH_DRIVER := BENCH_PIN=$(BENCH_PIN) $(PYTHON) bench/bench.py --runs $(BENCH_RUNS) --build $(BUILD)
# Each run rewrites the tables of the performance page from build/bench/results.json, so the
# page shows the last run's numbers beside the method; commit it after a run worth keeping.
PERFORMANCE_PAGE := docs/performance.md
PERFORMANCE_TABLES := $(PYTHON) bench/performance_tables.py $(BENCH_DIR) $(PERFORMANCE_PAGE)

.PHONY: bench bench-alloc bench-gdb bench-instructions

$(BENCH_DIR)/%: bench/alloc/%.c bench/alloc/workload.h
	@mkdir -p $(dir $@)
	$(CC) $(BENCH_CFLAGS) -o $@ $<

$(BENCH_DIR)/linked/%: bench/alloc/%.c bench/alloc/workload.h $(BUILD)/libptmalloc.a
	@mkdir -p $(dir $@)
	$(CC) $(BENCH_CFLAGS) -o $@ $< -Wl,--whole-archive $(BUILD)/libptmalloc.a -Wl,--no-whole-archive

$(BENCH_DIR)/run_measured: bench/run_measured.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $<

$(BENCH_SAMPLE): bench/million_chunks.c
	@mkdir -p $(dir $@)
	$(CC) $(SAMPLE_CFLAGS) -O1 -pthread -o $@ $<

bench: $(BENCH_DIR)/run_measured $(BENCH_WORKLOAD_BINARIES) $(BENCH_LINKED_BINARIES) \
		$(BENCH_SAMPLE) $(BUILD)/libptmalloc.so \
		$(HEAPWALK_LIBRARY)
	$(BENCH_DRIVER) --part all
	$(PERFORMANCE_TABLES)

bench-alloc: $(BENCH_DIR)/run_measured $(BENCH_WORKLOAD_BINARIES) $(BENCH_LINKED_BINARIES) \
		$(BUILD)/libptmalloc.so
	$(BENCH_DRIVER) --part alloc
	$(PERFORMANCE_TABLES)

bench-gdb: $(BENCH_DIR)/run_measured $(BENCH_SAMPLE) $(BUILD)/libptmalloc.so $(HEAPWALK_LIBRARY)
	$(BENCH_DRIVER) --part gdb
	$(PERFORMANCE_TABLES)

# Instruction counts under callgrind: the load-independent view of the allocator's overhead.
.PHONY: bench-instructions
bench-instructions: $(BENCH_WORKLOAD_BINARIES) $(BENCH_LINKED_BINARIES) $(BUILD)/libptmalloc.so
	$(PYTHON) bench/instruction_counts.py $(BUILD) $(BENCH_WORKLOADS)
	$(PERFORMANCE_TABLES)

# Predictions on the million-chunk heap after the stop's first command (bench/prediction_bench.py).
.PHONY: bench-predict
bench: bench-predict
bench-predict: $(BENCH_SAMPLE) $(BUILD)/libptmalloc.so $(HEAPWALK_LIBRARY) $(PREDICT_ENGINE_2.36)
	$(PYTHON) bench/prediction_bench.py --build $(BUILD)
