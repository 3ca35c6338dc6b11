"""The oracle's judge on records written here in the program's own format (predict_situations.c),
for the truths a generated case meets only when the scheduler says so: the kernel's SIGSEGV for
an unmapped rseq area comes only when the thread is preempted between the call's munmap and its
next touch of the lost memory, so a run of the oracle may never see it."""
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

import predict_truth  # noqa: E402

CALL = {"op": "free", "pointer": 0x7ffff7d60010, "size": 0}
RSEQ_AREA = 0x7ffff7dd0060
ERRNO = 0x7ffff7dcf6c0
# The free of an mmapped chunk whose size was enlarged past its mapping, over the thread's TLS.
PREDICTED_CRASH = {"outcome": "crashed", "signal": "SIGSEGV", "fault": ERRNO,
                   "fault_kind": "unmapped", "rseq_unmapped": RSEQ_AREA, "changes": [],
                   "unmappings": [{"address": 0x7ffff7d60000, "length": 0x73000}]}


def _truth(tmp_path, *lines):
    prefix = str(tmp_path / "case")
    pathlib.Path(prefix + ".truth").write_text(
        "case 1 0x7ffff7d60010 0x0\n" + "".join(line + "\n" for line in lines))
    return predict_truth.read_truth(prefix)


def _fault(address, code, rseq_mapped):
    return ("fault address=%#x code=%#x" % (address, code),
            "rseq address=%#x mapped=%#x" % (RSEQ_AREA, rseq_mapped),
            "signal number=0xb", "status exit=0x5a")


def test_the_calls_own_fault_is_judged_by_its_address(tmp_path):
    truth = _truth(tmp_path, *_fault(ERRNO, 1, 0))
    assert truth["rseq_gone"] is None
    assert predict_truth.judge(CALL, truth, PREDICTED_CRASH) == ("match", None)
    verdict, why = predict_truth.judge(CALL, truth, dict(PREDICTED_CRASH, fault=ERRNO + 8))
    assert verdict == "miss" and "fault at" in why
    # The rseq area the call takes with it is part of the answer, named or not.
    verdict, why = predict_truth.judge(CALL, truth, dict(PREDICTED_CRASH, rseq_unmapped=None))
    assert verdict == "miss" and "rseq" in why
    kept = _truth(tmp_path, *_fault(ERRNO, 1, 1))
    assert predict_truth.judge(CALL, kept, PREDICTED_CRASH)[0] == "miss"
    assert predict_truth.judge(CALL, kept, dict(PREDICTED_CRASH, rseq_unmapped=None)) == ("match", None)


def test_the_kernels_kill_for_the_lost_rseq_area_needs_the_prediction_to_name_it(tmp_path):
    truth = _truth(tmp_path, *_fault(0, predict_truth.SI_KERNEL, 0))
    assert truth["outcome"] == "fault" and truth["rseq_gone"] == RSEQ_AREA
    assert predict_truth.judge(CALL, truth, PREDICTED_CRASH) == ("match", None)
    for unnamed in (None, RSEQ_AREA + 0x1000):
        verdict, why = predict_truth.judge(CALL, truth, dict(PREDICTED_CRASH, rseq_unmapped=unnamed))
        assert verdict == "miss" and "rseq area" in why
    verdict, _why = predict_truth.judge(CALL, truth, dict(PREDICTED_CRASH, outcome="aborted",
                                                          abort="munmap_chunk(): invalid pointer"))
    assert verdict == "miss"


def test_a_kernel_fault_with_the_rseq_area_still_mapped_is_no_rseq_kill(tmp_path):
    # si_code SI_KERNEL without an address is also a non-canonical access (a general protection
    # fault): only a prediction of that passes.
    truth = _truth(tmp_path, *_fault(0, predict_truth.SI_KERNEL, 1))
    assert truth["rseq_gone"] is None
    verdict, _why = predict_truth.judge(CALL, truth, PREDICTED_CRASH)
    assert verdict == "miss"
    assert predict_truth.judge(CALL, truth, dict(PREDICTED_CRASH, fault=1 << 60, rseq_unmapped=None,
                                                 unmappings=[]))[0] == "match"
