"""Sizes, lengths and links read from the inferior are untrusted: a corrupted top size, heap_info
size or mp_.sbrk_base must end as a one-line note, never as a huge read that kills gdb itself
(robustness finding G1: a thread arena's top size of 0x55555555d420 made gdb try to allocate
93 TB).  gdb runs under an address-space limit, so a runaway read fails the test instead of
swapping the machine; every case runs live and again from a gcore of the damaged process."""

import json
import os
import resource
import subprocess

import pytest

from conftest import GDB, LOADER, TIMEOUT, binary, marked, require_variant, sections
from json_contract import checked

GDB_ADDRESS_SPACE = 3 << 30
HUGE = 0x55555555D420

# Each case: python statements run at the checkpoint with `arenas` (heap arenas --json), `mp_`
# (its address), `write(address, value)`; then what the arena notes must say.
CASES = {
    "thread_top_size": ("a = arenas[-1]; write(a['top'] + 8, %d)" % HUGE,
                        "runs past the end of its heap"),
    "main_top_size": ("a = arenas[0]; write(a['top'] + 8, %d)" % HUGE,
                      "runs past the end of its heap"),
    "heap_info_size": ("h = arenas[-1]['heaps'][0]; write(h['address'] + 16, %d)" % HUGE,
                       "more than its mapping"),
    "sbrk_base": ("write(mp_ + sbrk_base_offset, 0x10000)", "not in mapped memory"),
}

CORRUPT = """python
import json, gdb
from ptmalloc.target import allocator as target
arenas = json.loads(gdb.execute('heap arenas --json', to_string=True))['arenas']
allocator = target.find_allocator()
mp_ = allocator.addresses['mp_']
sbrk_base_offset = allocator.layouts['par'].offset('sbrk_base')
def write(address, value):
    gdb.execute('set {unsigned long}%d = %d' % (address, value))
CASE
end
"""

COMMANDS = [("top", "heap top"), ("summary", "heap"), ("histogram", "heap chunks --summary"),
            ("chunks", "heap chunks --json"), ("arenas", "heap arenas --json"),
            ("bins", "heap bins"), ("chunk", "heap chunk $first_chunk"), ("done", "echo ok")]


def _limit_address_space():
    resource.setrlimit(resource.RLIMIT_AS, (GDB_ADDRESS_SPACE, GDB_ADDRESS_SPACE))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def _gdb(argv, folder):
    result = subprocess.run(argv, cwd=folder, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, timeout=TIMEOUT, errors="replace",
                            preexec_fn=_limit_address_space)
    return result.returncode, result.stdout


def _base(program, preload=None):
    argv = [GDB, "-nx", "-q", "-batch", "-ex", "set pagination off", "-ex", "set width 0",
            "-ex", "set style enabled off", "-ex", "source " + LOADER]
    if preload:
        argv += ["-ex", "set environment LD_PRELOAD " + preload]
    return argv + ["-ex", "file " + program]


def _first_chunk():
    """$first_chunk: the first chunk of the first arena whose heap could be walked at all."""
    return ("python gdb.set_convenience_variable('first_chunk', [a['chunks'][0] for a in "
            "json.loads(gdb.execute('heap chunks --json --limit 1', to_string=True))['arenas'] "
            "if a['chunks']][0]['address'])")


def _check(output, returncode, note):
    assert "internal-error" not in output and "virtual memory exhausted" not in output, \
        output[-3000:]
    assert "Traceback" not in output, output[-3000:]
    parts = sections(output)
    assert parts.get("done") == "ok", "gdb did not get to the end:\n" + output[-3000:]
    assert returncode == 0
    arenas = checked("heap arenas --json", json.loads(parts["arenas"]))
    notes = " ".join(a["heap_problem"] or "" for a in arenas["arenas"])
    assert note in notes, parts["arenas"]
    for name in ("top", "summary", "histogram", "bins", "chunk"):
        assert parts[name] and not parts[name].startswith("heap: internal error"), parts[name]
    chunks = checked("heap chunks --json", json.loads(parts["chunks"].splitlines()[-1]))
    assert any(a["chunks"] for a in chunks["arenas"]), "the walk must still show what it could read"
    return parts


@pytest.mark.parametrize("variant", ["glibc", "preload"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_corrupted_size_is_a_note_live_and_in_a_core(tmp_path, case, variant):
    require_variant(variant)
    statements, note = CASES[case]
    script = tmp_path / "corrupt.gdb"
    script.write_text(CORRUPT.replace("CASE", statements))
    core = str(tmp_path / "damaged.core")
    program = binary("every_bin", variant)
    from conftest import VARIANTS
    preload = VARIANTS[variant][1]
    live = (_base(program, preload) + ["-ex", "break sample_checkpoint", "-ex",
                                       "run %s" % (tmp_path / "record.txt"), "-ex",
                                       "source %s" % script, "-ex", "python import json",
                                       "-ex", _first_chunk()])
    for command in marked(COMMANDS) + ["gcore " + core, "kill"]:
        live += ["-ex", command]
    returncode, output = _gdb(live, str(tmp_path))
    _check(output, returncode, note)
    assert os.path.exists(core), output[-2000:]
    from_core = _base(program) + ["-ex", "core-file " + core, "-ex", "python import json",
                                  "-ex", _first_chunk()]
    for command in marked(COMMANDS):
        from_core += ["-ex", command]
    returncode, output = _gdb(from_core, str(tmp_path))
    _check(output, returncode, note)


# Finding G2: a corrupted mp_.tcache_bins (or global_max_fast) let the free() replay of `heap
# check` index past the 64 tcache bins (or the 10 fastbins) of a Python tuple.
INDEX_CASES = {
    "tcache_bins": "mp_ + par.offset('tcache_bins')",
    "global_max_fast": "allocator.addresses['global_max_fast']",
}

INDEX_CORRUPT = """python
import json, gdb
from ptmalloc.target import allocator as target
allocator = target.find_allocator()
par = allocator.layouts['par']
mp_ = allocator.addresses['mp_']
bins = json.loads(gdb.execute('heap bins tcache --json', to_string=True))['tcache']
chunk = [b for t in bins for b in t['bins'] if b['chunks']][-1]['chunks'][0]
gdb.execute('set {unsigned long}%d = %d' % (chunk + 8, 0x4000000000000115))
gdb.execute('set {unsigned long}%d = %d' % (TARGET, 0xfa412b6d702f704b))
end
"""


@pytest.mark.parametrize("variant", ["glibc", "preload"])
@pytest.mark.parametrize("case", sorted(INDEX_CASES))
def test_corrupted_bin_count_is_not_an_internal_error(tmp_path, case, variant):
    require_variant(variant)
    from conftest import VARIANTS
    script = tmp_path / "corrupt.gdb"
    script.write_text(INDEX_CORRUPT.replace("TARGET", INDEX_CASES[case]))
    argv = _base(binary("every_bin", variant), VARIANTS[variant][1]) + [
        "-ex", "break sample_checkpoint", "-ex", "run %s" % (tmp_path / "record.txt"),
        "-ex", "source %s" % script]
    for command in marked([("text", "heap check"), ("json", "heap check --json"),
                           ("done", "echo ok")]):
        argv += ["-ex", command]
    returncode, output = _gdb(argv, str(tmp_path))
    parts = sections(output)
    assert parts.get("done") == "ok", output[-3000:]
    assert "Traceback" not in output and "internal error" not in output, output[-3000:]
    assert parts["text"].splitlines()[-1].startswith("heap: check found")
    report = checked("heap check --json", json.loads(parts["json"].splitlines()[0]))
    assert report["ok"] is False and report["findings"]
