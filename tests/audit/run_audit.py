#!/usr/bin/python3
"""The audit as it ran before ptmalloc-audit existed: the same tool (tools/ptmalloc_audit.py),
kept so the gdb suites can build the bug and attack samples exactly as the audit does."""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))), "tools"))
import ptmalloc_audit  # noqa: E402 - the tool itself

build_sample = ptmalloc_audit.build_sample
load_expect = ptmalloc_audit.load_expect
main = ptmalloc_audit.main

if __name__ == "__main__":
    sys.exit(main())
