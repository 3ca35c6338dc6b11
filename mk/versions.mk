# Other glibc releases beside the system's 2.36: Debian's 2.31 (bullseye, the seeds' glibc) and
# 2.41 (trixie), fetched once from the archive into build/glibc/VERSION/root (with their debug
# info) by tests/versions/fetch_glibc.sh, and the oracle's heap program built against each, run
# by that release's own loader, plain and with the clone built as that release preloaded.
# `make glibc-versions` fetches; `make test` runs test-versions.

GLIBC_2.31 ?= 2.31-13+deb11u11
GLIBC_2.41 ?= 2.41-12+deb13u5
GLIBC_RELEASES := 2.31 2.41
GLIBC_ROOT = $(abspath $(BUILD)/glibc/$(1)/root)
VERSIONS_DIR := $(BUILD)/tests/versions
VERSION_PROGRAMS := $(foreach r,$(GLIBC_RELEASES),$(VERSIONS_DIR)/heap_oracle-$(r))

TEST_TARGETS += test-versions

.PHONY: glibc-versions test-versions
glibc-versions: $(foreach r,$(GLIBC_RELEASES),$(BUILD)/glibc/$(r)/version)

$(BUILD)/glibc/%/version: tests/versions/fetch_glibc.sh
	sh $< $(GLIBC_$*) $(dir $@)

# 2.41 links as usual, with its loader and libraries; 2.31 predates the GLIBC_2.34 symbols a
# program built against 2.36 needs, so it is built in its own sysroot, with its separate
# libpthread.
GLIBC_2.41_LINK = -Wl,--dynamic-linker=$(call GLIBC_ROOT,2.41)/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2 \
	-Wl,-rpath,$(call GLIBC_ROOT,2.41)/usr/lib/x86_64-linux-gnu
$(VERSIONS_DIR)/heap_oracle-2.41: tests/oracle/heap_oracle.c $(BUILD)/glibc/2.41/version
	@mkdir -p $(dir $@)
	$(CC) $(SAMPLE_CFLAGS) -pthread $< -o $@ $(GLIBC_2.41_LINK)

# What compiling against 2.31 takes: its sysroot, and its own crt files and libraries first.
GLIBC_2.31_COMPILE = --sysroot=$(call GLIBC_ROOT,2.31) -B$(call GLIBC_ROOT,2.31)/usr/lib/x86_64-linux-gnu/
# What linking against it takes: its separate libpthread, its loader, and its libraries at run time.
GLIBC_2.31_LINK = $(call GLIBC_ROOT,2.31)/lib/x86_64-linux-gnu/libpthread.so.0 \
	-Wl,--dynamic-linker=$(call GLIBC_ROOT,2.31)/lib/x86_64-linux-gnu/ld-2.31.so \
	-Wl,-rpath,$(call GLIBC_ROOT,2.31)/lib/x86_64-linux-gnu

$(VERSIONS_DIR)/heap_oracle-2.31: tests/oracle/heap_oracle.c $(BUILD)/glibc/2.31/version
	@mkdir -p $(dir $@)
	$(CC) $(SAMPLE_CFLAGS) -pthread $(GLIBC_2.31_COMPILE) $< -o $@ $(GLIBC_2.31_LINK)

# A 2.31 program that overwrites __free_hook (tests/versions/test_hooks.py).  Single-threaded,
# so libpthread is not loaded and gdb gets no libthread_db to read libc's thread-locals with:
# the extension reads the tcache at the thread pointer instead (target/thread_locals.py).
HOOK_PROGRAM := $(VERSIONS_DIR)/free_hook-2.31
$(HOOK_PROGRAM): tests/versions/free_hook.c $(BUILD)/glibc/2.31/version
	@mkdir -p $(dir $@)
	$(CC) $(SAMPLE_CFLAGS) $(GLIBC_2.31_COMPILE) $< -o $@ $(GLIBC_2.31_LINK)

# The known-heap samples (samples/known/) against each release, for
# tests/versions/test_known_sample.py.
KNOWN_VERSION_SAMPLES := every_bin sbrk_blocked big_sbrk
KNOWN_VERSION_PROGRAMS := $(foreach r,$(GLIBC_RELEASES),$(foreach s,$(KNOWN_VERSION_SAMPLES),$(VERSIONS_DIR)/$(s)-$(r)))
KNOWN_SAMPLE_HEADERS := samples/known/record.h samples/known/staged.h
$(VERSIONS_DIR)/%-2.41: samples/known/%.c $(KNOWN_SAMPLE_HEADERS) $(BUILD)/glibc/2.41/version
	@mkdir -p $(dir $@)
	$(CC) $(SAMPLE_CFLAGS) -pthread $< -o $@ $(GLIBC_2.41_LINK)
$(VERSIONS_DIR)/%-2.31: samples/known/%.c $(KNOWN_SAMPLE_HEADERS) $(BUILD)/glibc/2.31/version
	@mkdir -p $(dir $@)
	$(CC) $(SAMPLE_CFLAGS) -pthread $(GLIBC_2.31_COMPILE) $< -o $@ $(GLIBC_2.31_LINK)

# The statistics scenarios (tests/stats/) against 2.31, for tests/versions/test_release_stats.py
# (mk/diff_2_41.mk builds 2.41's).
STATS_2.31_PROGRAMS := $(VERSIONS_DIR)/stats_scenarios-2.31 $(VERSIONS_DIR)/libtls_peer-2.31.so
$(VERSIONS_DIR)/stats_scenarios-2.31: tests/stats/stats_scenarios.c $(BUILD)/glibc/2.31/version
	@mkdir -p $(dir $@)
	$(CC) $(SAMPLE_CFLAGS) $(STATS_TEST_CFLAGS) $(GLIBC_2.31_COMPILE) $< -o $@ $(GLIBC_2.31_LINK)
$(VERSIONS_DIR)/libtls_peer-2.31.so: tests/stats/tls_peer.c $(BUILD)/glibc/2.31/version
	@mkdir -p $(dir $@)
	$(CC) $(SAMPLE_CFLAGS) -shared -fPIC $(GLIBC_2.31_COMPILE) $< -o $@

test-versions: $(STATS_2.31_PROGRAMS) $(VERSION_PROGRAMS) $(KNOWN_VERSION_PROGRAMS) $(HOOK_PROGRAM) $(CLONE_2.31) \
		$(CLONE_2.41) $(PREDICT_ENGINE_2.31) $(PREDICT_ENGINE_2.36) $(PREDICT_ENGINE_2.41) \
		$(HEAPWALK_LIBRARY)
	PTM_BUILD=$(abspath $(BUILD)) $(PYTHON) -m pytest -q -p no:cacheprovider tests/versions

# The bug and attack samples (samples/bugs/, samples/attacks/) audited on glibc 2.31 and 2.41 and
# on the clones built as them, by ptmalloc-audit (mk/audit.mk) with each release's build flags and
# gdb settings.  A sample whose real outcome differs on a release (a check that release lacks or
# adds) says so in its NAME.expect.json ("releases"), with why; docs/versions.md lists them.
# `make audit-versions` runs every sample (about 4 minutes); `make test` runs those whose
# expectation differs by release (test-audit-versions, about 20 s).
AUDIT_VERSIONS_DIR := $(BUILD)/audit/versions
# What gdb needs to read a release: its debug info, and leave to load its libthread_db.
GLIBC_GDB_INIT = --gdb-init "set debug-file-directory $(call GLIBC_ROOT,$(1))/usr/lib/debug" \
	--gdb-init "add-auto-load-safe-path $(call GLIBC_ROOT,$(1))"
# attack.h names malloc's provider with dladdr, in 2.31's separate libdl.
AUDIT_BUILD_2.31 = $(GLIBC_2.31_COMPILE) $(GLIBC_2.31_LINK) $(call GLIBC_ROOT,2.31)/lib/x86_64-linux-gnu/libdl.so.2
AUDIT_BUILD_2.41 = $(GLIBC_2.41_LINK)
AUDIT_ALLOCATORS_2.31 := --allocator glibc --allocator clone --library $(CLONE_2.31)
AUDIT_ALLOCATORS_2.41 := --allocator glibc --allocator clone --library $(CLONE_2.41)
# $(1) release, $(2) samples/bugs or samples/attacks (or some of their NAME.c), $(3) stop point,
# $(4) report folder.
AUDIT_ON_RELEASE = $(PYTHON) tools/ptmalloc_audit.py --cc $(CC) --quiet --release $(1) \
	$(AUDIT_ALLOCATORS_$(1)) --cflags "$(AUDIT_BUILD_$(1))" $(call GLIBC_GDB_INIT,$(1)) \
	--stop-at $(3) --report-dir $(AUDIT_VERSIONS_DIR)/$(4)-$(1) $(foreach s,$(2),--sample $(s))
RELEASE_DEPENDENT_SAMPLES = $(patsubst %.expect.json,%.c,$(shell grep -l '"releases"' samples/$(1)/*.expect.json))

.PHONY: audit-versions test-audit-versions
audit-versions: glibc-versions $(CLONE_2.31) $(CLONE_2.41) $(AUDIT_SOURCES) $(ATTACK_AUDIT_SOURCES)
	$(foreach r,$(GLIBC_RELEASES),$(call AUDIT_ON_RELEASE,$(r),samples/bugs,audit_point,bugs) && \
		$(call AUDIT_ON_RELEASE,$(r),samples/attacks,attack_staged,attacks) &&) true

TEST_TARGETS += test-audit-versions
test-audit-versions: glibc-versions $(CLONE_2.31) $(CLONE_2.41) $(AUDIT_SOURCES) $(ATTACK_AUDIT_SOURCES)
	$(foreach r,$(GLIBC_RELEASES),\
		$(call AUDIT_ON_RELEASE,$(r),$(call RELEASE_DEPENDENT_SAMPLES,bugs),audit_point,bugs) && \
		$(call AUDIT_ON_RELEASE,$(r),$(call RELEASE_DEPENDENT_SAMPLES,attacks),attack_staged,attacks) &&) true

# How 2.41's malloc differs from 2.36's, measured: the differential programs built against 2.41
# and run under it plain and with the clone as 2.36 preloaded (tests/versions/compare_2_41.py; a
# report, not a test: docs/versions.md keeps its numbers).  About a minute.
COMPARE_2.41_PROGRAMS := $(BUILD)/diff-2.41/replay $(BUILD)/diff-2.41/corrupt \
	$(BUILD)/diff-2.41/stats_scenarios $(BUILD)/diff-2.41/libtls_peer.so
$(BUILD)/diff-2.41/%: tests/diff/%.c tests/diff/raw_output.h $(BUILD)/glibc/2.41/version
	@mkdir -p $(dir $@)
	$(CC) $(DIFF_CFLAGS) -o $@ $< $(GLIBC_2.41_LINK)
$(BUILD)/diff-2.41/stats_scenarios: tests/stats/stats_scenarios.c $(BUILD)/glibc/2.41/version
	@mkdir -p $(dir $@)
	$(CC) $(SAMPLE_CFLAGS) $(STATS_TEST_CFLAGS) $< -o $@ -lpthread $(GLIBC_2.41_LINK)
$(BUILD)/diff-2.41/libtls_peer.so: tests/stats/tls_peer.c $(BUILD)/glibc/2.41/version
	@mkdir -p $(dir $@)
	$(CC) $(SAMPLE_CFLAGS) -shared -fPIC $< -o $@ $(GLIBC_2.41_LINK)

.PHONY: compare-2.41
compare-2.41: $(COMPARE_2.41_PROGRAMS) $(BUILD)/diff/trace_gen $(BUILD)/libptmalloc.so
	PTM_BUILD=$(abspath $(BUILD)) $(PYTHON) tests/versions/compare_2_41.py
