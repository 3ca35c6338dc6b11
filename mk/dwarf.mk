# Type knowledge: the DWARF unit built alone (build/ptmalloc-types.o, for gdb's add-symbol-file),
# the ptm-layout tool on libbfd, and the layout manifests of the library and of the system glibc
# (the latter only when libc6-dbg provides its DWARF).

PTM_LAYOUT          := $(BUILD)/ptm-layout
PTMALLOC_TYPES_OBJ  := $(BUILD)/ptmalloc-types.o
PTMALLOC_MANIFEST   := $(BUILD)/libptmalloc.so.layout.json
PTM_LAYOUT_SOURCES  := dwarf/ptm-layout.c dwarf/dwarf_reader.c dwarf/dwarf_forms.c dwarf/elf_file.c
PTM_LAYOUT_HEADERS  := dwarf/dwarf_reader.h dwarf/dwarf_forms.h dwarf/elf_file.h
# <dwarf.h> (libdw-dev) gives the DWARF constants their names; nothing links libdw.
# -lbfd is enough on Debian 12 (the shared libbfd carries its own zlib/sframe dependencies).
BFD_LIBS            := -lbfd

# The libc.so.6 programs run with, and whether libc6-dbg gives it DWARF to read.
SYSTEM_LIBC         := $(realpath $(shell $(CC) -print-file-name=libc.so.6))
SYSTEM_LIBC_DEBUG   := $(shell dpkg-query -W -f='$${Status}' libc6-dbg 2>/dev/null | grep -q 'install ok installed' && echo yes)
LIBC_MANIFEST       := $(BUILD)/libc.so.6.layout.json

ALL_TARGETS += $(PTM_LAYOUT) $(PTMALLOC_TYPES_OBJ) $(PTMALLOC_MANIFEST)
ifeq ($(SYSTEM_LIBC_DEBUG),yes)
ifneq ($(SYSTEM_LIBC),)
ALL_TARGETS += $(LIBC_MANIFEST)
endif
endif

$(PTM_LAYOUT): $(PTM_LAYOUT_SOURCES) $(PTM_LAYOUT_HEADERS) | $(BUILD)
	$(CC) $(CFLAGS) -o $@ $(PTM_LAYOUT_SOURCES) $(BFD_LIBS)

# Same flags as the library's copy of the unit, minus what only a shared object needs.
$(PTMALLOC_TYPES_OBJ): dwarf/types.c allocator/malloc_types.h | $(BUILD)
	$(CC) $(CFLAGS) -Iallocator -c $< -o $@

$(PTMALLOC_MANIFEST): $(BUILD)/libptmalloc.so $(PTM_LAYOUT)
	$(PTM_LAYOUT) --check --output $@ $<

$(LIBC_MANIFEST): $(SYSTEM_LIBC) $(PTM_LAYOUT)
	$(PTM_LAYOUT) --check --output $@ $<

# ---- tests ----------------------------------------------------------------------------------

DWARF_TEST_DIR  := $(BUILD)/tests/dwarf
DWARF_TEST_BIN  := $(DWARF_TEST_DIR)/test_refusals
DWARF4_TYPES_OBJ := $(DWARF_TEST_DIR)/ptmalloc-types-dwarf4.o
# The compiler's offsetof/sizeof of the heap structs, as JSON: the pytest suite's oracle.
EXPECTED_LAYOUT_BIN := $(DWARF_TEST_DIR)/expected_layout

$(DWARF4_TYPES_OBJ): dwarf/types.c allocator/malloc_types.h
	@mkdir -p $(dir $@)
	$(CC) $(subst -gdwarf-5,-gdwarf-4,$(CFLAGS)) -Iallocator -c $< -o $@

$(DWARF_TEST_BIN): tests/dwarf/test_refusals.c
	@mkdir -p $(dir $@)
	$(CC) $(SAMPLE_CFLAGS) -o $@ $< -lcunit

$(EXPECTED_LAYOUT_BIN): tests/dwarf/expected_layout.c allocator/malloc_types.h
	@mkdir -p $(dir $@)
	$(CC) $(SAMPLE_CFLAGS) -Iallocator -o $@ $<

# The CUnit suite checks ptm-layout's refusals of bad input; the pytest suites check the manifests
# it writes (against the compiler, nm and readelf, and for split builds with their debug files),
# inspect a stripped library and a glibc without libc6-dbg's files through the manifests, against
# runs that have DWARF, and run `make install` (into a staging DESTDIR and into a scratch PREFIX
# used on its own).
DWARF_GDB_SAMPLE := $(BUILD)/samples/known/every_bin

.PHONY: test-dwarf
TEST_TARGETS += test-dwarf
test-dwarf: $(DWARF_TEST_BIN) $(EXPECTED_LAYOUT_BIN) $(PTM_LAYOUT) $(PTMALLOC_TYPES_OBJ) $(DWARF4_TYPES_OBJ) $(PTMALLOC_MANIFEST) $(BUILD)/libptmalloc.so $(BUILD)/libptmalloc.a $(DWARF_GDB_SAMPLE) $(filter $(LIBC_MANIFEST),$(ALL_TARGETS))
	PTM_LAYOUT=$(PTM_LAYOUT) PTM_TYPES=$(PTMALLOC_TYPES_OBJ) PTM_LIBRARY=$(BUILD)/libptmalloc.so \
	PTM_SCRATCH=$(DWARF_TEST_DIR) $(DWARF_TEST_BIN)
	$(PYTHON) -m pytest -q -p no:cacheprovider tests/dwarf
