"""The oracle's judge of the rseq area on records written here in the program's own format
(predict_situations.c): a free of an mmapped chunk whose size was enlarged past its mapping
unmaps the thread's TLS, and the prediction must say whether the thread's rseq area goes with it,
as the program finds it after the call."""
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

import predict_truth  # noqa: E402

CALL = {"op": "free", "pointer": 0x7ffff7d60010, "size": 0}
RSEQ_AREA = 0x7ffff7dd0060
ERRNO = 0x7ffff7dcf6c0
PREDICTED_CRASH = {"outcome": "crashed", "signal": "SIGSEGV", "fault": ERRNO,
                   "fault_kind": "unmapped", "rseq_unmapped": RSEQ_AREA, "changes": [],
                   "unmappings": [{"address": 0x7ffff7d60000, "length": 0x73000}]}


def _truth(tmp_path, rseq_mapped):
    prefix = str(tmp_path / ("case-%d" % rseq_mapped))
    pathlib.Path(prefix + ".truth").write_text(
        "case 1 0x7ffff7d60010 0x0\nfault address=%#x code=0x1\nrseq address=%#x mapped=%#x\n"
        "signal number=0xb\nstatus exit=0x5a\n" % (ERRNO, RSEQ_AREA, rseq_mapped))
    return predict_truth.read_truth(prefix)


def test_a_fault_that_took_the_rseq_area_needs_the_prediction_to_name_it(tmp_path):
    truth = _truth(tmp_path, 0)
    assert truth["outcome"] == "fault" and truth["fault"] == ERRNO
    assert predict_truth.judge(CALL, truth, PREDICTED_CRASH) == ("match", None)
    for unnamed in (None, RSEQ_AREA + 0x1000):
        verdict, why = predict_truth.judge(CALL, truth, dict(PREDICTED_CRASH, rseq_unmapped=unnamed))
        assert verdict == "miss" and "rseq area unmapped" in why
    verdict, why = predict_truth.judge(CALL, truth, dict(PREDICTED_CRASH, fault=ERRNO + 8))
    assert verdict == "miss" and "fault at" in why


def test_a_fault_that_left_the_rseq_area_must_not_be_said_to_take_it(tmp_path):
    truth = _truth(tmp_path, 1)
    verdict, why = predict_truth.judge(CALL, truth, PREDICTED_CRASH)
    assert verdict == "miss" and "rseq area mapped" in why
    assert predict_truth.judge(CALL, truth, dict(PREDICTED_CRASH, rseq_unmapped=None)) == \
        ("match", None)
