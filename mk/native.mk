# The gdb extension's optional C helper (gdb/native/heapwalk.c, link_words.c): the walk's inner loops,
# loaded by gdb/ptmalloc/model/native.py through ctypes from build/ or from beside the installed
# package.  Without it the extension runs the same loops in Python.

HEAPWALK_LIBRARY := $(BUILD)/libptmalloc-heapwalk.so
# The row codes the helper shares with the extension, generated from gdb/ptmalloc/model/states.py.
HEAPWALK_CODES_DIR := $(BUILD)/native
HEAPWALK_CODES := $(HEAPWALK_CODES_DIR)/heapwalk_row_codes.h

ALL_TARGETS += $(HEAPWALK_LIBRARY)

$(HEAPWALK_CODES): gdb/native/row_codes.py gdb/ptmalloc/model/states.py
	@mkdir -p $(dir $@)
	$(PYTHON) gdb/native/row_codes.py $@

# Linked to a temporary name and renamed, so a gdb that has the library loaded never sees a
# half-written file.
HEAPWALK_SOURCES := gdb/native/heapwalk.c gdb/native/link_words.c

$(HEAPWALK_LIBRARY): $(HEAPWALK_SOURCES) gdb/native/link_words.h $(HEAPWALK_CODES) | $(BUILD)
	$(CC) $(CFLAGS) -I$(HEAPWALK_CODES_DIR) -fPIC -shared -fvisibility=default -o $@.tmp \
		$(HEAPWALK_SOURCES)
	mv -f $@.tmp $@
