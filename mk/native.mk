# The gdb extension's optional C helper (gdb/native/heapwalk.c): the walk's inner loops,
# loaded by gdb/ptmalloc/native.py through ctypes from build/ or from beside the installed
# package.  Without it the extension runs the same loops in Python.

HEAPWALK_LIBRARY := $(BUILD)/libptmalloc-heapwalk.so

ALL_TARGETS += $(HEAPWALK_LIBRARY)

# Linked to a temporary name and renamed, so a gdb that has the library loaded never sees a
# half-written file.
$(HEAPWALK_LIBRARY): gdb/native/heapwalk.c | $(BUILD)
	$(CC) $(CFLAGS) -fPIC -shared -fvisibility=default -o $@.tmp $<
	mv -f $@.tmp $@
