"""One gdb session on a program built against another glibc release (mk/versions.mk), with the
settings the oracle uses for that allocator (oracle_harness.ALLOCATORS): the program runs to a
breakpoint, the given commands run at each stop, and their outputs come back by name."""
import json
import os
import pathlib
import subprocess
import sys

TESTS = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(TESTS / "oracle"))
sys.path.insert(0, str(TESTS))

import json_contract  # noqa: E402
import oracle_harness  # noqa: E402

MARK = "@@"


def run(allocator, program, arguments, breakpoint, stops, core=None, environment=()):
    """{(stop number from 1, name): output} for `stops`, a list (one per stop) of
    [(name, gdb command)]; with `core`, the one stop is that core file's.  `environment`:
    (name, value) pairs for the program."""
    _program, settings = oracle_harness.ALLOCATORS[allocator]
    settings = settings + [word for name, value in environment
                           for word in ("-ex", "set environment %s %s" % (name, value))]
    commands = []
    for number, commands_at_stop in enumerate(stops, 1):
        if core is not None:
            commands.append("core-file %s" % core)
        else:
            commands.append("run %s" % " ".join(arguments) if number == 1 else "continue")
        for name, command in commands_at_stop:
            commands += ["echo %s%d %s\\n" % (MARK, number, name), command]
    argv = [oracle_harness.GDB, "-nx", "-q", "-batch"] + settings + [
        "-ex", "set pagination off", "-ex", "set width 0", "-ex", "set style enabled off",
        "-ex", "source %s" % oracle_harness.LOADER, "-ex", "break %s" % breakpoint]
    for command in commands:
        argv += ["-ex", command]
    completed = subprocess.run(argv + [str(program)], capture_output=True, text=True,
                               timeout=120, check=False, env=dict(os.environ))
    sections, key = {}, None
    for line in completed.stdout.splitlines():
        if line.startswith(MARK):
            number, name = line[len(MARK):].split()
            key = (int(number), name)
            sections[key] = []
        elif key is not None:
            sections[key].append(line)
    expected = sum(len(commands_at_stop) for commands_at_stop in stops)
    assert len(sections) == expected, completed.stdout[-2000:] + completed.stderr[-2000:]
    return {key: "\n".join(lines) for key, lines in sections.items()}


def json_of(text, command):
    """The JSON document `command` printed, held to the --json contract (docs/schema/)."""
    value = json.loads(next(line for line in text.splitlines() if line.startswith("{")))
    return json_contract.checked(command, value)
