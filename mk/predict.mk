# The prediction oracle (tests/predict/): predict_situations builds a heap situation from a kind
# and a seed (clean heaps in every state, damaged ones), stops before one free, malloc or realloc,
# and then makes the call for real in a forked copy; the harness holds the extension's `heap try-*`
# prediction, live and from a gcore, against what really happened, and prints the exact-match rate
# per operation and state kind with every miss.  `make test` runs a few hundred cases on the clone
# and on glibc, and a few on glibc 2.31 and 2.41 and the clones built as them, each with its
# release's engine (test_predict_oracle.py); `make fuzz` runs PREDICT_CASES per allocator, those
# four included.

PREDICT_DIR := $(BUILD)/tests/predict
PREDICT_PROGRAM := $(PREDICT_DIR)/predict_situations
# The same program with libptmalloc.a linked in.
PREDICT_LINKED_PROGRAM := $(PREDICT_DIR)/predict_situations-linked
PREDICT_SOURCES := tests/predict/predict_situations.c tests/predict/situations_clean.c \
	tests/predict/situations_damaged.c tests/predict/situations_foreign.c
PREDICT_CFLAGS := $(SAMPLE_CFLAGS) -fno-builtin-malloc -fno-builtin-free -fno-builtin-realloc -pthread
PREDICT_CASES ?= 1200
PREDICT_SEED ?= 1
PREDICT_HARNESS := PTM_BUILD=$(abspath $(BUILD)) $(PYTHON) tests/predict/predict_harness.py
# The engines by their paths: mk/prediction_engine.mk, which names them, is read after this file
# (a prerequisite is expanded when its rule is read).
PREDICT_ENGINE_FILES := $(BUILD)/ptmalloc-predict-2.36 $(BUILD)/ptmalloc-predict-2.31 \
	$(BUILD)/ptmalloc-predict-2.41
# The program against the other releases (mk/versions.mk): run by 2.41's loader and by 2.31's,
# plain and with the clone built as that release preloaded.  2.31 writes plain tcache and
# fastbin links.
PREDICT_RELEASE_PROGRAMS := $(PREDICT_PROGRAM)-2.31 $(PREDICT_PROGRAM)-2.41
PREDICT_RELEASE_ALLOCATORS := --allocator glibc-2.31 --allocator clone-2.31 --allocator glibc-2.41 \
	--allocator clone-2.41

ALL_TARGETS += $(PREDICT_PROGRAM) $(PREDICT_LINKED_PROGRAM)
TEST_TARGETS += test-predict

$(PREDICT_PROGRAM): $(PREDICT_SOURCES) tests/predict/situations.h
	@mkdir -p $(dir $@)
	$(CC) $(PREDICT_CFLAGS) $(PREDICT_SOURCES) -o $@

$(PREDICT_PROGRAM)-2.41: $(PREDICT_SOURCES) tests/predict/situations.h $(BUILD)/glibc/2.41/version
	@mkdir -p $(dir $@)
	$(CC) $(PREDICT_CFLAGS) $(PREDICT_SOURCES) -o $@ \
		-Wl,--dynamic-linker=$(call GLIBC_ROOT,2.41)/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2 \
		-Wl,-rpath,$(call GLIBC_ROOT,2.41)/usr/lib/x86_64-linux-gnu

$(PREDICT_PROGRAM)-2.31: $(PREDICT_SOURCES) tests/predict/situations.h $(BUILD)/glibc/2.31/version
	@mkdir -p $(dir $@)
	$(CC) $(PREDICT_CFLAGS) -DPREDICT_PLAIN_LINKS $(GLIBC_2.31_COMPILE) $(PREDICT_SOURCES) -o $@ \
		$(GLIBC_2.31_LINK)

$(PREDICT_LINKED_PROGRAM): $(PREDICT_SOURCES) tests/predict/situations.h $(BUILD)/libptmalloc.a
	@mkdir -p $(dir $@)
	$(CC) $(PREDICT_CFLAGS) $(PREDICT_SOURCES) -o $@ $(BUILD)/libptmalloc.a

.PHONY: test-predict fuzz-predict
test-predict: $(PREDICT_PROGRAM) $(BUILD)/libptmalloc.so $(HEAPWALK_LIBRARY) $(PREDICT_ENGINE_FILES) \
		$(PREDICT_RELEASE_PROGRAMS) $(CLONE_2.31) $(CLONE_2.41)
	PTM_BUILD=$(abspath $(BUILD)) $(PYTHON) -m pytest -q -p no:cacheprovider tests/predict

fuzz: fuzz-predict
fuzz-predict: $(PREDICT_PROGRAM) $(PREDICT_LINKED_PROGRAM) $(BUILD)/libptmalloc.so $(HEAPWALK_LIBRARY) \
		$(PREDICT_ENGINE_FILES) $(PREDICT_RELEASE_PROGRAMS) $(CLONE_2.31) $(CLONE_2.41)
	-$(PREDICT_HARNESS) --cases $(PREDICT_CASES) --seed $(PREDICT_SEED) \
		--allocator clone --allocator glibc
	-$(PREDICT_HARNESS) --cases $$(( $(PREDICT_CASES) / 4 )) --seed $(PREDICT_SEED) --allocator linked
	-$(PREDICT_HARNESS) --cases $(PREDICT_CASES) --seed $(PREDICT_SEED) $(PREDICT_RELEASE_ALLOCATORS)
