"""The in-gdb half of the prediction oracle (run with `source`; the host half is
predict_harness.py).  For each case of PREDICT_CASES (a JSON file: a list of cases) it runs
predict_situations to its stop in predict_stop(), gives the program the acting thread's arena and
tcache (from gdb's own reading of the allocator's debug info, never from the extension), asks the
extension to predict the call the program recorded in `predict_case`, live and, with "core" in the
case's modes, again from a gcore of the same stop after the program has gone; then lets the program
make the call for real (it writes its truth to PREFIX.truth).  One JSON line per case goes to
PREDICT_OUT; the verdict is the host's."""
import json
import os
import time

import gdb

OPERATIONS = {1: "free", 2: "malloc", 3: "realloc"}
# Where the allocator under test lives: the objfile whose thread_arena and tcache the truth reads.
ALLOCATOR_OBJFILE = os.environ.get("PREDICT_OBJFILE", "")


def _execute(command):
    """(text, error line) of a command; a verdict (abort predicted) still gives its text."""
    try:
        return gdb.execute(command, to_string=True), None
    except gdb.error as error:
        return None, str(error)
    except KeyboardInterrupt:
        return None, "interrupted"


def _new_contract():
    """Whether the extension has the engine's commands (heap try-malloc and --thread)."""
    text, _error = _execute("help heap")
    return "try-malloc" in (text or "")


def _thread_local(name):
    """The allocator's thread-local `name` in the selected thread, or 0."""
    symbols = list(gdb.lookup_static_symbols(name))
    found = gdb.lookup_global_symbol(name)
    if found is not None:
        symbols.append(found)
    values = []
    for symbol in symbols:
        try:
            value = int(symbol.value(gdb.selected_frame()))
        except (gdb.error, RuntimeError):
            continue
        mine = ALLOCATOR_OBJFILE and ALLOCATOR_OBJFILE in symbol.symtab.objfile.filename
        values.append((not mine, value == 0, value))
    return min(values)[2] if values else 0


def _the_case():
    case = gdb.parse_and_eval("predict_case")
    return {"op": OPERATIONS.get(int(case["op"])), "pointer": int(case["pointer"]),
            "size": int(case["size"])}


def _command(call, thread_number, new):
    if call["op"] == "free":
        text = "heap try-free %#x" % call["pointer"]
    elif call["op"] == "malloc":
        text = "heap try-malloc %d" % call["size"]
    else:
        text = "heap try-realloc %#x %d" % (call["pointer"], call["size"])
    if new:
        text += " --thread %d" % thread_number
    return text + " --json"


def _select(lwp):
    """Selects the thread with this LWP; its gdb number."""
    for thread in gdb.selected_inferior().threads():
        if thread.ptid[1] == lwp:
            thread.switch()
            return thread.num
    return gdb.selected_thread().num


def _predict(call, lwp, new):
    number = _select(lwp)
    if new:  # the engine is told the thread: ask from another one
        gdb.selected_inferior().threads()[-1].switch()
    command = _command(call, number, new)
    started = time.monotonic()
    text, error = _execute(command)
    return {"command": command, "text": text, "error": error,
            "seconds": round(time.monotonic() - started, 3)}


def _run_case(case, new, out):
    gdb.execute("set args %s %d %s %s" % (case["kind"], case["seed"], case["actor"],
                                          case["prefix"]), to_string=True)
    started = time.monotonic()
    gdb.execute("run", to_string=True)
    result = {"case": case["id"], "run_seconds": round(time.monotonic() - started, 3)}
    if not gdb.selected_inferior().pid:
        result["staged"] = False
        out.write(json.dumps(result) + "\n")
        out.flush()
        return
    lwp = gdb.selected_thread().ptid[1]
    call = _the_case()
    arena, tcache = _thread_local("thread_arena"), _thread_local("tcache")
    gdb.execute("set var predict_case.arena = %d" % arena, to_string=True)
    gdb.execute("set var predict_case.tcache = %d" % tcache, to_string=True)
    result.update(call=call, arena=arena, tcache=tcache, live=_predict(call, lwp, new))
    core = case["prefix"] + ".core"
    if "core" in case["modes"]:
        _execute("gcore %s" % core)
    _select(lwp)
    started = time.monotonic()
    gdb.execute("continue", to_string=True)
    result["continue_seconds"] = round(time.monotonic() - started, 3)
    if "core" in case["modes"]:
        if os.path.exists(core):
            gdb.execute("core-file %s" % core, to_string=True)
            result["core"] = _predict(call, lwp, new)
            gdb.execute("core-file", to_string=True)
            os.unlink(core)
        else:
            result["core"] = {"command": None, "text": None, "error": "gcore wrote no core"}
    out.write(json.dumps(result) + "\n")
    out.flush()


def main():
    cases = json.loads(open(os.environ["PREDICT_CASES"]).read())
    new = _new_contract()
    with open(os.environ["PREDICT_OUT"], "a") as out:
        for case in cases:
            out.write(json.dumps({"case": case["id"], "started": True}) + "\n")
            out.flush()
            try:
                _run_case(case, new, out)
            except gdb.error as error:
                out.write(json.dumps({"case": case["id"], "harness_error": str(error)}) + "\n")
                out.flush()
                if gdb.selected_inferior().pid:
                    _execute("kill")


main()
