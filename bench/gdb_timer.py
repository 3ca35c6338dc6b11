"""Loaded into gdb by the benchmark driver: `bench-run LABEL COMMAND...` runs one gdb command
and appends its wall time, CPU time and time to first output to the JSON-lines file named by
$BENCH_TIMINGS.  Time to first output is when the command first hands text to gdb.write, which
the extension flushes at once for its first line, so it is what a user at a terminal waits."""

import json
import os
import time

import gdb


def _record(entry):
    path = os.environ.get("BENCH_TIMINGS")
    if not path:
        gdb.write("bench-run: BENCH_TIMINGS is not set\n")
        return
    with open(path, "a") as handle:
        handle.write(json.dumps(entry) + "\n")


class BenchRun(gdb.Command):
    """bench-run LABEL COMMAND...: time one gdb command (see bench/gdb_timer.py)."""

    def __init__(self):
        super().__init__("bench-run", gdb.COMMAND_USER)

    def invoke(self, argument, from_tty):
        parts = argument.split(None, 1)
        if len(parts) != 2:
            raise gdb.GdbError("usage: bench-run LABEL COMMAND...")
        label, command = parts
        first_output = []
        original_write = gdb.write

        def timed_write(text, *args, **kwargs):
            if not first_output and text:
                first_output.append(time.perf_counter())
            return original_write(text, *args, **kwargs)

        error = None
        gdb.write = timed_write
        start = time.perf_counter()
        cpu_start = time.process_time()
        try:
            gdb.execute(command, from_tty=False, to_string=False)
        except gdb.error as failure:
            error = str(failure)
        finally:
            gdb.write = original_write
        elapsed = time.perf_counter() - start
        entry = {"label": label, "command": command, "seconds": elapsed,
                 "cpu_seconds": time.process_time() - cpu_start,
                 "first_output_seconds": first_output[0] - start if first_output else None}
        if error is not None:
            entry["error"] = error
        _record(entry)


BenchRun()
