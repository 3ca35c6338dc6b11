"""A core's heap read straight from the core file (gdb/ptmalloc/memory/core_file.py): the bytes equal
what gdb itself reads, and a file that is no longer the one gdb opened (rewritten under the same
name) is noticed and passed over, so the commands still show gdb's view."""

import json
import shutil

from conftest import binary, gdb_argv, marked, require_variant, run_gdb, sections
import json_contract

# Runs inside gdb on the core: every writable section's view from the file against gdb's read.
COMPARE = """python
import json, gdb
from ptmalloc.memory import core_file
sections = core_file.sections()
inferior = gdb.selected_inferior()
checked = []
for start, end, _name in sections.regions:
    size = min(end - start, 1 << 20)
    view = sections.view(inferior, start, size)
    same = view is not None and bytes(view) == bytes(inferior.read_memory(start, size))
    checked.append([start, view is not None, same])
print(json.dumps(checked))
end
"""


def _views(output, name):
    return json.loads(sections(output)[name].splitlines()[-1])


def test_core_file_views_are_what_gdb_reads(runner, tmp_path):
    require_variant("preload")
    core = runner.live("every_bin", "preload").core
    script = tmp_path / "compare.py.gdb"
    script.write_text(COMPARE)
    output = run_gdb(gdb_argv(binary("every_bin", "preload"),
                              marked([("views", "source %s" % script)]), core=core),
                     str(tmp_path))
    checked = _views(output, "views")
    assert len(checked) >= 3, output[-3000:]
    assert all(mapped and same for _start, mapped, same in checked), checked


def test_a_core_rewritten_after_gdb_opened_it_is_not_trusted(runner, tmp_path):
    """gdb keeps the file it opened; the extension maps the path.  When the path names other
    bytes by then, every section whose bytes differ is read through gdb instead, and the heap
    commands give the same answers as before."""
    require_variant("preload")
    original = tmp_path / "heap.core"
    shutil.copyfile(runner.live("every_bin", "preload").core, original)
    script = tmp_path / "compare.py.gdb"
    script.write_text(COMPARE)
    # Between the two runs of the commands the core is replaced by a copy whose heap bytes are
    # all changed (a new file under the same name: gdb still reads the old one).
    spoil = tmp_path / "spoil.py.gdb"
    spoil.write_text("""python
import os, gdb
from ptmalloc.memory import core_file
sections = core_file.sections()
path = %r
data = bytearray(open(path, "rb").read())
for start, end, offset in sections._sections:
    for at in range(offset, offset + (end - start)):
        data[at] ^= 0x5a
with open(path + ".new", "wb") as handle:
    handle.write(data)
os.replace(path + ".new", path)
from ptmalloc.memory import cache
cache.invalidate()  # what the extension read so far is read again
end
""" % str(original))
    commands = marked([("before", "heap chunks --json"), ("spoil", "source %s" % spoil),
                       ("after", "heap chunks --json"), ("views", "source %s" % script)])
    output = run_gdb(gdb_argv(binary("every_bin", "preload"), commands, core=str(original)),
                     str(tmp_path))
    parts = sections(output)
    assert "Traceback" not in output, output[-3000:]
    before, after = (json_contract.checked("heap chunks --json", json.loads(
        parts[name].splitlines()[-1])) for name in ("before", "after"))
    assert after == before
    checked = _views(output, "views")
    assert checked and not any(mapped for _start, mapped, _same in checked), checked
