"""Generated cases answered by gdb in batches, shared by the fault-injection oracle (tests/oracle)
and the prediction oracle (tests/predict).

One gdb runs every remaining case: its driver reads the cases from a file and appends one JSON line
per event to another ("started" when a case begins, then its answers or a "harness_error").  A case
during which gdb dies or hangs is lost, and gdb starts again at the case after it, so one bad case
never costs the rest of the run."""

import json
import pathlib
import subprocess

# How much of gdb's transcript a lost case quotes.
TRANSCRIPT_TAIL = 600


def read_json_lines(path):
    """The JSON lines of `path`, skipping a line a dying gdb left half written."""
    lines = []
    if path.exists():
        for line in path.read_text().splitlines():
            try:
                lines.append(json.loads(line))
            except ValueError:
                pass
    return lines


def run_cases(command, environment_for, cases, directory, take_answer, case_seconds,
              preexec_fn=None):
    """{case id: why it was lost}.  environment_for(cases file, answers file) gives gdb's
    environment; take_answer(line) keeps one answer line and says whether it ends its case."""
    lost = {}
    remaining = list(cases)
    directory = pathlib.Path(directory)
    while remaining:
        cases_file, out_file = directory / "cases.json", directory / "answers.jsonl"
        cases_file.write_text(json.dumps(remaining))
        out_file.write_text("")
        try:
            completed = subprocess.run(command, env=environment_for(cases_file, out_file),
                                       preexec_fn=preexec_fn,
                                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                       timeout=case_seconds * len(remaining), check=False)
            transcript = completed.stdout.decode(errors="replace")
        except subprocess.TimeoutExpired as expired:
            transcript = (expired.stdout or b"").decode(errors="replace") + "\n(gdb timed out)"
        last_started, finished = None, set()
        for line in read_json_lines(out_file):
            if "started" in line:
                last_started = line["case"]
            elif "harness_error" in line:
                lost[line["case"]] = "harness: " + line["harness_error"]
                finished.add(line["case"])
            elif take_answer(line):
                finished.add(line["case"])
        tail = transcript[-TRANSCRIPT_TAIL:].strip()
        if last_started is None:
            for case in remaining:
                lost[case["id"]] = "gdb answered nothing: " + tail
            break
        if last_started not in finished:
            lost[last_started] = "gdb ended during the case: " + tail
        remaining = [case for case in remaining if case["id"] > last_started]
    return lost
