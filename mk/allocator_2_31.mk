# The clone built as glibc 2.31 (Debian 11's 2.31-13+deb11u11): build/libptmalloc-2.31.so, from the
# same allocator/ tree with GLIBC_VERSION=231 (allocator/version.h names what that changes) and
# the files of allocator/glibc-2.31/, compiled and linked against the real 2.31 fetched by
# `make glibc-versions`, so it needs no symbol newer than 2.31 and runs under 2.31's loader.
# A second library beside build/libptmalloc.so rather than a `make GLIBC=2.31` rebuild: the
# differential suites of both releases, the GDB extension and the prediction engine each need the
# clone of the release they are looking at, in the same build tree.

CLONE_2.31         := $(BUILD)/libptmalloc-2.31.so
CLONE_2.31_SOURCES := $(call allocator_sources,2.31)
CLONE_2.31_OBJECTS := $(patsubst %.c,$(BUILD)/obj-2.31/%.o,$(CLONE_2.31_SOURCES))

.PHONY: libptmalloc-2.31
libptmalloc-2.31: $(CLONE_2.31)

$(BUILD)/obj-2.31/%.o: %.c $(ALLOCATOR_HEADERS) $(BUILD)/glibc/2.31/version
	@mkdir -p $(dir $@)
	$(CC) $(ALLOCATOR_CFLAGS) -DGLIBC_VERSION=231 $(GLIBC_2.31_COMPILE) -c $< -o $@

# Linked like build/libptmalloc.so (mk/allocator.mk says why each option), against 2.31, whose
# libpthread it finds at run time through its own rpath whatever program preloads it.  No packed
# relative relocations: 2.31's loader predates them (GLIBC_ABI_DT_RELR, 2.36).
$(CLONE_2.31): $(CLONE_2.31_OBJECTS) allocator/layout.ld
	$(CC) -shared $(GLIBC_2.31_COMPILE) -Wl,-soname,libptmalloc-2.31.so -Wl,-z,nodelete \
		-Wl,--no-undefined -Wl,-Bsymbolic-functions \
		-Wl,-z,noseparate-code -Wl,-T,allocator/layout.ld \
		-o $@.tmp $(CLONE_2.31_OBJECTS) $(GLIBC_2.31_LINK)
	mv -f $@.tmp $@
