# Robustness (tests/robust/, samples/attacks/): the allocator under pressure and under attack, and
# the gdb extension against broken heaps, broken cores and hostile targets.
#
#   test-robust   pressure programs (plain glibc, the clone, the clone built with UBSan), the
#                 heap-attack catalogue against glibc 2.36, and a bounded corruption fuzz of the
#                 gdb extension
#   fuzz          the same fuzzers for a long run: FUZZ_CASES=n (default 20000), FUZZ_SEED=s
#
# The UBSan configuration compiles the allocator's own C with -fsanitize=undefined and no recovery,
# so any undefined behaviour is a crash the pressure tests see.

ROBUST_DIR       := $(BUILD)/robust
ATTACK_DIR       := $(BUILD)/samples/attacks
UBSAN_DIR        := $(BUILD)/ubsan
UBSAN_LIBRARY    := $(UBSAN_DIR)/libptmalloc.so
UBSAN_SOURCES    := $(ALLOCATOR_SOURCES)
UBSAN_OBJECTS    := $(patsubst %.c,$(UBSAN_DIR)/obj/%.o,$(UBSAN_SOURCES))
UBSAN_FLAGS      := -fsanitize=undefined -fno-sanitize-recover=all
# Same flags as the real build (mk/allocator.mk), plus the sanitizer.
UBSAN_CFLAGS     := $(CFLAGS) -fPIC -fvisibility=hidden -ftls-model=initial-exec \
	-fno-builtin-malloc -fno-builtin-free -fno-builtin-calloc -fno-builtin-realloc \
	-fno-stack-protector -D_GNU_SOURCE -Iallocator $(UBSAN_FLAGS)

# The probes must call the allocator exactly as written: no folding of malloc(huge) into NULL.
ROBUST_CFLAGS    := $(SAMPLE_CFLAGS) -D_GNU_SOURCE -fno-builtin-malloc -fno-builtin-free \
	-fno-builtin-calloc -fno-builtin-realloc
ROBUST_PROGRAMS  := $(addprefix $(ROBUST_DIR)/,limits_probe exhaust thread_stress fork_threads \
	fuzz_target)
ATTACK_SOURCES   := $(sort $(wildcard samples/attacks/*.c))
ATTACK_PROGRAMS  := $(patsubst samples/attacks/%.c,$(ATTACK_DIR)/%,$(ATTACK_SOURCES))
ROBUST_PYTEST    := PTM_BUILD=$(abspath $(BUILD)) $(PYTHON) -m pytest -q -p no:cacheprovider

ALL_TARGETS += $(UBSAN_LIBRARY) $(ROBUST_PROGRAMS) $(ATTACK_PROGRAMS)

$(UBSAN_DIR)/obj/%.o: %.c $(ALLOCATOR_HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(UBSAN_CFLAGS) -c $< -o $@

$(UBSAN_LIBRARY): $(UBSAN_OBJECTS)
	$(CC) -shared $(UBSAN_FLAGS) -Wl,-soname,libptmalloc.so -Wl,-z,nodelete -o $@ $^ -lpthread

# The stress program's own checking must not dominate its run time; the allocator is what it tests.
$(ROBUST_DIR)/thread_stress: ROBUST_CFLAGS += -O2

$(ROBUST_DIR)/%: tests/robust/%.c tests/robust/malloc_provider.h tests/robust/xorshift.h
	@mkdir -p $(dir $@)
	$(CC) $(ROBUST_CFLAGS) -pthread -o $@ $<

$(ATTACK_DIR)/%: samples/attacks/%.c samples/attacks/attack.h
	@mkdir -p $(dir $@)
	$(CC) $(ROBUST_CFLAGS) -Isamples/attacks -o $@ $<

.PHONY: test-robust test-robust-pressure test-robust-attacks test-robust-gdb fuzz
TEST_TARGETS += test-robust-pressure test-robust-attacks test-robust-gdb
test-robust-pressure: $(ROBUST_PROGRAMS) $(BUILD)/libptmalloc.so $(UBSAN_LIBRARY)
	$(ROBUST_PYTEST) tests/robust/test_pressure.py

test-robust-attacks: $(ATTACK_PROGRAMS) $(BUILD)/libptmalloc.so
	$(ROBUST_PYTEST) tests/robust/test_attacks.py

test-robust-gdb: $(ROBUST_DIR)/fuzz_target $(BUILD)/libptmalloc.so
	$(ROBUST_PYTEST) tests/robust/test_gdb_fuzz.py

test-robust: test-robust-pressure test-robust-attacks test-robust-gdb

FUZZ_CASES ?= 20000
FUZZ_SEED  ?= 1
# Long runs: the live clone heap, glibc's heap, and patched copies of a core.
fuzz: $(ROBUST_DIR)/fuzz_target $(BUILD)/libptmalloc.so
	-PTM_BUILD=$(abspath $(BUILD)) $(PYTHON) tests/robust/gdb_fuzz.py --cases $(FUZZ_CASES) --seed $(FUZZ_SEED)
	-PTM_BUILD=$(abspath $(BUILD)) $(PYTHON) tests/robust/gdb_fuzz.py --cases $(FUZZ_CASES) --seed $(FUZZ_SEED) --glibc
	-PTM_BUILD=$(abspath $(BUILD)) $(PYTHON) tests/robust/gdb_fuzz.py --cases $$(( $(FUZZ_CASES) / 20 )) --seed $(FUZZ_SEED) --core
	ROBUST_STRESS_OPERATIONS=4000000 ROBUST_FORKS_PER_THREAD=100 $(ROBUST_PYTEST) tests/robust/test_pressure.py
