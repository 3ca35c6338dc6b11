# C layout: every tracked C source and header must be exactly as the committed .clang-format lays
# it out, so that a review never has to read formatting changes and nobody argues about them.
#
#   make format-check   (part of `make test`) lists each file that differs, then one closing line
#   make format         rewrites the checked files in place

# Paths (prefixes) the check leaves out: none at present; a place for generated or vendored C.
FORMAT_EXEMPT :=

# Tracked files only: build outputs and scratch files are nobody's style.  Outside a git checkout
# (an unpacked tarball) every C file of the tree counts.
FORMAT_SOURCES = $(filter-out $(addsuffix %,$(FORMAT_EXEMPT)), \
	$(shell git ls-files '*.c' '*.h' 2>/dev/null || find . -path ./$(BUILD) -prune -o -name '*.[ch]' -print | sed 's|^\./||'))

.PHONY: format-check format
TEST_TARGETS += format-check

format-check:
	@command -v clang-format >/dev/null || { echo "clang-format: not installed (make deps)"; exit 1; }
	@differ=0; \
	for file in $(FORMAT_SOURCES); do \
		clang-format --dry-run --Werror "$$file" >/dev/null 2>&1 || \
			{ echo "clang-format: $$file differs (make format rewrites it)"; differ=$$((differ + 1)); }; \
	done; \
	echo "clang-format: $(words $(FORMAT_SOURCES)) files, $$differ differ"; \
	[ $$differ -eq 0 ]

format:
	clang-format -i $(FORMAT_SOURCES)
