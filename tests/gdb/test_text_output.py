"""Every command's text form, with styling on and off, on every sample build and heap source:
output present, no Python traceback, no error, escapes only when styling is on."""

import re

import pytest

from conftest import VARIANTS, require_variant, text_commands, text_key

SOURCES = ("live", "gcore", "crash")


@pytest.mark.parametrize("variant", list(VARIANTS))
@pytest.mark.parametrize("source", SOURCES)
def test_every_text_command_prints_without_error(runner, source, variant):
    require_variant(variant)
    run = getattr(runner, source)("every_bin", variant)
    assert "Traceback" not in run.output
    assert "internal error" not in run.output
    for command in text_commands():
        styled = run.text.get(text_key("on", command))
        plain = run.text.get(text_key("off", command))
        assert styled and plain, "no output from %r:\n%s" % (command, run.output[-2000:])
        for text in (styled, plain):
            assert not text.startswith("heap:"), (command, text)
            assert "Undefined command" not in text, command
        assert "\x1b[" in styled, command
        assert "\x1b[" not in plain, command


@pytest.mark.parametrize("source", SOURCES)
def test_text_names_every_state_and_thread(runner, source):
    require_variant("glibc")
    run = getattr(runner, source)("every_bin", "glibc")
    chunks = run.text[text_key("off", "heap chunks")]
    for state in ("in-use", "tcache", "fastbin", "unsorted", "smallbin", "largebin", "top"):
        assert " %s " % state in chunks or chunks.rstrip().endswith(state) or \
            (" %s\n" % state) in chunks + "\n", state
    assert "PREV_INUSE|NON_MAIN_ARENA" in chunks
    assert "IS_MMAPPED" in chunks
    bins = run.text[text_key("off", "heap bins")]
    for lwp in [run.record.main] + run.record.threads:
        assert "(LWP %d)" % lwp in bins
    summary = run.text[text_key("off", "heap")]
    for lwp in [run.record.main] + run.record.threads:
        # Named threads (live) and unnamed ones (cores) both read "(LWP n): " or "(LWP n) "name"".
        assert re.search(r'\(LWP %d\)(: | "[^"]+": )(main_)?arena ' % lwp, summary), summary
    limited = run.text[text_key("off", "heap chunks --state tcache,fastbin --limit 3")]
    assert len([l for l in limited.splitlines() if l.startswith("  0x")]) == 3
    assert "more chunks not shown (--limit 3)" in limited
