"""chunk_words.large_bin_rows (gdb/ptmalloc/model/chunk_words.py), the rows of `heap bins` for a
large bin, over a memory that fails where each case says: read in batches, the rows are those
read a word at a time; a size or a skip-list link that cannot be read gives its row the reason,
and the row after it starts a group of its own."""

import json

import pytest

from conftest import GDB, LOADER, run_gdb

# Four chunks of a large bin: sizes 0x400, 0x400, 0x410, 0x420, so the first, third and fourth
# head a group of their size and carry the skip list's links.
SCRIPT = r"""
import json
from ptmalloc.errors import HeapReadError
from ptmalloc.model import chunk_words


class Geometry:
    size_offset, fd_nextsize_offset, bk_nextsize_offset = 8, 32, 40

    def chunk_size(self, field):
        return field & ~7


class Memory:
    def __init__(self, unreadable):
        self.unreadable = unreadable
        self.words = {}

    def reads_live_pages(self):
        return False

    def u64(self, address):
        if address in self.unreadable or address >= 1 << 64:
            raise HeapReadError(address, 8, "not in the core file")
        return self.words[address]


class Snap:
    geometry = Geometry()


class Chain:
    chunks = [0x1000, 0x2000, 0x3000, 0x4000]


sizes = [0x400, 0x400, 0x410, 0x420]
results = {}
for case, unreadable in (("whole", ()), ("size", (0x2008,)), ("link", (0x3020,))):
    snap = Snap()
    snap.memory = Memory(set(unreadable))
    for address, size in zip(Chain.chunks, sizes):
        snap.memory.words[address + 8] = size | 1
        snap.memory.words[address + 32] = address + 0x10
        snap.memory.words[address + 40] = address + 0x18
    results[case] = {
        "batched": chunk_words.large_bin_rows(snap, Chain()),
        "word_by_word": chunk_words._large_bin_rows_word_by_word(snap, Chain.chunks)}
# A damaged link at the top of the address space: its size field would lie past 2**64.
snap = Snap()
snap.memory = Memory(set())
snap.memory.words.update({0x1008: 0x401, 0x1020: 0x1000, 0x1028: 0x1000})
results["beyond"] = {"batched": chunk_words.large_bin_rows(snap, type("Chain", (), {
    "chunks": [0x1000, (1 << 64) - 8]})())}
print("ROWS " + json.dumps(results))
"""


@pytest.fixture(scope="module")
def rows(tmp_path_factory):
    script = tmp_path_factory.mktemp("large-bin-rows") / "rows.py"
    script.write_text(SCRIPT)
    output = run_gdb([GDB, "-nx", "-q", "-batch", "-ex", "source " + LOADER, "-x", str(script)],
                     str(script.parent))
    lines = [line for line in output.splitlines() if line.startswith("ROWS ")]
    assert lines, output
    return json.loads(lines[-1][len("ROWS "):])


@pytest.mark.parametrize("case", ["whole", "size", "link"])
def test_batches_give_the_rows_word_by_word_reading_gives(rows, case):
    assert rows[case]["batched"] == rows[case]["word_by_word"]


def test_whole_bin(rows):
    heads = [(row["address"], row["group_head"], row.get("fd_nextsize"))
             for row in rows["whole"]["batched"]]
    assert heads == [(0x1000, True, 0x1010), (0x2000, False, None), (0x3000, True, 0x3010),
                     (0x4000, True, 0x4010)]
    assert [row["size"] for row in rows["whole"]["batched"]] == [0x400, 0x400, 0x410, 0x420]


def test_an_unreadable_size_says_why_and_the_next_row_heads_a_group(rows):
    bad, after = rows["size"]["batched"][1:3]
    assert bad["error"] == "cannot read 0x2008 (not in the core file)"
    assert not bad["group_head"] and bad["size"] == 0
    assert after["group_head"] and after["fd_nextsize"] == 0x3010


def test_a_link_past_the_address_space_is_a_row_that_cannot_be_read(rows):
    first, beyond = rows["beyond"]["batched"]
    assert first["size"] == 0x400
    assert beyond["error"] == "cannot read 0x10000000000000000 (not in the core file)"


def test_an_unreadable_link_says_why_and_the_next_row_heads_a_group(rows):
    bad, after = rows["link"]["batched"][2:4]
    assert bad["error"] == "cannot read 0x3020 (not in the core file)"
    assert after["group_head"]
