#!/usr/bin/python3
"""`make audit`'s last step: every `heap check --json` report the audit collected (live and from
the core, in ptmalloc-audit's report.json) keeps the --json contract.

Usage: check_reports.py REPORT.json...   (exit status 1 on any broken report)"""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import json_contract  # noqa: E402 - the --json contract every report must keep


def main(paths):
    broken = 0
    reports = 0
    for path in paths:
        with open(path, encoding="utf-8") as handle:
            results = json.load(handle)
        for result in results:
            for phase in ("live", "core"):
                report = result.get(phase)
                if report is None:
                    continue
                reports += 1
                for problem in json_contract.problems("heap check --json", report):
                    broken += 1
                    print("%s %s %s: %s" % (result["sample"], result["allocator"], phase,
                                            problem))
    print("audit reports: %d checked against the --json contract, %d problems" % (reports,
                                                                                 broken))
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
