# The gdb extension's samples, its pytest suites (`test-gdb`) and `make demo`.
# Each sample with a known heap is built four ways: against the system glibc (also run with
# LD_PRELOAD=build/libptmalloc.so), linked with -lptmalloc, and with libptmalloc.a linked in.

KNOWN_SAMPLES := every_bin sbrk_blocked big_sbrk
KNOWN_DIR := $(BUILD)/samples/known
KNOWN_BINARIES := $(foreach s,$(KNOWN_SAMPLES),$(KNOWN_DIR)/$(s) $(KNOWN_DIR)/$(s)-linked \
	$(KNOWN_DIR)/$(s)-static)

KNOWN_TLS_PAD := $(KNOWN_DIR)/libtls_pad.so

ALL_TARGETS += $(KNOWN_BINARIES) $(KNOWN_TLS_PAD)
TEST_TARGETS += test-gdb

$(KNOWN_DIR)/%: samples/known/%.c samples/known/record.h samples/known/staged.h
	@mkdir -p $(dir $@)
	$(CC) $(SAMPLE_CFLAGS) -pthread $< -o $@

# The library is found next to the build tree at run time, wherever the tree lives.
$(KNOWN_DIR)/%-linked: samples/known/%.c samples/known/record.h samples/known/staged.h $(BUILD)/libptmalloc.so
	@mkdir -p $(dir $@)
	$(CC) $(SAMPLE_CFLAGS) -pthread $< -o $@ -L$(BUILD) -lptmalloc -Wl,-rpath,'$$ORIGIN/../..'

$(KNOWN_DIR)/%-static: samples/known/%.c samples/known/record.h samples/known/staged.h $(BUILD)/libptmalloc.a
	@mkdir -p $(dir $@)
	$(CC) $(SAMPLE_CFLAGS) -pthread $< -o $@ $(BUILD)/libptmalloc.a

$(KNOWN_TLS_PAD): samples/known/tls_pad.c
	@mkdir -p $(dir $@)
	$(CC) $(SAMPLE_CFLAGS) -shared -fPIC $< -o $@

.PHONY: test-gdb demo
test-gdb: $(KNOWN_BINARIES) $(KNOWN_TLS_PAD) $(BUILD)/libptmalloc.so $(HEAPWALK_LIBRARY) \
		$(BENCH_SAMPLE)
	$(PYTHON) -m pytest -q -p no:cacheprovider tests/gdb

demo: deps build-all
	@$(PYTHON) gdb/demo.py
