"""A bad verdict fails the command for gdb, not for a Python script: `gdb -batch -ex 'heap check'`
exits non-zero on findings, while gdb.execute('heap check --json', to_string=True) returns the
report whatever the verdict (and the text form ends with the line the failure would give).
The same holds for `heap try-free` when free() would abort."""

import json
import subprocess

import pytest

from conftest import TIMEOUT, binary, gdb_argv, require_variant

# Points the second entry of the main thread's 0x20 tcache bin back at the first, as a write
# after free would (safe-linked); sets $fast_top to the user pointer of main_arena's first
# fastbin chunk, which free() would reject as a double free (fasttop).
DAMAGE = """python
import json, gdb
bins = json.loads(gdb.execute('heap bins --json', to_string=True))
chain = [b for b in bins['tcache'][0]['bins'] if b['size'] == 0x20][0]['chunks']
first, second = chain[0] + 16, chain[1] + 16
gdb.execute('set {long}%d = %d' % (second, first ^ (second >> 12)))
end
"""
FAST_TOP = """python
import json, gdb
bins = json.loads(gdb.execute('heap bins --json', to_string=True))
gdb.set_convenience_variable('fast_top', bins['arenas'][0]['fastbins'][0]['chunks'][0] + 16)
end
"""
# What a script would do: every result into a JSON file, every exception noted.
SCRIPT = """python
import json, gdb
results = {}
for name, command in (("check_json", "heap check --json"), ("check_text", "heap check"),
                      ("try_free_json", "heap try-free $fast_top --json")):
    try:
        results[name] = gdb.execute(command, to_string=True)
    except gdb.error as error:
        results[name] = {"error": str(error)}
with open(%r, "w") as handle:
    json.dump(results, handle)
end
"""


def _run(tmp_path, name, damaged, last_command):
    """Run every_bin (glibc) to its checkpoint, damage it or not, run the script, then
    `last_command` as gdb's last -ex: (exit status, output, the script's results)."""
    require_variant("glibc")
    folder = tmp_path / name
    folder.mkdir()
    setup = folder / "setup.gdb"
    results = folder / "results.json"
    setup.write_text((DAMAGE if damaged else "") + FAST_TOP + SCRIPT % str(results))
    commands = ["break sample_checkpoint", "run %s" % (folder / "record.txt"),
                "source %s" % setup, last_command]
    completed = subprocess.run(gdb_argv(binary("every_bin", "glibc"), commands), cwd=folder,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               timeout=TIMEOUT, errors="replace")
    assert results.exists(), completed.stdout[-3000:]
    return completed.returncode, completed.stdout, json.loads(results.read_text())


@pytest.fixture(scope="module")
def damaged_runs(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("verdicts")
    return {last: _run(tmp_path, "damaged-%d" % number, True, last)
            for number, last in enumerate(("heap check", "heap check --json",
                                           "heap try-free $fast_top"))}


def test_a_script_gets_the_json_report_whatever_the_verdict(damaged_runs):
    _status, output, results = damaged_runs["heap check"]
    report = json.loads(results["check_json"])
    assert report["ok"] is False, output[-3000:]
    assert "bin-cycle" in {finding["rule"] for finding in report["findings"]}


def test_a_script_gets_the_text_report_with_the_verdict_last(damaged_runs):
    _status, _output, results = damaged_runs["heap check"]
    text = results["check_text"]
    assert isinstance(text, str), text
    assert "[bin-cycle]" in text
    assert text.splitlines()[-1].startswith("heap: check found ")


def test_a_script_gets_the_try_free_verdict(damaged_runs):
    _status, _output, results = damaged_runs["heap check"]
    verdict = json.loads(results["try_free_json"])
    assert verdict["abort"] == "double free or corruption (fasttop)"
    assert verdict["ok"] is False


@pytest.mark.parametrize("last", ["heap check", "heap check --json", "heap try-free $fast_top"])
def test_gdb_batch_fails_on_a_bad_verdict(damaged_runs, last):
    status, output, _results = damaged_runs[last]
    assert status != 0, output[-3000:]
    assert "Traceback" not in output
    message = "heap: free(" if "try-free" in last else "heap: check found "
    assert message in output


def test_gdb_batch_succeeds_on_a_healthy_heap(tmp_path):
    status, output, results = _run(tmp_path, "healthy", False, "heap check")
    assert status == 0, output[-3000:]
    assert json.loads(results["check_json"]) == {"ok": True, "findings": []}
    assert results["check_text"].startswith("heap check: ok")
