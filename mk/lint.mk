# Python lint: Debian's pyflakes3 over the extension, its tests and the benchmark drivers
# (`make lint`, the first step of `make test`).  pyflakes finds names that are undefined, unused
# or redefined without use: dead code and typos in code that gdb only runs on demand.  It prints
# one line per problem and a closing count, and fails on any problem.

LINT_PYTHON_DIRS := gdb tests bench tools
PYFLAKES := pyflakes3

TEST_TARGETS += lint

.PHONY: lint
lint:
	@files=$$(find $(LINT_PYTHON_DIRS) -name '*.py' -not -path '*/__pycache__/*' | sort); \
	count=$$(printf '%s\n' "$$files" | grep -c .); \
	report=$$($(PYFLAKES) $$files 2>&1); \
	status=$$?; \
	if [ -n "$$report" ]; then printf '%s\n' "$$report"; fi; \
	problems=$$(printf '%s' "$$report" | grep -c .); \
	echo "pyflakes: $$count files, $$problems problems"; \
	test $$status -eq 0 -a $$problems -eq 0
