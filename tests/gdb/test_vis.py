"""`heap vis`: the words it shows are the words gdb's own `x` command reads, chunk after chunk
from the one holding ADDR, with the states the sample recorded; plus its argument errors."""

import json
import re

import pytest

from conftest import VARIANTS, binary, gdb_argv, marked, require_variant, run_gdb, sections
from json_contract import checked

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
    shown = checked("heap vis --json", json.loads(parts["json"].splitlines()[-1]))
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


LAST_OF_FIRST_SEGMENT = """python
import json, gdb
chunks = json.loads(gdb.execute('heap chunks --json', to_string=True))
main = next(arena for arena in chunks['arenas'] if arena['main'])
first = main['heaps'][0]
inside = sorted(c['address'] for c in main['chunks'] if first['start'] <= c['address'] < first['end'])
gdb.set_convenience_variable('near_end', inside[-2])
end
"""


@pytest.mark.parametrize("variant", ["glibc", "preload"])
def test_vis_goes_on_into_the_next_segment(tmp_path, variant):
    """From the second-to-last chunk of the main arena's sbrk heap, `heap vis --count 4` shows
    the chunks `heap chunks` lists next, in the arena's next (mmapped) segment."""
    require_variant(variant, "sbrk_blocked")
    script = tmp_path / "pick.gdb"
    script.write_text(LAST_OF_FIRST_SEGMENT)
    commands = ["break sample_checkpoint", "run %s" % (tmp_path / "record.txt"),
                "source %s" % script] + marked([
                    ("chunks", "heap chunks --json"),
                    ("vis", "heap vis $near_end --count 4 --json")])
    output = run_gdb(gdb_argv(binary("sbrk_blocked", variant), commands,
                              VARIANTS[variant][1]), str(tmp_path))
    parts = sections(output)
    assert "Traceback" not in output
    listing = checked("heap chunks --json", json.loads(parts["chunks"].splitlines()[-1]))
    main = next(arena for arena in listing["arenas"] if arena["main"])
    assert len(main["heaps"]) >= 2, "sbrk was not blocked: the test would prove nothing"
    in_order = [c["address"] for heap in main["heaps"] for c in sorted(
        main["chunks"], key=lambda c: c["address"]) if heap["start"] <= c["address"] < heap["end"]]
    shown = checked("heap vis --json", json.loads(parts["vis"].splitlines()[-1]))
    addresses = [chunk["address"] for chunk in shown["chunks"]]
    start = in_order.index(addresses[0])
    assert addresses == in_order[start:start + 4]
    first = main["heaps"][0]
    assert any(not first["start"] <= a < first["end"] for a in addresses)
