"""A missing export silently falls back to glibc's function, so the exported set is checked:
exactly the malloc API in .dynsym, and the internal names the debugger needs hidden from the
dynamic table but present in .symtab."""
import subprocess

import pytest

import difftools

EXPORTED = {"malloc", "free", "cfree", "calloc", "realloc", "reallocarray", "memalign",
            "posix_memalign", "aligned_alloc", "valloc", "pvalloc", "malloc_usable_size",
            "mallopt", "malloc_trim", "mallinfo", "mallinfo2", "malloc_stats", "malloc_info"}
INTERNAL = ["main_arena", "mp_", "_int_malloc", "_int_free", "global_max_fast", "tcache_key",
            "narenas", "free_list", "tcache", "thread_arena"]
# Linker-made symbols that are not part of any API.
LINKER_SYMBOLS = {"_init", "_fini", "_edata", "_end", "__bss_start"}


def defined_symbols(*nm_options):
    completed = subprocess.run(["nm", "--defined-only", *nm_options, str(difftools.CLONE)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False)
    if completed.returncode != 0:
        pytest.fail("nm failed: " + completed.stderr.decode(errors="replace").strip(), pytrace=False)
    symbols = {}
    for line in completed.stdout.decode().splitlines():
        parts = line.split()
        if len(parts) == 3:
            symbols[parts[2].split("@")[0]] = parts[1]
    return symbols


def test_dynamic_symbols_are_exactly_the_malloc_api():
    dynamic = {name: kind for name, kind in defined_symbols("-D").items()
               if name not in LINKER_SYMBOLS}
    missing = sorted(EXPORTED - dynamic.keys())
    extra = sorted(dynamic.keys() - EXPORTED)
    assert not missing and not extra, f"missing exports: {missing}; unexpected exports: {extra}"
    not_functions = sorted(name for name, kind in dynamic.items() if kind not in "TWi")
    assert not not_functions, f"exported but not functions: {not_functions}"


@pytest.mark.parametrize("name", INTERNAL)
def test_internal_name_is_hidden_but_in_symtab(name):
    assert name not in defined_symbols("-D"), f"{name} leaks into .dynsym"
    assert name in defined_symbols(), f"{name} is missing from .symtab (the debugger needs it)"
