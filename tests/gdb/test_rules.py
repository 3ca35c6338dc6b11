"""Every rule a sample's expected verdict names (samples/*/NAME.expect.json) is one of the rules
the heap check defines (gdb/ptmalloc/check/findings.py), so a renamed rule cannot leave a sample
expecting a verdict no run can give."""

import glob
import json
import os
import sys

from conftest import REPO

sys.path.insert(0, os.path.join(REPO, "gdb"))

from ptmalloc.check.findings import Rule  # noqa: E402 - found through the path above


def test_expected_verdicts_name_defined_rules():
    unknown = {}
    for path in sorted(glob.glob(os.path.join(REPO, "samples", "*", "*.expect.json"))):
        with open(path, encoding="utf-8") as handle:
            rules = json.load(handle).get("rules") or []
        for rule in rules:
            if rule not in set(Rule):
                unknown.setdefault(os.path.relpath(path, REPO), []).append(rule)
    assert unknown == {}
