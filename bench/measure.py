"""Running one child process and measuring it through the small C launcher run_measured (wall
time, CPU time, peak RSS of the command alone: Linux keeps ru_maxrss across exec, so a child
forked from this Python driver would inherit the driver's RSS as its floor), plus a median that
tolerates the noise of a shared 2-core machine."""

import os
import subprocess
import tempfile


class Run:
    def __init__(self, wall, cpu, peak_rss_kb, returncode, stdout):
        self.wall = wall
        self.cpu = cpu
        self.peak_rss_kb = peak_rss_kb
        self.returncode = returncode
        self.stdout = stdout


def launcher_path(bench_build):
    return os.path.join(bench_build, "run_measured")


def run_measured(launcher, argv, env=None, stdout_path=None, timeout=None, options=()):
    """Run argv to completion; stdout goes to stdout_path, or is captured when None.  options
    are the launcher's own (--preload LIB, --cpu N), placed before its report file."""
    handle, report = tempfile.mkstemp(prefix="bench-run-", suffix=".txt")
    os.close(handle)
    out = open(stdout_path, "wb") if stdout_path else subprocess.PIPE
    try:
        child = subprocess.run([launcher] + list(options) + [report] + list(argv), env=env,
                               stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.PIPE,
                               timeout=timeout)
        with open(report) as text:
            fields = text.read().split()
    except subprocess.TimeoutExpired:
        return Run(None, None, None, -1, "timed out after %ss" % timeout)
    finally:
        if stdout_path:
            out.close()
        os.unlink(report)
    captured = child.stdout.decode(errors="replace") if child.stdout is not None else ""
    if len(fields) != 4:
        return Run(None, None, None, child.returncode, captured + child.stderr.decode(
            errors="replace"))
    wall, cpu, peak, code = float(fields[0]), float(fields[1]), int(fields[2]), int(fields[3])
    if code != 0:
        captured += child.stderr.decode(errors="replace")
    return Run(wall, cpu, peak, code, captured)


def median(values):
    ordered = sorted(v for v in values if v is not None)
    if not ordered:
        return None
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2.0
