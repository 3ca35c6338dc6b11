"""Daily use (issue 19): expressions exactly as `print` takes them, pwndbg's argument forms,
completion of options and bin kinds, the user's thread and frame kept, and output that fits:
bins --limit, --state mmapped, aligned styled totals, plurals, full-sentence help, and a 64-thread
`heap` on one screen.  One live gdb session of every_bin (linked) answers most of them."""

import os
import re
import subprocess

import pytest

from conftest import (GDB, LIBRARY, LOADER, REPO, TIMEOUT, binary, gdb_argv, marked,
                      require_variant, run_gdb, sections)

ANSI = re.compile(r"\x1b\[[0-9;]*m")

SETUP = ("python import json as j; b = j.loads(gdb.execute('heap bins --json', to_string=True)); "
         "s = gdb.set_convenience_variable; "
         "s('fc', b['arenas'][0]['fastbins'][0]['chunks'][0]); "
         "s('arena2', b['arenas'][1]['address'])")

COMMANDS = [
    ("chunk_spaces", "heap chunk $fc + 16"),
    ("chunk_tight", "heap chunk $fc+16"),
    ("chunk_option_after", "heap chunk $fc +  16 --json"),
    ("quoted", "heap chunk 'every_bin.c'::thread_lwps"),
    ("quoted_print", "print &'every_bin.c'::thread_lwps"),
    ("register", "heap chunk $rsp"),
    ("siginfo", "heap chunk $_siginfo"),
    ("call", "heap chunk (char*)malloc(5000)"),
    ("assign", "heap chunk $fc = 5"),
    ("try_free_call", "heap try-free (char*)malloc(5000)"),
    ("try_free_quoted_call", "heap try-free '(char*)malloc(5000)'"),
    ("quoted_whole", "heap chunk '$fc + 16'"),
    ("check_free_call", "heap check --free (char*)malloc(5000)"),
    ("increment", "heap chunk $fc++"),
    ("fc_after", "print/x $fc"),
    ("vis_count", "vis_heap_chunks 2"),
    ("vis_count_addr", "vis_heap_chunks 1 $fc"),
    ("vis_addr", "vis_heap_chunks $fc"),
    ("bins_arena", "bins $arena2"),
    ("fastbins_arena", "fastbins $arena2"),
    ("bins_option", "heap bins --arena $arena2 fast"),
    ("tcachebins_thread", "tcachebins 2"),
    ("top_arena", "top_chunk $arena2"),
    ("top_option", "heap top --arena $arena2"),
    ("bins_limit", "heap bins --limit 1 tcache"),
    ("tcache_limit", "heap tcache 1 --limit 2"),
    ("mmapped", "heap chunks --state mmapped"),
    ("arenas_limit", "heap arenas --limit 1"),
    ("mmapped_summary", "heap chunks --state mmapped --summary"),
    ("complete_option", "complete heap chunks --li"),
    ("complete_kind", "complete heap bins sm"),
    ("complete_alias", "complete fastbins --"),
    ("up", "up"),
    ("check_leaks", "heap check --leaks"),
    ("frame_after", "frame"),
    ("thread2", "thread 2"),
    ("bins_in_thread", "heap bins fast"),
    ("thread_after", "thread"),
    ("summary_plain", "heap"),
    ("help", "help heap"),
    ("style_on", "set style enabled on"),
    ("summary_styled", "heap"),
]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    require_variant("linked")
    folder = tmp_path_factory.mktemp("daily")
    commands = ["set style enabled off", "break sample_checkpoint",
                "run %s" % (folder / "record.txt"), SETUP] + marked(COMMANDS)
    output = run_gdb(gdb_argv(binary("every_bin", "linked"), commands), str(folder))
    parts = sections(output)
    assert "fc_after" in parts, output[-3000:]
    return parts


def test_expressions_as_print_takes_them(run):
    assert run["chunk_spaces"] == run["chunk_tight"]
    assert run["chunk_spaces"].startswith("chunk 0x")
    assert run["chunk_option_after"].startswith('{"address":')
    # The quotes stay: the same address `print` gives.
    address = re.search(r"0x[0-9a-f]+", run["quoted_print"]).group(0)
    assert run["quoted"] == "heap: %s is not inside any heap or mmapped chunk" % address
    assert "is not inside any heap" in run["register"]


def test_clear_errors_and_nothing_runs_or_changes_in_the_program(run):
    assert "TypeError" not in run["siginfo"] and "internal error" not in run["siginfo"]
    assert "has no address" in run["siginfo"]
    assert "calls a function in the program" in run["call"]
    assert "it assigns" in run["assign"] and "it assigns" in run["increment"]
    assert run["quoted_whole"] == run["chunk_tight"]
    for name in ("try_free_call", "check_free_call", "try_free_quoted_call"):
        assert "calls a function in the program" in run[name], run[name]
    assert run["fc_after"] != "$1 = 0x5"


def test_pwndbg_argument_forms(run):
    assert run["vis_count"].count("<- ") == 2
    lines = run["vis_count_addr"].splitlines()
    assert run["vis_count_addr"].count("<- ") == 1
    fc = run["vis_addr"].splitlines()[0].split()[0]
    assert lines[0].split()[0] == fc
    arena2 = run["bins_arena"].split("arena ")[-1].split()[0]
    assert run["bins_arena"].count("arena 0x") == 1 and "main_arena" not in run["bins_arena"]
    assert run["fastbins_arena"].splitlines()[0] == "arena " + arena2
    assert "unsorted" not in run["fastbins_arena"]
    assert run["bins_option"] == run["fastbins_arena"]
    assert run["tcachebins_thread"].startswith("tcache of thread 2 ")
    assert run["tcachebins_thread"].count("tcache of") == 1
    assert run["top_arena"].startswith("arena " + arena2 + ": top 0x")
    assert len(run["top_arena"].splitlines()) == 1 and run["top_option"] == run["top_arena"]


def test_limits(run):
    for line in run["bins_limit"].splitlines():
        assert line.count(" -> ") <= 1, line
    assert "(6 more)" in run["bins_limit"]
    assert "(5 more)" in run["tcache_limit"]
    mmapped = [line for line in run["mmapped"].splitlines() if line.startswith("  0x")]
    assert len(mmapped) == 3 and all("IS_MMAPPED" in line for line in mmapped)
    assert "main_arena" not in run["mmapped"]
    assert run["arenas_limit"].count("last_remainder") == 1
    assert run["arenas_limit"].endswith("... 3 more arenas not shown (--limit 1)")
    assert run["mmapped_summary"].splitlines()[-1].split()[:2] == ["total", "3"]


def test_completion_of_options_and_bin_kinds(run):
    assert run["complete_option"].splitlines() == ["heap chunks --limit"]
    assert run["complete_kind"].splitlines() == ["heap bins small"]
    assert "fastbins --arena" in run["complete_alias"].splitlines()
    assert "fastbins --limit" in run["complete_alias"].splitlines()


def test_thread_and_frame_kept(run):
    assert run["up"].startswith("#1 ")
    assert run["frame_after"].startswith("#1 "), run["frame_after"]
    assert "[Current thread is 2 " in run["thread_after"]


def test_summary_text(run):
    plain = run["summary_plain"]
    assert "arena arena" not in plain
    assert "used by thread 1" in plain
    assert not re.search(r"\b1 chunks\b|\b1 heaps\b", plain)
    assert re.search(r"\b1 chunk\b", plain)
    styled = run["summary_styled"]
    assert "\x1b[" in styled
    # Styling changes colours, never columns.
    assert ANSI.sub("", styled) == plain


def test_help_one_liners_are_sentences(run):
    lines = [line for line in run["help"].splitlines()
             if line.startswith("heap ") and " -- " in line]
    assert len(lines) >= 10
    for line in lines:
        assert line.endswith("."), line


TWO_ARGUMENTS = """python
from ptmalloc.commands import HeapCommand
class TwoExpressions(HeapCommand):
    name = "heap-test-two"
    def add_arguments(self, parser):
        parser.add_argument("first")
        parser.add_argument("second")
    def run(self, args):
        gdb.write("%r\\n" % ((args.first, args.second),))
TwoExpressions()
end
"""


def test_two_expressions_split_at_operators(tmp_path):
    script = tmp_path / "two.gdb"
    script.write_text(TWO_ARGUMENTS)
    commands = ["source " + str(script)] + marked([
        ("a", "heap-test-two p + 8 100"), ("b", "heap-test-two 'x.c'::v f(1, 2) --json"),
        ("c", "heap-test-two -8 $rsp"), ("d", "heap-test-two a"),
        ("e", "heap-test-two f (1) x [2]")])
    parts = sections(run_gdb(gdb_argv("/bin/true", commands), str(tmp_path)))
    assert parts["a"] == "('p + 8', '100')"
    assert parts["b"] == "(\"'x.c'::v\", 'f(1, 2)')"
    assert parts["c"] == "('-8', '$rsp')"
    assert "the following arguments are required: second" in parts["d"]
    assert parts["e"] == "('f (1)', 'x [2]')"


def test_many_threads_fit_one_screen(tmp_path):
    program = str(tmp_path / "many_threads")
    subprocess.run(["gcc", "-g", "-pthread", os.path.join(REPO, "tests", "gdb", "many_threads.c"),
                    "-o", program], check=True)
    commands = ["set style enabled off", "break checkpoint", "run"] + marked(
        [("summary", "heap"), ("all", "heap --all")])
    output = subprocess.run(gdb_argv(program, commands, preload=LIBRARY), cwd=str(tmp_path),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            timeout=TIMEOUT).stdout
    parts = sections(output)
    summary = parts["summary"].splitlines()
    assert len(summary) <= 30, "\n".join(summary)
    assert "Threads: 65" in parts["summary"]
    assert "... 57 more (threads 9-65)" in parts["summary"]
    assert len([line for line in parts["all"].splitlines() if line.startswith("  thread ")]) == 65
    assert GDB and LOADER
