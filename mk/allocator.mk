# The ptmalloc2 clone: build/libptmalloc.so (LD_PRELOAD-able, or -lptmalloc) and build/libptmalloc.a,
# as glibc 2.36.  Every module of allocator/, the files of allocator/glibc-2.36/ (what only that
# release has: where its globals sit), and the DWARF unit dwarf/types.c, which pins the heap types.
# mk/allocator_2_31.mk builds the same tree as glibc 2.31.

allocator_sources = $(sort $(wildcard allocator/*.c)) $(sort $(wildcard allocator/glibc-$(1)/*.c)) dwarf/types.c
ALLOCATOR_SOURCES := $(call allocator_sources,2.36)
ALLOCATOR_OBJECTS := $(patsubst %.c,$(BUILD)/obj/%.o,$(ALLOCATOR_SOURCES))
ALLOCATOR_HEADERS := $(wildcard allocator/*.h)
# Internal symbols stay out of the dynamic symbol table (but in .symtab and DWARF); TLS is
# initial-exec like glibc's, which also keeps tcache reads cheap.  No builtin malloc folding: we
# are malloc.
ALLOCATOR_CFLAGS := $(CFLAGS) -fPIC -fvisibility=hidden -ftls-model=initial-exec \
	-fno-builtin-malloc -fno-builtin-free -fno-builtin-calloc -fno-builtin-realloc \
	-fno-stack-protector -D_GNU_SOURCE -Iallocator

ALL_TARGETS += $(BUILD)/libptmalloc.so $(BUILD)/libptmalloc.a

$(BUILD)/obj/%.o: %.c $(ALLOCATOR_HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(ALLOCATOR_CFLAGS) -c $< -o $@

# Linked beside the target and renamed into place: programs and gdb sessions that have the old
# library mapped keep a consistent file instead of faulting on one being rewritten.  What a
# preloaded copy costs every program in resident pages is kept small (8 pages): packed relative
# relocations and calls among our own exported functions bound at link time (no PLT slots for
# them) keep what ld.so reads short; -z noseparate-code lets it share pages with the hot code;
# and layout.ld places the segments (see there).  RELRO stays: it costs the relocated GOT a page
# of its own, but a GOT left writable would be a target for the very heap exploits this project
# studies, one glibc's own malloc does not offer.
$(BUILD)/libptmalloc.so: $(ALLOCATOR_OBJECTS) allocator/layout.ld
	$(CC) -shared -Wl,-soname,libptmalloc.so -Wl,-z,nodelete -Wl,--no-undefined \
		-Wl,-z,pack-relative-relocs -Wl,-Bsymbolic-functions -Wl,-z,noseparate-code \
		-Wl,-T,allocator/layout.ld \
		-o $@.tmp $(ALLOCATOR_OBJECTS)
	mv -f $@.tmp $@

$(BUILD)/libptmalloc.a: $(ALLOCATOR_OBJECTS)
	rm -f $@
	ar rcs $@ $^
