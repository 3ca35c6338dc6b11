"""One clear line, never a traceback: no process, allocator not found or not initialised,
unreadable memory, bad arguments; and chain walks that stop on a corrupted (cyclic) list."""

import json

from conftest import LOADER, binary, gdb_argv, marked, require_variant, run_gdb, sections
from json_contract import checked


def _run(tmp_path, commands, variant="glibc", program_args=""):
    require_variant(variant)
    return run_gdb(gdb_argv(binary("every_bin", variant), commands), str(tmp_path))


def test_not_running(tmp_path):
    output = _run(tmp_path, marked([("a", "heap"), ("b", "heap chunks --json"), ("c", "bins")]))
    parts = sections(output)
    for name in "abc":
        assert parts[name].strip() == ("heap: the program is not running (run it, attach to "
                                       "it, or load a core file)")
    assert "Traceback" not in output


def test_before_libc_is_loaded(tmp_path):
    output = _run(tmp_path, ["starti %s" % (tmp_path / "r.txt")] + marked([("a", "heap")]))
    text = sections(output)["a"].strip()
    assert text.startswith("heap: no supported allocator found"), text


def test_bad_arguments_and_addresses(tmp_path):
    commands = ["break sample_checkpoint", "run %s" % (tmp_path / "r.txt")] + marked([
        ("state", "heap chunks --state nosuch"),
        ("kind", "heap bins nosuch"),
        ("addr", "heap chunk 16"),
        ("expr", "heap chunk no_such_symbol"),
        ("arena", "heap arena 0x10"),
        ("thread", "heap tcache 99"),
    ])
    output = _run(tmp_path, commands)
    parts = sections(output)
    assert parts["state"].startswith("heap: unknown state nosuch")
    assert parts["kind"].startswith("heap: heap bins: 'nosuch' is neither a bin kind (tcache, "
                                    "fast, unsorted, small, large) nor an arena: cannot evaluate")
    assert parts["addr"] == "heap: 0x10 is not inside any heap or mmapped chunk"
    assert parts["expr"].startswith("heap: cannot evaluate 'no_such_symbol'")
    assert parts["arena"] == "heap: 0x10 is not an arena (see `heap arenas`)"
    assert parts["thread"] == "heap: no thread 99 (see `info threads`)"
    assert "Traceback" not in output


def test_tcache_cycle_is_reported_not_followed(tmp_path):
    """Point the second entry of the main thread's 0x20 tcache bin back at the first (encoded
    with safe-linking, as a use-after-free would): the walk must stop and say where."""
    setup = (
        "python\n"
        "import json, gdb\n"
        "bins = json.loads(gdb.execute('heap bins tcache --json', to_string=True))\n"
        "chain = [b for b in bins['tcache'][0]['bins'] if b['size'] == 0x20][0]['chunks']\n"
        "first, second = chain[0] + 16, chain[1] + 16\n"
        "gdb.execute('set {long}%d = %d' % (second, first ^ (second >> 12)))\n"
        "gdb.set_convenience_variable('cycle_chunk', chain[0])\n"
        "end\n")
    script = tmp_path / "corrupt.gdb"
    script.write_text(setup)
    commands = ["break sample_checkpoint", "run %s" % (tmp_path / "r.txt"),
                "source %s" % script] + marked([("json", "heap bins tcache --json"),
                                                ("text", "heap bins tcache")])
    output = _run(tmp_path, commands)
    parts = sections(output)
    data = checked("heap bins tcache --json", json.loads(parts["json"].splitlines()[-1]))
    chain = [b for b in data["tcache"][0]["bins"] if b["size"] == 0x20][0]
    assert len(chain["chunks"]) == 2
    assert chain["problem"] == "cycle at %#x" % chain["chunks"][0]
    assert "walk stopped: cycle at" in parts["text"]
    assert "Traceback" not in output
    assert LOADER
