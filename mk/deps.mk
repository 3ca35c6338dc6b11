# Debian packages the project needs.  `make deps` installs the missing ones when run as root (a
# fresh Debian 12 machine); otherwise it names them and carries on, so a user without root still
# gets a clear message from whatever step needs the package.
# Besides the toolchain, gdb and libc6-dbg: clang-format for `make format-check`, pyflakes3 for
# `make lint`, python3-jsonschema for the --json contract the tests validate, libdw-dev for
# <dwarf.h> alone, tmux for the terminal test (tests/gdb/test_terminal.py), chromium for the
# `heap map` test that looks at the pictures in a real browser (tests/gdb/test_heap_map.py).
DEBIAN_PACKAGES := gcc make gdb binutils binutils-dev libcunit1-dev libc6-dbg python3 python3-pytest python3-jsonschema pyflakes3 procps file pkgconf clang-format libdw-dev tmux chromium

.PHONY: deps
deps:
	@missing=$$(for p in $(DEBIAN_PACKAGES); do dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ]; then \
			echo "deps: installing $$missing"; \
			DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
			DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
		else \
			echo "deps: missing Debian packages: $$missing (run 'sudo make deps')"; \
		fi; \
	fi
