"""Run inside gdb by ptmalloc-audit (tools/ptmalloc_audit.py): the live half of one audit.

Loads the program, stops it at the function AUDIT_MARK names (or, without one, where it ends: its
exit_group system call or the signal that kills it), runs `heap check --json` there (its output,
between markers, goes to gdb's stdout), lets a marked program carry on into its fatal operation,
and leaves a core: at the signal stop when the program dies, at the audit point when it is
expected to live.  Parameters come in the environment (AUDIT_*), the result goes to the JSON file
AUDIT_RESULT; the program's stdout and stderr go to AUDIT_STDOUT and AUDIT_STDERR (the abort
message ends up in the latter)."""

import json
import os
import shlex

import gdb


def run_check(arguments):
    """Run `heap check --json ARGS` as a user would; its output goes to gdb's stdout between
    markers (the driver reads it there).  Returns the one-line error when the command failed."""
    command = ("heap check --json " + arguments).strip()
    gdb.write("\n@@CHECK-BEGIN\n")
    error = None
    try:
        gdb.execute(command)
    except gdb.error as failure:
        error = str(failure)
    gdb.write("\n@@CHECK-END\n")
    gdb.flush()
    return error


def inferior_alive():
    return gdb.selected_inferior().pid != 0


def gdb_quoted(path):
    """A path as gdb's `file` command parses it (libiberty's buildargv)."""
    return '"%s"' % path.replace("\\", "\\\\").replace('"', '\\"')


_last_stop = {}


def _on_stop(event):
    _last_stop["signal"] = getattr(event, "stop_signal", None)


def stop_kind(mark):
    """Where the program stopped: "mark", "exit" (its exit_group call), "signal" or None."""
    if not inferior_alive():
        return None
    if _last_stop.get("signal"):
        return "signal"
    try:
        if mark and gdb.selected_frame().name() == mark:
            return "mark"
    except gdb.error:
        pass
    return None if mark else "exit"


def signal_number():
    """The signal the program stopped with, or None (a breakpoint or catchpoint stop)."""
    if not _last_stop.get("signal"):
        return None
    try:
        return int(gdb.parse_and_eval("$_siginfo.si_signo"))
    except (gdb.error, TypeError, ValueError):
        return None


def take_core(result, environment):
    if result["core"] is None:
        gdb.execute("gcore %s" % environment["AUDIT_CORE"], to_string=True)
        result["core"] = environment["AUDIT_CORE"]


def main():
    environment = os.environ
    result = {"stopped_at_audit_point": False, "stopped_at": None, "check_error": None,
              "exit_code": None, "signal": None, "core": None}
    gdb.execute("set pagination off")
    gdb.execute("set confirm off")
    gdb.events.stop.connect(_on_stop)
    gdb.execute("file " + gdb_quoted(environment["AUDIT_PROGRAM"]), to_string=True)
    preload = environment.get("AUDIT_PRELOAD")
    if preload:
        # Set by env(1) between the shell and the program, not in gdb's environment: the
        # shell runs on the system's glibc and must not load a clone built against another.
        gdb.execute("set exec-wrapper env LD_PRELOAD=" + shlex.quote(preload))
    arguments = json.loads(environment.get("AUDIT_ARGS", "[]"))
    redirects = ["<" + shlex.quote(environment.get("AUDIT_STDIN") or "/dev/null"),
                 ">" + shlex.quote(environment["AUDIT_STDOUT"]),
                 "2>" + shlex.quote(environment["AUDIT_STDERR"])]
    gdb.execute("set args " + " ".join([shlex.quote(a) for a in arguments] + redirects))
    mark = environment.get("AUDIT_MARK") or None
    if mark:
        gdb.execute("break " + mark, to_string=True)
    else:
        gdb.execute("catch syscall exit_group", to_string=True)
    gdb.execute("run", to_string=True)
    result["stopped_at"] = stop_kind(mark)
    result["stopped_at_audit_point"] = result["stopped_at"] in (
        ("mark",) if mark else ("exit", "signal"))
    if result["stopped_at_audit_point"]:
        _last_stop.clear()
        result["check_error"] = run_check(environment.get("AUDIT_CHECK_ARGS", ""))
        if environment.get("AUDIT_CORE_AT_POINT") == "1" or not mark:
            take_core(result, environment)
        if result["stopped_at"] == "signal":
            _last_stop["signal"] = True
        elif environment.get("AUDIT_KILL_AT_POINT") == "1":
            gdb.execute("kill", to_string=True)
        else:
            gdb.execute("delete", to_string=True)
            gdb.execute("continue", to_string=True)
    if inferior_alive():
        result["signal"] = signal_number()
        take_core(result, environment)
        gdb.execute("kill", to_string=True)
    else:
        try:
            result["exit_code"] = int(gdb.parse_and_eval("$_exitcode"))
        except (gdb.error, TypeError):
            result["exit_code"] = None
    with open(environment["AUDIT_RESULT"], "w", encoding="utf-8") as handle:
        json.dump(result, handle)


try:
    main()
except Exception as failure:  # noqa: BLE001 - the driver reads the reason from the result file
    with open(os.environ["AUDIT_RESULT"], "w", encoding="utf-8") as handle:
        json.dump({"driver_error": "%s: %s" % (type(failure).__name__, failure)}, handle)
