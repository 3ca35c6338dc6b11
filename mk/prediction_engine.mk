# The prediction engine (gdb/native/predict_*.c): the allocator's own code, built with
# PTM_PREDICT_ENGINE (allocator/predict_notes.h), in a static program that runs a call on a copy
# of an inferior's heap for `heap try-free`, `try-malloc`, `try-realloc` and `heap check`.  One
# per release the clone builds as: build/ptmalloc-predict-2.36, and -2.31 and -2.41 beside those
# clones.
#
# The program lives at PREDICT_ENGINE_ADDRESS, away from where programs keep their heaps, stacks
# and libraries (the engine maps the inferior's pages at their own addresses around it).  The
# allocator's objects are linked into one relocatable object first, in which the entry points
# the clone exports are renamed predict_api_* (they must not replace the engine's own libc
# malloc) and the system calls it makes on memory go to the engine's stand-ins, which act on
# the copy; so does errno, which is the calling thread's in the inferior.

PREDICT_ENGINE_ADDRESS := 0x60000000
PREDICT_ENGINE_SOURCES := $(sort $(wildcard gdb/native/predict_*.c))
PREDICT_ENGINE_HEADERS := $(wildcard gdb/native/predict_*.h)
PREDICT_ENGINE_STAND_INS := mmap munmap mremap mprotect madvise sbrk __errno_location
# Globals of the allocator that a release's static libc also defines (2.31's malloc.o exports
# this one): renamed like the entry points.
PREDICT_ENGINE_LIBC_NAMES := __libc_malloc_initialized
PREDICT_ENGINE_CFLAGS = $(ALLOCATOR_CFLAGS) -DPTM_PREDICT_ENGINE=1
PREDICT_ENGINE_2.36 := $(BUILD)/ptmalloc-predict-2.36
PREDICT_ENGINE_2.31 := $(BUILD)/ptmalloc-predict-2.31
PREDICT_ENGINE_2.41 := $(BUILD)/ptmalloc-predict-2.41

ALL_TARGETS += $(PREDICT_ENGINE_2.36)

# $(1) release, $(2) the clone of that release (its exports are the names to rename), $(3) the
# name of a variable with extra compile and link options (read when the recipe runs: the
# releases' variables are set by mk/versions.mk, read after this file), $(4) what the objects
# also depend on, $(5) libraries the static link needs besides libc.
define prediction_engine
PREDICT_OBJECTS_$(1) := $$(patsubst %.c,$(BUILD)/obj-predict-$(1)/%.o,$$(filter-out dwarf/%,$$(call allocator_sources,$(1))))
PREDICT_ENGINE_OBJECTS_$(1) := $$(patsubst %.c,$(BUILD)/obj-predict-$(1)/%.o,$(PREDICT_ENGINE_SOURCES))

$(BUILD)/obj-predict-$(1)/%.o: %.c $(ALLOCATOR_HEADERS) $(PREDICT_ENGINE_HEADERS) $(4)
	@mkdir -p $$(dir $$@)
	$(CC) $$(PREDICT_ENGINE_CFLAGS) -DGLIBC_VERSION=$(subst .,,$(1)) $$($(3)) -c $$< -o $$@

# The release's globals.c keeps the real main_arena variable (unused); every other unit reaches
# the inferior's through predict_main_arena.
$(BUILD)/obj-predict-$(1)/allocator/glibc-$(1)/globals.o: PREDICT_ENGINE_CFLAGS = $(ALLOCATOR_CFLAGS)

$(BUILD)/obj-predict-$(1)/renames: $(2) mk/prediction_engine.mk
	@mkdir -p $$(dir $$@)
	nm -D --defined-only $$< | awk '{ print $$$$3 " predict_api_" $$$$3 }' > $$@.tmp
	for call in $(PREDICT_ENGINE_STAND_INS); do echo "$$$$call predict_$$$$call"; done >> $$@.tmp
	echo "pthread_atfork predict_refuse_atfork" >> $$@.tmp
	for name in $(PREDICT_ENGINE_LIBC_NAMES); do echo "$$$$name predict_$$$$name"; done >> $$@.tmp
	mv -f $$@.tmp $$@

$(BUILD)/obj-predict-$(1)/allocator.o: $$(PREDICT_OBJECTS_$(1)) $(BUILD)/obj-predict-$(1)/renames
	$(LD) -r -o $$@.tmp $$(PREDICT_OBJECTS_$(1))
	objcopy --redefine-syms=$(BUILD)/obj-predict-$(1)/renames $$@.tmp $$@

$(PREDICT_ENGINE_$(1)): $$(PREDICT_ENGINE_OBJECTS_$(1)) $(BUILD)/obj-predict-$(1)/allocator.o
	$(CC) $$($(3)) -static -no-pie -Wl,-Ttext-segment=$(PREDICT_ENGINE_ADDRESS) -o $$@.tmp $$^ $(5)
	mv -f $$@.tmp $$@
endef

comma := ,
PREDICT_ENGINE_NO_OPTIONS :=
$(eval $(call prediction_engine,2.36,$(BUILD)/libptmalloc.so,PREDICT_ENGINE_NO_OPTIONS,))
# A static program needs no 2.41 at run time: built like 2.36's, from the 2.41 sources.
$(eval $(call prediction_engine,2.41,$(CLONE_2.41),PREDICT_ENGINE_NO_OPTIONS,))
# Threads are a library of their own in 2.31; all of it, or the unwinder registering frames at
# start-up calls the weak, unlinked pthread_mutex_lock.
$(eval $(call prediction_engine,2.31,$(CLONE_2.31),GLIBC_2.31_COMPILE,$(BUILD)/glibc/2.31/version,-Wl$(comma)--whole-archive -lpthread -Wl$(comma)--no-whole-archive))

.PHONY: prediction-engines
prediction-engines: $(PREDICT_ENGINE_2.36) $(PREDICT_ENGINE_2.31) $(PREDICT_ENGINE_2.41)
