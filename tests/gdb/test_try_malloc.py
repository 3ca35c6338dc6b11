"""`heap try-malloc` and `heap try-realloc` against the real thing: the prediction is made at the
checkpoint of samples/known/every_bin.c (a heap with every kind of bin filled), then the program
itself makes the same call (from gdb, in the inferior), and the pointer it returns must be the
predicted one; the words the prediction said the call writes must hold their new values."""

import json

import pytest

from conftest import VARIANTS, binary, gdb_argv, marked, require_variant, run_gdb, sections
from json_contract import checked

# Requests that reach the tcache, a small bin, the unsorted bin / large bins, and the top.
SIZES = [0x18, 0x88, 0x418, 0x5000]


def _session(tmp_path, variant, commands):
    require_variant(variant)
    output = run_gdb(gdb_argv(binary("every_bin", variant),
                              ["break sample_checkpoint", "run %s" % (tmp_path / "record.txt")]
                              + marked(commands), VARIANTS[variant][1]), str(tmp_path))
    assert "Traceback" not in output, output[-3000:]
    return sections(output)


@pytest.mark.parametrize("variant", ["glibc", "preload"])
@pytest.mark.parametrize("size", SIZES)
def test_predicted_malloc_returns_what_malloc_returns(tmp_path, variant, size):
    parts = _session(tmp_path, variant, [
        ("json", "heap try-malloc %#x --json" % size),
        ("text", "heap try-malloc %#x" % size),
        ("call", "print/x (unsigned long)malloc(%#x)" % size)])
    predicted = checked("heap try-malloc --json", json.loads(parts["json"].splitlines()[0]))
    assert predicted["outcome"] == "returned" and predicted["op"] == "malloc", predicted
    returned = int(parts["call"].split("=")[-1], 16)
    assert predicted["returns"] == returned, (predicted, hex(returned))
    assert predicted["from"] in ("tcache", "fastbin", "smallbin", "unsorted", "last-remainder",
                                 "largebin", "top", "sysmalloc")
    assert "returns %#x" % returned in parts["text"] and "from: %s" % predicted["from"] in \
        parts["text"]


# In one stop: the prediction, the real call, then each word the prediction said it writes
# (the tcache key it stamps is random per process, so all of it happens in one run).
REALLOC_CHECK = """python
import json, gdb
chunks = json.loads(gdb.execute('heap chunks --json --state in-use', to_string=True))
pick = [c for c in chunks['arenas'][0]['chunks'] if 0x100 <= c['size'] <= 0x400][-1]
block = pick['address'] + 16
text = gdb.execute('heap try-realloc %#x 0x40 --json' % block, to_string=True)
print('PREDICTED ' + text.splitlines()[0])
returned = int(gdb.parse_and_eval('(unsigned long)realloc(%#x, 0x40)' % block))
print('RETURNED %d' % returned)
for change in json.loads(text.splitlines()[0])['changes']:
    now = int(gdb.parse_and_eval('*(unsigned long *)%#x' % change['address'])) & (2**64 - 1)
    print('WORD %d %d %d' % (change['address'], change['new'], now))
end
"""


@pytest.mark.parametrize("variant", ["glibc", "preload"])
def test_predicted_realloc_and_its_writes(tmp_path, variant):
    script = tmp_path / "realloc.gdb"
    script.write_text(REALLOC_CHECK)
    parts = _session(tmp_path, variant, [("check", "source %s" % script)])
    lines = parts["check"].splitlines()
    predicted = checked("heap try-realloc --json", json.loads(
        next(line for line in lines if line.startswith("PREDICTED "))[len("PREDICTED "):]))
    returned = int(next(line for line in lines if line.startswith("RETURNED ")).split()[1])
    assert predicted["returns"] == returned and predicted["from"] == "in-place", predicted
    words = [line.split()[1:] for line in lines if line.startswith("WORD ")]
    assert words and len(words) == len(predicted["changes"]), parts["check"]
    for address, predicted_new, now in words:
        assert predicted_new == now, (hex(int(address)), predicted_new, now)
