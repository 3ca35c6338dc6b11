"""The clone's thread-local variables read two ways must agree for every thread, live and from a
core: from the thread pointers and the library's TLS offset slot (thread_locals.ThreadPointerTls,
what the extension uses for the preloaded clone) and through gdb's symbols in each selected
thread (target/allocator._SymbolTls, the fallback); and the fast way must really be the one in use."""

from conftest import ALL_VARIANTS, binary, gdb_argv, marked, require_variant, run_gdb, sections

COMPARE = ("python "
           "from ptmalloc.target import allocator as target, thread_locals, elf_symbols; "
           "allocator = target.find_allocator(); objfile = allocator.objfile; "
           "table = elf_symbols.symbol_table(objfile.filename, objfile.build_id); "
           "fast = thread_locals.read_all(allocator._tls_reader); "
           "slow = thread_locals.read_all(target._SymbolTls(objfile, table)); "
           "rows = lambda found: [(t.num, v, e) for t, v, e in found]; "
           "print('reader', type(allocator._tls_reader).__name__, 'threads', len(fast), "
           "'same', rows(fast) == rows(slow), 'tcaches', "
           "sum(1 for _t, v, _e in fast if v['tcache']), 'errors', "
           "sum(1 for _t, _v, e in fast if e))")
EXPECTED = "reader ThreadPointerTls threads 4 same True tcaches 4 errors 0"


def test_thread_locals_agree_in_core(runner):
    require_variant("preload")
    core = runner.live("every_bin", "preload").core
    output = run_gdb(gdb_argv(binary("every_bin", "preload"), marked([("compare", COMPARE)]),
                              core=core), None)
    assert sections(output).get("compare") == EXPECTED, output[-3000:]


def test_thread_locals_agree_live(tmp_path):
    require_variant("preload")
    commands = ["break sample_checkpoint", "run %s" % (tmp_path / "record.txt")] + \
        marked([("compare", COMPARE)]) + ["kill"]
    output = run_gdb(gdb_argv(binary("every_bin", "preload"), commands,
                              ALL_VARIANTS["preload"][1]), str(tmp_path))
    assert sections(output).get("compare") == EXPECTED, output[-3000:]
