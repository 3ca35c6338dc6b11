"""`heap try-free` against the real thing: the prediction is made at the checkpoint, then the
program itself calls free() on the same pointer (from gdb, in the inferior): the abort message
it prints must be the predicted one, and a free predicted to pass must put the chunk where the
prediction said."""

import json

import pytest

from conftest import VARIANTS, binary, gdb_argv, marked, require_variant, run_gdb, sections
from json_contract import checked

PICK = """python
import json, gdb
bins = json.loads(gdb.execute('heap bins --json', to_string=True))
main = bins['arenas'][0]
gdb.set_convenience_variable('in_tcache', bins['tcache'][0]['bins'][0]['chunks'][0] + 16)
gdb.set_convenience_variable('fast_top', main['fastbins'][0]['chunks'][0] + 16)
listed = set(c for t in bins['tcache'] for b in t['bins'] for c in b['chunks'])
chunks = json.loads(gdb.execute('heap chunks --json --state in-use', to_string=True))
pick = [c for c in chunks['arenas'][0]['chunks'] if 0x100 <= c['size'] <= 0x400][-1]
gdb.set_convenience_variable('in_use', pick['address'] + 16)
end
"""

CASES = {"in_tcache": "free(): double free detected in tcache 2",
         "fast_top": "double free or corruption (fasttop)"}


def _run(tmp_path, variant, pointer):
    require_variant(variant)
    script = tmp_path / "pick.gdb"
    script.write_text(PICK)
    stderr = tmp_path / "stderr.txt"
    commands = ["break sample_checkpoint",
                "run %s 2>%s" % (tmp_path / "record.txt", stderr),
                "source %s" % script] + marked([
                    ("json", "heap try-free $%s --json" % pointer),
                    ("text", "heap try-free $%s" % pointer),
                    ("call", "call (void)free($%s)" % pointer),
                    ("bins", "heap bins tcache --json")])
    output = run_gdb(gdb_argv(binary("every_bin", variant), commands, VARIANTS[variant][1]),
                     str(tmp_path))
    parts = sections(output)
    assert "Traceback" not in output, output[-3000:]
    return parts, stderr.read_text(errors="replace") if stderr.exists() else ""


@pytest.mark.parametrize("variant", ["glibc", "preload"])
@pytest.mark.parametrize("pointer", sorted(CASES))
def test_predicted_abort_is_the_real_one(tmp_path, variant, pointer):
    parts, stderr = _run(tmp_path, variant, pointer)
    predicted = checked("heap try-free --json", json.loads(parts["json"].splitlines()[0]))
    assert predicted["ok"] is False and predicted["abort"] == CASES[pointer], predicted
    assert parts["text"].splitlines()[-1] == "heap: free(%#x) would abort: %s" % (
        predicted["pointer"], CASES[pointer])
    assert CASES[pointer] in stderr, "the program did not abort as predicted: %r" % stderr
    assert "signaled while in a function called from GDB" in parts["call"]


@pytest.mark.parametrize("variant", ["glibc", "preload"])
def test_predicted_destination_is_where_the_chunk_goes(tmp_path, variant):
    parts, stderr = _run(tmp_path, variant, "in_use")
    predicted = checked("heap try-free --json", json.loads(parts["json"].splitlines()[0]))
    assert predicted["ok"] is True and predicted["path"] == "tcache", predicted
    assert "the chunk goes to the tcache" in parts["text"]
    assert "free()" not in stderr
    after = checked("heap bins tcache --json", json.loads(parts["bins"].splitlines()[-1]))
    main_thread = after["tcache"][0]
    heads = {b["size"]: b["chunks"][0] for b in main_thread["bins"] if b["chunks"]}
    assert heads.get(predicted["size"]) == predicted["chunk"], (predicted, heads)
