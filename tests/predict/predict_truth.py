"""What really happened, and whether a prediction said it.  The truth is the program's own record
of the real call (predict_situations.c: PREFIX.truth and PREFIX.stderr), never the extension's
reading of the heap.  Each word the program read before and after the call (the acting thread's
tcache count and head, the fastbin head, top and its size, the remainder, the unsorted and small
bins, the chunk's header) must be what the prediction's `changes` make of it.  The bin a chunk
came from or went to is known only where the words the program read around the call prove it
(a malloc that returned the tcache bin's head, a free after which the fastbin's head is the
chunk...), and is not compared elsewhere.

A prediction is the first JSON document a `heap try-*` command printed: the engine's contract
(returns, from, to, abort, fault, new_mapping, unknown) or, until it lands, the old try-free one
(path, abort, crash), read as the same fields."""
import json
import pathlib

HEADER = 16
IS_MMAPPED = 2
MISSING = 0xdeadbeefdeadbeef
SIGABRT, SIGALRM = 6, 14
MINSIZE = 32
NON_CANONICAL = (1 << 47, 0xffff800000000000)
# The old try-free's paths, as the engine's "to".
OLD_PATHS = {"tcache": "tcache", "fast": "fastbin", "normal": "unsorted", "mmapped": "munmap"}


def _words(line):
    words = {}
    for item in line.split()[1:]:
        key, _, value = item.partition("=")
        words[key] = int(value, 16)
    return words


def read_truth(prefix):
    """{"outcome": return|abort|fault|hang|lost, "returns", "message", "fault", "before",
    "after", "to"/"from"} from the program's record of its real call; None when it left none."""
    path = pathlib.Path(prefix + ".truth")
    if not path.exists():
        return None
    record = {"before": {}, "after": {}, "before_at": {}, "after_at": {}}
    for line in path.read_text().splitlines():
        word = line.split(" ", 1)[0]
        if word in ("before", "after", "before_at", "after_at"):
            record[word] = _words(line)
        elif word in ("returned", "fault", "status", "signal", "rseq"):
            record[word] = _words(line)
    stderr = pathlib.Path(prefix + ".stderr")
    message = stderr.read_text(errors="replace").strip() if stderr.exists() else ""
    status = record.get("status", {})
    truth = {"before": record["before"], "after": record["after"], "returns": None,
             "message": None, "fault": None, "rseq": record.get("rseq"),
             "watched": _watched(record["before"], record["after"], record["before_at"],
                                 record["after_at"])}
    if "fault" in record:
        truth.update(outcome="fault", fault=record["fault"]["address"])
    elif status.get("signal") == SIGABRT:
        truth.update(outcome="abort", message=message)
    elif status.get("signal") == SIGALRM:
        truth.update(outcome="hang")
    elif "returned" in record and status.get("exit") == 0:
        truth.update(outcome="return", returns=record["returned"]["pointer"])
    else:
        truth.update(outcome="lost", message="status %s" % status)
    return truth


def _watched(before, after, before_at, after_at):
    """{key: (address, value before, value after)} of the words read at the same address before
    and after the call, both read (a word at a moved top, or in a chunk unmapped, is not)."""
    watched = {}
    for key, address in before_at.items():
        if after_at.get(key) == address and MISSING not in (before.get(key, MISSING),
                                                            after.get(key, MISSING)):
            watched[key] = (address, before[key], after[key])
    return watched


def written_words_differ(truth, prediction):
    """The first watched word whose value after the call is not what the prediction's `changes`
    make of it (the word it says the call wrote, or else the word as it was), as a text; None
    when they all agree.  A tcache count is 16 bits inside its word."""
    changes = {change["address"]: change["new"] for change in prediction.get("changes") or ()}
    for key, (address, old, new) in sorted(truth.get("watched", {}).items()):
        word = address & ~7
        if word not in changes:
            predicted = old
        else:
            shift = 8 * (address - word)
            mask = 0xffff if key == "tc_count" else (1 << 64) - 1
            predicted = (changes[word] >> shift) & mask
        if predicted != new:
            return "%s at %#x is %#x after the call; the prediction's writes make it %#x" % (
                key, address, new, predicted)
    return None


def chunk_size(request):
    return max(MINSIZE, (request + 8 + 15) & ~15)


def bin_of_malloc(truth, request):
    """Where malloc's chunk came from, when the words read before and after the call show it."""
    returned, before, after = truth["returns"], truth["before"], truth["after"]
    if not returned:
        return None
    chunk = returned - HEADER
    # The tcache's head handed out is proof enough, whatever the word before it says (a
    # poisoned entry can point at memory whose "size" has IS_MMAPPED set).
    if before.get("tc_count", 0) > 0 and before.get("tc_entry") == returned:
        return "tcache"
    if after.get("header", MISSING) != MISSING and after["header"] & IS_MMAPPED:
        return "mmap"
    if before.get("fast") == chunk:
        return "fastbin"
    if before.get("small_bk") == chunk and before.get("small_bk") != after.get("small_bk"):
        return "smallbin"
    if before.get("top") == chunk and after.get("top") != chunk:
        fits = (before.get("top_size", 0) & ~7) >= chunk_size(request) + MINSIZE
        return "top" if fits else "sysmalloc"
    return None


def bin_of_free(truth, pointer):
    """Where free's chunk went, when the words read before and after the call show it."""
    before, after = truth["before"], truth["after"]
    if not pointer or not before:
        return None
    chunk = pointer - HEADER
    if before.get("header", 0) & IS_MMAPPED and not after.get("mapped", 1):
        return "munmap"
    if after.get("tc_entry") == pointer and before.get("tc_entry") != pointer:
        return "tcache"
    if after.get("fast") == chunk and before.get("fast") != chunk:
        return "fastbin"
    top, top_size = after.get("top"), after.get("top_size", 0)
    if top is not None and top != before.get("top") and top <= chunk < top + (top_size & ~7):
        return "top"
    fd = after.get("unsorted_fd")
    if fd is not None and fd != before.get("unsorted_fd") and fd <= chunk:
        return "unsorted"
    return None


def read_prediction(reply):
    """The prediction's fields from a command's reply ({"text", "error"}), or a reason why none."""
    text = reply.get("text")
    if not text:
        return None, "no prediction: %s" % (reply.get("error") or "no output")[:200]
    for line in text.splitlines():
        if line.startswith("{"):
            try:
                document = json.loads(line)
            except ValueError:
                break
            if "path" in document and "returns" not in document:
                return {"returns": None, "from": None, "to": OLD_PATHS.get(document["path"]),
                        "abort": document.get("abort"),
                        "fault": "unknown" if document.get("crash") else None,
                        "new_mapping": False, "unknown": None}, None
            return document, None
    return None, "no JSON in the reply: %s" % text[-200:]


# The engine's outcomes, as the truth names them.
OUTCOMES = {"returned": "return", "aborted": "abort", "crashed": "fault", "unknown": "unknown",
            "hung": "hang", "timeout": "hang", "loops": "hang"}


def _predicted_outcome(prediction):
    if prediction.get("unknown") or prediction.get("outcome") == "unknown":
        return "unknown"
    if prediction.get("outcome") in OUTCOMES:
        return OUTCOMES[prediction["outcome"]]
    if prediction.get("abort") is not None:
        return "abort"
    if prediction.get("fault") is not None:
        return "fault"
    return "return"


def judge(call, truth, prediction):
    """(verdict, why): "match", or "miss" with what differs."""
    said = _predicted_outcome(prediction)
    if said == "unknown":
        return "miss", "engine says unknown: %s" % prediction.get("unknown")
    if truth["outcome"] == "hang" and said == "hang":
        return "match", None
    if truth["outcome"] in ("hang", "lost"):
        return "miss", "the real call %s (%s); predicted %s" % (
            "hung" if truth["outcome"] == "hang" else "was lost", truth.get("message"), said)
    if said != truth["outcome"]:
        real = {"abort": "abort %r" % truth["message"], "fault": "fault at %#x" % (truth["fault"] or 0),
                "return": "returned %#x" % (truth["returns"] or 0)}[truth["outcome"]]
        guess = {"abort": "abort %r" % prediction.get("abort"),
                 "fault": "fault at %s" % prediction.get("fault"),
                 "return": "return %s (from %s, to %s)" % (
                     _hex(prediction.get("returns")), prediction.get("from"), prediction.get("to"))}
        return "miss", "really %s; predicted %s" % (real, guess[said])
    if said == "abort" and prediction["abort"] != truth["message"]:
        return "miss", "abort %r; predicted %r" % (truth["message"], prediction["abort"])
    if said == "fault" and _fault_differs(prediction.get("fault"), truth["fault"]):
        return "miss", "fault at %#x; predicted at %#x" % (truth["fault"], prediction["fault"])
    rseq_differs = _rseq_differs(truth, prediction)
    if rseq_differs:
        return "miss", rseq_differs
    if said == "return":
        return _judge_return(call, truth, prediction)
    return "match", None


def _rseq_differs(truth, prediction):
    """Whether the call unmaps the thread's rseq area (after which the kernel kills the thread at
    its next preemption or signal), as the program found it after the call, against the
    prediction's `rseq_unmapped`; None when they agree or either cannot say."""
    rseq = truth["rseq"]
    if rseq is None or "rseq_unmapped" not in prediction:
        return None
    lost = None if rseq["mapped"] else rseq["address"]
    if prediction["rseq_unmapped"] == lost:
        return None
    return "the call left the rseq area %s; predicted rseq_unmapped %s" % (
        "unmapped at %#x" % lost if lost else "mapped", _hex(prediction["rseq_unmapped"]))


def _fault_differs(predicted, real):
    """A fault address the prediction gives that is not the real si_addr.  The kernel reports 0
    for an access to a non-canonical address (a general protection fault, not a page fault)."""
    if not isinstance(predicted, int) or predicted == real:
        return False
    return not (real == 0 and NON_CANONICAL[0] <= predicted < NON_CANONICAL[1])


def _hex(value):
    return "%#x" % value if isinstance(value, int) else str(value)


def _judge_return(call, truth, prediction):
    if "changes" in prediction:  # the old try-free contract has none
        differs = written_words_differ(truth, prediction)
        if differs:
            return "miss", differs
    if call["op"] != "free" and not prediction.get("new_mapping"):
        if prediction.get("returns") != truth["returns"]:
            return "miss", "returned %#x; predicted %s" % (truth["returns"], _hex(prediction.get("returns")))
    if call["op"] == "free":
        known = bin_of_free(truth, call["pointer"])
        if known and prediction.get("to") != known:
            return "miss", "the chunk went to %s; predicted %s" % (known, prediction.get("to"))
    elif call["op"] == "malloc":
        known = bin_of_malloc(truth, call["size"])
        if known and prediction.get("from") != known:
            return "miss", "the chunk came from %s; predicted %s" % (known, prediction.get("from"))
    return "match", None
