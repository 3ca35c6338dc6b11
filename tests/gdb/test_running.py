"""A heap command while the program runs (`run &`) refuses in one line: the heap changes under
its reads, so any answer would mix moments.  Every other test asks at a stop."""

import os
import subprocess

from conftest import GDB, LOADER, REPO, TIMEOUT, marked, sections

SOURCE = os.path.join(REPO, "tests", "gdb", "still_running.c")
COMMANDS = ["heap", "heap chunks --json", "heap check", "bins", "heap chunk 0x1000"]


def test_commands_refuse_while_the_program_runs(tmp_path):
    program = str(tmp_path / "still_running")
    subprocess.run(["gcc", "-g", "-o", program, SOURCE], check=True)
    argv = [GDB, "-nx", "-q", "-batch", "-ex", "set pagination off", "-ex", "source " + LOADER,
            "-ex", "run &", "-ex", "shell sleep 1"]
    for command in marked([(str(number), command) for number, command in enumerate(COMMANDS)]):
        argv += ["-ex", command]
    argv += ["-ex", "kill", program]
    output = subprocess.run(argv, cwd=str(tmp_path), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, timeout=TIMEOUT).stdout
    parts = sections(output)
    assert "Traceback" not in output
    for number in range(len(COMMANDS)):
        assert parts[str(number)].strip() == (
            "heap: the program is running (1 of its 1 threads): stop it first (`interrupt`, or "
            "Ctrl-C), then ask again"), parts[str(number)]
