"""Lets the differential tests import their shared helpers, and fails them with one clear line
when the programs they drive have not been built."""
import pathlib
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

import difftools  # noqa: E402


@pytest.fixture(autouse=True, scope="session")
def built_programs():
    missing = [path for path in (difftools.TRACE_GEN, difftools.REPLAY, difftools.CORRUPT,
                                 difftools.CLONE) if not path.exists()]
    if missing:
        pytest.fail("not built: " + ", ".join(str(path) for path in missing) + " (run make)",
                    pytrace=False)
