"""A heap command reads every thread's TLS, which means selecting each thread in turn; the user's
selected thread and frame must be the same afterwards, live and from a core."""

import pytest

from conftest import ALL_VARIANTS, binary, gdb_argv, marked, require_variant, run_gdb, sections

# Thread 2 of every_bin waits in sem_wait, called from the sample's thread_main: frame 1 is one
# of its callers, not the frame gdb selects by default.
SELECT = ["thread 2", "frame 1"]
WHERE = "python print('selected', gdb.selected_thread().num, gdb.selected_frame().level(), " \
        "gdb.selected_frame().pc())"
HEAP_COMMANDS = ["heap", "heap bins", "heap check"]


def _commands():
    return SELECT + marked([("before", WHERE)]) + HEAP_COMMANDS + marked([("after", WHERE)])


def _assert_selection_kept(output):
    found = sections(output)
    before, after = found.get("before", ""), found.get("after", "")
    assert before.startswith("selected 2 1 "), output[-3000:]
    assert after == before, output[-3000:]
    assert "Traceback" not in output


@pytest.mark.parametrize("variant", ["preload", "glibc"])
def test_selection_kept_in_core(runner, variant):
    require_variant(variant)
    core = runner.live("every_bin", variant).core
    output = run_gdb(gdb_argv(binary("every_bin", variant), _commands(), core=core), None)
    _assert_selection_kept(output)


@pytest.mark.parametrize("variant", ["preload", "glibc"])
def test_selection_kept_live(tmp_path, variant):
    require_variant(variant)
    commands = ["break sample_checkpoint", "run %s" % (tmp_path / "record.txt")] + \
        _commands() + ["kill"]
    output = run_gdb(gdb_argv(binary("every_bin", variant), commands, ALL_VARIANTS[variant][1]),
                     str(tmp_path))
    _assert_selection_kept(output)
