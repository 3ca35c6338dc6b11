"""The malloc hooks of glibc 2.31 (before 2.34): `heap` shows them, and `heap check` names one
the program overwrote (rule malloc-hook), while the values glibc stores there at start-up
(its initialising hooks) are no finding.  The program (free_hook.c) stops before and after it
writes __free_hook, under glibc 2.31 and with the clone built as 2.31 preloaded; the hook's
address is what gdb's own `print &__free_hook` says (the program's copy of it).  With
MALLOC_CHECK_ set, glibc's checking functions fill four hooks for good: no finding either."""
import pytest

from release_session import json_of as _json
from release_session import oracle_harness, run

PROGRAM = oracle_harness.BUILD / "tests" / "versions" / "free_hook-2.31"
AT_EACH_STOP = [("heap", "heap --json"), ("check", "heap check --json"), ("text", "heap"),
                ("hook", "printf \"%#lx\\n\", (long)&__free_hook")]


def _session(allocator, environment=()):
    """The outputs at the program's two stops: before and after it writes __free_hook."""
    return run(allocator, PROGRAM, [], "hook_stop", [AT_EACH_STOP, AT_EACH_STOP],
               environment=environment)


@pytest.mark.parametrize("allocator", ["glibc-2.31", "clone-2.31"])
def test_an_overwritten_free_hook_is_named_and_glibcs_own_hooks_are_not(allocator):
    assert PROGRAM.exists(), "run make test-versions"
    out = _session(allocator)
    before, after = _json(out[(1, "heap")], "heap --json"), _json(out[(2, "heap")], "heap --json")
    assert before["allocator"]["release"] == "2.31"
    # Single-threaded without libpthread: no libthread_db, yet the tcache is read.
    assert before["threads"][0]["tcache"] and not before["notes"], before["notes"]
    hooks = {hook["name"]: hook for hook in before["hooks"]}
    assert set(hooks) == {"__malloc_hook", "__free_hook", "__realloc_hook", "__memalign_hook",
                          "__after_morecore_hook"}
    # malloc has run, so __malloc_hook is cleared; no realloc or memalign has run yet.
    assert hooks["__malloc_hook"]["value"] == 0
    assert hooks["__realloc_hook"]["initial"] and hooks["__realloc_hook"]["value"]
    assert hooks["__memalign_hook"]["initial"]
    assert _json(out[(1, "check")], "heap check --json")["ok"], out[(1, "check")]

    hook_address = int(out[(2, "hook")].strip().splitlines()[-1], 16)
    written = {hook["name"]: hook for hook in after["hooks"]}["__free_hook"]
    assert written["address"] == hook_address
    assert written["target"] == "hijacked_free" and not written["initial"]
    check = _json(out[(2, "check")], "heap check --json")
    assert not check["ok"]
    assert [(f["rule"], f["address"]) for f in check["findings"]] == \
        [("malloc-hook", hook_address)], check["findings"]
    assert "__free_hook" in check["findings"][0]["message"]
    assert "[set: called instead of the allocator]" in out[(2, "text")]


@pytest.mark.parametrize("allocator", ["glibc-2.31", "clone-2.31"])
def test_malloc_check_hooks_are_glibcs_own(allocator):
    out = _session(allocator, [("MALLOC_CHECK_", "3")])
    before = _json(out[(1, "heap")], "heap --json")
    hooks = {hook["name"]: hook for hook in before["hooks"]}
    assert {name: hooks[name]["target"] for name in hooks} == {
        "__malloc_hook": "malloc_check", "__free_hook": "free_check",
        "__realloc_hook": "realloc_check", "__memalign_hook": "memalign_check",
        "__after_morecore_hook": None}
    assert all(hooks[name]["malloc_check"] for name in hooks if hooks[name]["value"])
    assert _json(out[(1, "check")], "heap check --json")["ok"], out[(1, "check")]
    assert "[glibc's MALLOC_CHECK_ hook]" in out[(1, "text")]
    # The program's own hook is still named once it overwrites glibc's checking one.
    check = _json(out[(2, "check")], "heap check --json")
    assert [f["rule"] for f in check["findings"]] == ["malloc-hook"], check["findings"]
