"""Run inside gdb by the audit driver: the live half of one audit.

Stops the sample at audit_point() (or the function AUDIT_MARK names), runs `heap check --json` there (its output, between markers,
goes to gdb's stdout), lets the program carry on
into its fatal operation, and leaves a core: at the signal stop when the program dies, at the
audit point when it is expected to live.  Parameters come in the environment (AUDIT_*), the result
goes to the JSON file AUDIT_RESULT; the program's stderr goes to AUDIT_STDERR, where the abort
message ends up."""

import json
import os

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
    inferior = gdb.selected_inferior()
    return inferior.pid != 0


def main():
    environment = os.environ
    result = {"stopped_at_audit_point": False, "check_error": None,
              "exit_code": None, "signal": None, "core": None}
    gdb.execute("set pagination off")
    gdb.execute("set confirm off")
    mark = environment.get("AUDIT_MARK", "audit_point")
    gdb.execute("break " + mark)
    gdb.execute("run 2>%s" % environment["AUDIT_STDERR"], to_string=True)
    if inferior_alive():
        frame = gdb.selected_frame()
        result["stopped_at_audit_point"] = frame.name() == mark
    if result["stopped_at_audit_point"]:
        result["check_error"] = run_check(environment.get("AUDIT_CHECK_ARGS", ""))
        if environment.get("AUDIT_CORE_AT_POINT") == "1":
            gdb.execute("gcore %s" % environment["AUDIT_CORE"], to_string=True)
            result["core"] = environment["AUDIT_CORE"]
        gdb.execute("delete", to_string=True)
        gdb.execute("continue", to_string=True)
    if inferior_alive():
        try:
            result["signal"] = int(gdb.parse_and_eval("$_siginfo.si_signo"))
        except gdb.error:
            result["signal"] = None
        if result["core"] is None:
            gdb.execute("gcore %s" % environment["AUDIT_CORE"], to_string=True)
            result["core"] = environment["AUDIT_CORE"]
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
