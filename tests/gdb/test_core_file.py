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


def test_cores_opened_one_after_another_are_not_all_kept_mapped(runner, tmp_path):
    """A session that opens core after core (here one file rewritten six times, as the
    core fuzz does) keeps a few mapped, not all: each kept mapping holds the file open and
    gdb's address space, which ran out after about seventy cores."""
    require_variant("preload")
    original = runner.live("every_bin", "preload").core
    core = tmp_path / "heap.core"
    shutil.copyfile(original, core)
    count = """python
import os
from ptmalloc.memory import core_file
open_files = [name for name in os.listdir("/proc/self/fd")
              if os.path.realpath("/proc/self/fd/" + name).startswith(%r)]
print(len(core_file._mapped), len(open_files))
end
""" % str(tmp_path)
    script = tmp_path / "count.py.gdb"
    script.write_text(count)
    rewrite = tmp_path / "rewrite.py.gdb"
    rewrite.write_text("""python
import os, shutil
shutil.copyfile(%r, %r + ".new")
os.replace(%r + ".new", %r)
end
""" % (str(original), str(core), str(core), str(core)))
    commands = []
    for number in range(6):
        commands += marked([("rewrite%d" % number, "source %s" % rewrite)])
        commands += ["core-file " + str(core)]
        commands += marked([("summary%d" % number, "heap chunks --summary --json")])
    commands += marked([("count", "source %s" % script)])
    output = run_gdb(gdb_argv(binary("every_bin", "preload"), commands, core=str(core)),
                     str(tmp_path))
    parts = sections(output)
    assert "Traceback" not in output, output[-3000:]
    summaries = {parts["summary%d" % number].splitlines()[-1] for number in range(6)}
    assert len(summaries) == 1, summaries
    mapped, open_files = map(int, parts["count"].split())
    assert 1 <= mapped <= 4 and open_files <= 5, parts["count"]
