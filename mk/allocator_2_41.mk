# The clone built as glibc 2.41 (Debian 13's 2.41-12+deb13u5): build/libptmalloc-2.41.so, from the
# same allocator/ tree with GLIBC_VERSION=241 (allocator/version.h names what that changes) and
# the files of allocator/glibc-2.41/, linked like build/libptmalloc.so (mk/allocator.mk says why
# each option) and against the real 2.41 fetched by `make glibc-versions`, the way the 2.41
# programs of mk/versions.mk are: its loader and its libraries at run time.

CLONE_2.41         := $(BUILD)/libptmalloc-2.41.so
CLONE_2.41_SOURCES := $(call allocator_sources,2.41)
CLONE_2.41_OBJECTS := $(patsubst %.c,$(BUILD)/obj-2.41/%.o,$(CLONE_2.41_SOURCES))

.PHONY: libptmalloc-2.41
libptmalloc-2.41: $(CLONE_2.41)

$(BUILD)/obj-2.41/%.o: %.c $(ALLOCATOR_HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(ALLOCATOR_CFLAGS) -DGLIBC_VERSION=241 -c $< -o $@

$(CLONE_2.41): $(CLONE_2.41_OBJECTS) allocator/layout.ld $(BUILD)/glibc/2.41/version
	$(CC) -shared -Wl,-soname,libptmalloc-2.41.so -Wl,-z,nodelete -Wl,--no-undefined \
		-Wl,-z,pack-relative-relocs -Wl,-Bsymbolic-functions -Wl,-z,noseparate-code \
		-Wl,-T,allocator/layout.ld \
		-o $@.tmp $(CLONE_2.41_OBJECTS) $(GLIBC_2.41_LINK)
	mv -f $@.tmp $@
