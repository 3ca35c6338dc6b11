"""`heap vis`: the words it shows are the words gdb's own `x` command reads, chunk after chunk
from the one holding ADDR, with the states the sample recorded; plus its argument errors."""

import json
import re

import pytest

from conftest import VARIANTS, binary, gdb_argv, marked, require_variant, run_gdb, sections

PICK = """python
import json, gdb
bins = json.loads(gdb.execute('heap bins --json', to_string=True))
gdb.set_convenience_variable('in_tcache', bins['tcache'][0]['bins'][0]['chunks'][0] + 24)
end
"""


@pytest.mark.parametrize("variant", ["glibc", "preload"])
def test_vis_shows_memory_as_x_reads_it(tmp_path, variant):
    require_variant(variant)
    script = tmp_path / "pick.gdb"
    script.write_text(PICK)
    commands = ["break sample_checkpoint", "run %s" % (tmp_path / "record.txt"),
                "source %s" % script] + marked([
                    ("json", "heap vis $in_tcache --count 3 --json"),
                    ("text", "vis_heap_chunks $in_tcache --count 3 --lines 0"),
                    ("x", "x/192gx (long)$in_tcache - 24"),
                    ("zero", "heap vis --count 0"),
                    ("nowhere", "heap vis 0x10")])
    output = run_gdb(gdb_argv(binary("every_bin", variant), commands, VARIANTS[variant][1]),
                     str(tmp_path))
    parts = sections(output)
    assert "Traceback" not in output
    shown = json.loads(parts["json"].splitlines()[-1])
    chunks = shown["chunks"]
    assert len(chunks) == 3 and chunks[0]["state"] == "tcache"
    for before, after in zip(chunks, chunks[1:]):
        assert after["address"] == before["address"] + before["size"]
    memory = [int(word, 16) for line in parts["x"].splitlines()
              for word in re.findall(r"0x[0-9a-f]{16}", line.split(":", 1)[1])]
    words = [w for chunk in chunks for w in chunk["words"]]
    assert words == memory[:len(words)]
    for chunk in chunks:
        assert len(chunk["words"]) == chunk["size"] // 8
        assert chunk["words"][1] & ~7 == chunk["size"]
    text_lines = [line for line in parts["text"].splitlines() if line.startswith("0x")]
    assert len(text_lines) == len(words) // 2
    assert "<- tcache size 0x%x" % chunks[0]["size"] in text_lines[0]
    assert parts["zero"] == "heap: --count must be at least 1"
    assert parts["nowhere"] == "heap: 0x10 is not inside any heap or mmapped chunk"
