# The heap audit: every program in samples/bugs/ run on the clone (preloaded) and on the system
# glibc (read through libc6-dbg), audited by `heap check` live at audit_point() and again from
# the core it leaves; verdicts and predicted aborts checked against NAME.expect.json.
# Reports: build/audit/report.json and build/audit/junit.xml.  tests/audit/run_audit.py --help
# shows how to audit a program of your own.

AUDIT_SOURCES := $(wildcard samples/bugs/*.c) $(wildcard samples/bugs/*.expect.json) \
	samples/bugs/audit_point.h
AUDIT_RUN := CC=$(CC) $(PYTHON) tests/audit/run_audit.py --report-dir $(BUILD)/audit

TEST_TARGETS += test-audit

.PHONY: audit test-audit
audit: $(BUILD)/libptmalloc.so $(AUDIT_SOURCES)
	$(AUDIT_RUN)

test-audit: audit
