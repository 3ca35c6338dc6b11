"""Run inside gdb at a live stop: every heap command must leave the inferior exactly as it was.

gdb is told it may not call functions in the inferior nor write its memory, so any
attempt fails loudly; and a SHA-256 of every writable mapping and of the registers is compared
before and after each command, which also catches writes gdb would not count as ours.  Prints one
`side-effects:` line per command that changed something and a closing summary line."""
import hashlib
import os
import tempfile

import gdb

# Where `heap snapshot` writes (outside the inferior, so no side effect): gone when gdb exits.
_FOLDER = tempfile.TemporaryDirectory(prefix="side-effects-")
SNAPSHOT = os.path.join(_FOLDER.name, "side-effects.json")

COMMANDS = ["heap", "heap arenas", "heap arena", "heap chunks", "heap chunks --summary",
            "heap bins", "heap tcache", "heap top", "heap mp", "heap check", "heap check --leaks",
            "heap --json", "heap chunks --json", "heap bins --json", "heap check --json",
            "bins", "tcachebins", "fastbins", "heap chunk $first_chunk", "hi $first_chunk",
            "heap history", "heap history --json", "heap history $first_chunk",
            "heap refs $first_chunk", "heap snapshot " + SNAPSHOT, "heap diff " + SNAPSHOT]


def writable_digest():
    pid = gdb.selected_inferior().pid
    digest = hashlib.sha256()
    inferior = gdb.selected_inferior()
    with open("/proc/%d/maps" % pid) as maps:
        for line in maps:
            fields = line.split()
            start, end = (int(part, 16) for part in fields[0].split("-"))
            if "w" not in fields[1] or (len(fields) > 5 and fields[5] == "[vvar]"):
                continue
            try:
                digest.update(bytes(inferior.read_memory(start, end - start)))
            except gdb.error:
                digest.update(b"unreadable %x" % start)
    for thread in inferior.threads():
        thread.switch()
        digest.update(gdb.execute("info registers", to_string=True).encode())
    return digest.hexdigest()


def main():
    # gdb takes may-write-memory only before the inferior starts (the runner sets it there; the
    # program stops itself, as a breakpoint would need a write); registers are covered by the digest.
    gdb.execute("set may-call-functions off")
    for setting in ("may-write-memory",):
        if "off" not in gdb.execute("show " + setting, to_string=True):
            gdb.write("side-effects: %s is not off\n" % setting)
            return
    # Without memory writes gdb never set its shared-library breakpoint: load the symbols now.
    gdb.execute("sharedlibrary", to_string=True)
    gdb.execute("frame function fuzz_stop", to_string=True)
    first = int(gdb.parse_and_eval("(unsigned long)mp_.sbrk_base"))
    gdb.execute("set $first_chunk = %#x" % first)
    selected = gdb.selected_thread()
    changed = 0
    answered = 0
    for command in COMMANDS:
        before = writable_digest()
        selected.switch()
        try:
            gdb.execute(command, to_string=True)
            answered += 1
        except gdb.error as error:
            if "may-" in str(error) or "Cannot" in str(error):
                gdb.write("side-effects: %s: %s\n" % (command, error))
                changed += 1
            else:
                gdb.write("unanswered: %s: %s\n" % (command, error))
        after = writable_digest()
        selected.switch()
        if before != after:
            gdb.write("side-effects: %s changed the inferior\n" % command)
            changed += 1
    gdb.write("side-effects: %d commands, %d answered, %d changed the inferior\n" % (
        len(COMMANDS), answered, changed))


main()
