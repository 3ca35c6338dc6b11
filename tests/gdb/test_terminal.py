"""An interactive gdb in a real terminal (tmux), driven by keystrokes: the extension loads from
the one documented line, `heap` is styled with colours on and plain with them off, a long
listing pages and `q` at the pager prompt ends it in one line, Ctrl-C at the pager ends it the
same way, Tab completes a bin kind, and the session is still usable after all of it."""

import os
import re
import shutil
import subprocess
import time
import uuid

import pytest

from conftest import GDB, LOADER, binary, require_variant

ANSI = re.compile(r"\x1b\[[0-9;]*m")


class Terminal:
    def __init__(self, command, cwd):
        self.socket = "ptm-test-%s" % uuid.uuid4().hex[:8]
        self.session = "gdb"
        self._tmux("new-session", "-d", "-s", self.session, "-x", "150", "-y", "40", "-c", cwd,
                   command)

    def _tmux(self, *arguments):
        return subprocess.run(["tmux", "-L", self.socket] + list(arguments), check=True,
                              stdout=subprocess.PIPE, text=True, timeout=20).stdout

    def keys(self, *keys):
        self._tmux("send-keys", "-t", self.session, *keys)

    def line(self, text):
        self.keys("-l", text)
        self.keys("Enter")

    def screen(self, escapes=False):
        return self._tmux("capture-pane", "-p", "-t", self.session, "-S", "-200",
                          *(["-e"] if escapes else []))

    def clear(self):
        self.keys("C-l")
        time.sleep(0.3)
        self._tmux("clear-history", "-t", self.session)

    def wait(self, pattern, timeout=30, escapes=False):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            screen = self.screen(escapes).rstrip()
            if re.search(pattern, ANSI.sub("", screen)):
                return screen
            time.sleep(0.2)
        raise AssertionError("no %r on the screen:\n%s" % (pattern, self.screen()))

    def close(self):
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, timeout=20)


@pytest.fixture
def terminal(tmp_path):
    if shutil.which("tmux") is None:
        pytest.skip("tmux is not installed")
    require_variant("linked")
    command = "TERM=xterm-256color %s -nx -q -iex 'source %s' %s" % (
        GDB, LOADER, binary("every_bin", "linked"))
    term = Terminal(command, str(tmp_path))
    try:
        yield term
    finally:
        term.close()


def test_interactive_session(terminal, tmp_path):
    terminal.wait(r"\(gdb\)$")
    terminal.line("break sample_checkpoint")
    terminal.line("run %s" % os.path.join(str(tmp_path), "record.txt"))
    terminal.wait(r"hit Breakpoint 1")
    terminal.wait(r"\(gdb\)$")

    # Colours on (gdb's default in a terminal).
    terminal.clear()
    terminal.line("heap")
    screen = terminal.wait(r"Threads: 4[\s\S]*\(gdb\)$", escapes=True)
    assert "\x1b[" in screen and "Allocator:" in ANSI.sub("", screen)
    assert "Traceback" not in screen

    # Colours off.
    terminal.line("set style enabled off")
    terminal.clear()
    terminal.line("heap")
    screen = terminal.wait(r"Threads: 4[\s\S]*\(gdb\)$", escapes=True)
    assert "Allocator:" in screen and "\x1b[1m" not in screen.split("Allocator:")[-1]

    # Paging: a long listing stops at the pager; q ends it in one line.
    terminal.line("set height 20")
    terminal.clear()
    terminal.line("heap chunks")
    terminal.wait(r"--Type <RET> for more, q to quit")
    terminal.keys("q", "Enter")
    screen = terminal.wait(r"\(gdb\)$")
    assert "Traceback" not in screen
    assert screen.rstrip().endswith("heap: interrupted\n(gdb)")

    # Ctrl-C at the pager prompt: the same.
    terminal.clear()
    terminal.line("heap bins")
    terminal.wait(r"--Type <RET> for more, q to quit")
    terminal.keys("C-c")
    screen = terminal.wait(r"\(gdb\)$")
    assert "Traceback" not in screen and "internal error" not in screen
    assert screen.rstrip().endswith("heap: interrupted\n(gdb)")

    # Tab completion of a bin kind, then the session still answers.
    terminal.line("set height 0")
    terminal.clear()
    terminal.keys("-l", "heap bins sm")
    terminal.keys("Tab")
    terminal.wait(r"heap bins small")
    terminal.keys("Enter")
    screen = terminal.wait(r"smallbins:[\s\S]*\(gdb\)$")
    assert "Traceback" not in screen
    terminal.line("quit")
