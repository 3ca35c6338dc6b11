"""Loaded into gdb by the benchmark driver: `bench-run LABEL COMMAND...` runs one gdb command
and appends its wall time, CPU time and time to first output to the JSON-lines file named by
$BENCH_TIMINGS.  Time to first output is when the command first hands text to gdb.write, which
the extension flushes at once for its first line, so it is what a user at a terminal waits.
gdb's anonymous memory (RssAnon, from /proc/self/status) is sampled while the command runs: its
peak is gdb's own memory, without the pages of a core file mapped from the page cache that the
peak RSS counts too."""

import json
import os
import threading
import time

import gdb


def _record(entry):
    path = os.environ.get("BENCH_TIMINGS")
    if not path:
        gdb.write("bench-run: BENCH_TIMINGS is not set\n")
        return
    with open(path, "a") as handle:
        handle.write(json.dumps(entry) + "\n")


# Often enough to see a buffer that lives for a fraction of a second.
_SAMPLE_SECONDS = 0.01


def _rss_anon_kb():
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("RssAnon:"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return None


class _AnonPeak:
    """The highest RssAnon seen from `start()` to `stop()`, sampled by a thread of its own."""

    def __init__(self):
        self.peak_kb = _rss_anon_kb()
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self):
        while not self._done.wait(_SAMPLE_SECONDS):
            self._note()

    def _note(self):
        now = _rss_anon_kb()
        if now is not None and (self.peak_kb is None or now > self.peak_kb):
            self.peak_kb = now

    def start(self):
        self._thread.start()

    def stop(self):
        self._done.set()
        self._thread.join()
        self._note()
        return self.peak_kb


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
        anon = _AnonPeak()
        anon.start()
        start = time.perf_counter()
        cpu_start = time.process_time()
        try:
            gdb.execute(command, from_tty=False, to_string=False)
        except gdb.error as failure:
            error = str(failure)
        finally:
            gdb.write = original_write
        elapsed = time.perf_counter() - start
        anon_kb = anon.stop()
        entry = {"label": label, "command": command, "seconds": elapsed,
                 "cpu_seconds": time.process_time() - cpu_start,
                 "first_output_seconds": first_output[0] - start if first_output else None,
                 "rss_anon_mb": anon_kb / 1024.0 if anon_kb is not None else None}
        if error is not None:
            entry["error"] = error
        _record(entry)


BenchRun()
