"""The sections of the program and its libraries, by address, to name where a word lies
(`.data of libfoo.so`, `.bss of prog`).

gdb knows every loaded object's sections with their load addresses, live and from a core, and
lists them in `info files`: `0x… - 0x… is .data in /lib/…/libc.so.6`, without `in …` for the
executable's own.  The core's own sections (load1, …) are left out: they name no object."""

import bisect
import os
import re

import gdb

_EXEC_FILE = re.compile(r"^\s*`(.*)', file type")
_SECTION = re.compile(r"^\s*0x([0-9a-f]+) - 0x([0-9a-f]+) is (\S+)(?: in (.*))?$")


class ObjectSections:
    """`name_of(address)`: "SECTION of FILE" for an address in a section of a loaded object,
    else None."""

    def __init__(self, text):
        self._starts, self._sections = [], []
        executable = None
        part = None
        for line in text.splitlines():
            if line and not line[0].isspace():
                part = line.rstrip(":")
                continue
            header = _EXEC_FILE.match(line)
            if header and part == "Local exec file":
                executable = header.group(1)
                continue
            match = _SECTION.match(line)
            if not match or part == "Local core dump file":
                continue
            owner = match.group(4) or executable
            # .tdata and .tbss are the image each thread's TLS block starts from, not memory
            # the program uses there (and .tbss overlaps the sections after it).
            if owner is None or not match.group(3).startswith((".", "_")) or \
                    match.group(3) in (".tdata", ".tbss"):
                continue
            start, end = int(match.group(1), 16), int(match.group(2), 16)
            if end > start:
                self._sections.append((start, end, "%s of %s" % (match.group(3),
                                                                  os.path.basename(owner))))
        self._sections.sort()
        self._starts = [section[0] for section in self._sections]

    def name_of(self, address):
        index = bisect.bisect_right(self._starts, address) - 1
        if index >= 0 and address < self._sections[index][1]:
            return self._sections[index][2]
        return None


def current():
    try:
        text = gdb.execute("info files", to_string=True)
    except gdb.error:
        text = ""
    return ObjectSections(text)
