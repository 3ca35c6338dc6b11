# The heap audit: every program in samples/bugs/ run on the clone (preloaded) and on the system
# glibc (read through libc6-dbg), audited by `heap check` live at audit_point() and again from
# the core it leaves; verdicts and predicted aborts checked against NAME.expect.json.
# Reports: build/audit/report.json and build/audit/junit.xml, each report then held to the --json
# contract (tests/audit/check_reports.py).  The tool is ptmalloc-audit (tools/ptmalloc_audit.py,
# installed by `make install`); `ptmalloc-audit --help` shows how to audit a program of your own.
#
# audit-attacks does the same for the heap-attack catalogue (samples/attacks/), stopped at
# attack_staged() just before each attack's decisive operation: `heap check` must flag every
# attack, including those glibc 2.36 lets through.  Reports in build/audit/attacks/.

AUDIT_SOURCES := $(wildcard samples/bugs/*.c) $(wildcard samples/bugs/*.expect.json) \
	samples/bugs/audit_point.h
AUDIT_TOOL := $(PYTHON) tools/ptmalloc_audit.py --cc $(CC) --allocator clone --allocator glibc --quiet
AUDIT_RUN := $(AUDIT_TOOL) --stop-at audit_point --report-dir $(BUILD)/audit --sample samples/bugs
ATTACK_AUDIT_SOURCES := $(wildcard samples/attacks/*.c) $(wildcard samples/attacks/*.expect.json) \
	$(wildcard samples/attacks/*.h)

TEST_TARGETS += test-audit

.PHONY: audit audit-attacks test-audit
audit: $(BUILD)/libptmalloc.so $(AUDIT_SOURCES) audit-attacks
	$(AUDIT_RUN)
	$(PYTHON) tests/audit/check_reports.py $(BUILD)/audit/report.json $(BUILD)/audit/attacks/report.json

audit-attacks: $(BUILD)/libptmalloc.so $(ATTACK_AUDIT_SOURCES)
	$(AUDIT_TOOL) --stop-at attack_staged --report-dir $(BUILD)/audit/attacks --sample samples/attacks

test-audit: audit
