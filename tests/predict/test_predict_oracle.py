"""The extension's predictions against the real call (tests/predict/): a few hundred generated
situations, clean and damaged, on the clone and on glibc (and a small set on glibc 2.31 and 2.41
and the clones built as them, each with its release's engine), each predicted live (and a quarter of
them from a gcore too) and then really made; fails below the target exact-match rate and prints
the per operation × state kind table and every miss.  `make fuzz` runs thousands."""
import pathlib
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

import predict_harness  # noqa: E402

CASES_PER_ALLOCATOR = 100
SEED = 17
# glibc 2.31 and 2.41 (Debian's, and the clones built as them) with their releases' engines: a
# smaller set (make fuzz-predict runs more).
RELEASE_ALLOCATORS = ["glibc-2.31", "clone-2.31", "glibc-2.41", "clone-2.41"]
RELEASE_CASES = 24


@pytest.fixture(autouse=True, scope="module")
def built():
    missing = [str(path) for path in (predict_harness.PROGRAM, predict_harness.CLONE)
               if not path.exists()]
    if missing:
        pytest.fail("not built: %s (run make)" % ", ".join(missing), pytrace=False)


def test_predictions_match_the_real_calls(capsys):
    kind_classes = predict_harness.kinds()
    results = predict_harness.run_allocators(
        ["clone", "glibc"],
        lambda directory: predict_harness.make_cases(SEED, CASES_PER_ALLOCATOR, directory))
    text, overall = predict_harness.report(results, kind_classes)
    with capsys.disabled():
        print("\n" + text)
    judged = sum(1 for rows in results.values() for row in rows if row[3] != "skip")
    assert judged >= CASES_PER_ALLOCATOR * 2, text
    assert overall >= predict_harness.TARGET_RATE, (
        "exact predictions %.2f%% < %.1f%%\n%s"
        % (100 * overall, 100 * predict_harness.TARGET_RATE, text))


def test_predictions_match_the_real_calls_on_glibc_2_31_and_2_41(capsys):
    missing = [str(predict_harness.ALLOCATORS[name][0]) for name in RELEASE_ALLOCATORS
               if not predict_harness.ALLOCATORS[name][0].exists()]
    if missing:
        pytest.fail("not built: %s (make glibc-versions test-predict)" % ", ".join(missing),
                    pytrace=False)
    kind_classes = predict_harness.kinds()
    results = predict_harness.run_allocators(
        RELEASE_ALLOCATORS,
        lambda directory: predict_harness.make_cases(SEED, RELEASE_CASES, directory))
    text, overall = predict_harness.report(results, kind_classes)
    with capsys.disabled():
        print("\n" + text)
    judged = sum(1 for rows in results.values() for row in rows if row[3] != "skip")
    assert judged >= RELEASE_CASES * len(RELEASE_ALLOCATORS), text
    assert overall >= predict_harness.TARGET_RATE, (
        "exact predictions %.2f%% < %.1f%%\n%s"
        % (100 * overall, 100 * predict_harness.TARGET_RATE, text))
