"""Issue 2's acceptance line: 200 pseudo-random traces of 20,000 operations each give the same
answers on glibc 2.36 and on the clone (offsets from the heap start, mmapped sizes, errno)."""
import pytest

import difftools

TRACE_COUNT = 200
OPERATIONS = difftools.TRACE_OPERATIONS
BATCH = 10


@pytest.mark.parametrize("first_seed", range(1, TRACE_COUNT + 1, BATCH))
def test_trace_batch_matches_glibc(first_seed):
    seeds = range(first_seed, first_seed + BATCH)
    traces = [difftools.generate_trace(seed, OPERATIONS) for seed in seeds]
    failures = difftools.replay_many(traces)
    assert not failures, "\n\n".join(failures)


def test_replay_is_deterministic_on_glibc():
    """The oracle must agree with itself, or every comparison above is noise."""
    trace = difftools.generate_trace(999_983, OPERATIONS)
    first = difftools.run([str(difftools.REPLAY)], preload=False, input_bytes=trace)
    second = difftools.run([str(difftools.REPLAY)], preload=False, input_bytes=trace)
    assert first.returncode == 0, first.stderr.decode(errors="replace")
    difference = difftools.first_difference(first.stdout, second.stdout, "first run", "second run")
    assert difference is None, difference


def test_replayer_reports_its_allocator():
    """The provider lines name glibc when nothing is preloaded, so a clone run that fell back to
    glibc's malloc cannot pass unnoticed."""
    trace = difftools.generate_trace(1, 10)
    plain = difftools.run([str(difftools.REPLAY), "--providers"], preload=False, input_bytes=trace)
    _, providers = difftools.split_providers(plain.stdout)
    assert providers and set(providers.values()) == {"libc.so.6"}, providers
    # The replayer reads the statistics with mallinfo2 where the release has it (2.33+).
    assert ("mallinfo2" if difftools.RELEASE >= "2.33" else "mallinfo") in providers


def aligned_requests_meeting_full_tcache_bins():
    """A hand-written trace: for sizes across the tcache's range, seven chunks freed into their
    bin, then aligned requests of that size (from 2.38 an entry that already has the alignment is
    taken out of the bin wherever it sits), then mallocs that show what the bin kept, in order."""
    lines, slot = ["# trace aligned requests meeting full tcache bins"], 0
    for size in (24, 40, 56, 88, 120, 200, 264, 520, 1000):
        cached = range(slot, slot + 7)
        lines += ["m %d %d" % (each, size) for each in cached] + ["f %d" % each for each in cached]
        slot += 7
        for alignment in (32, 64, 256):
            lines.append("a %d %d %d" % (slot, alignment, size))
            slot += 1
        lines += ["m %d %d" % (each, size) for each in range(slot, slot + 7)]
        slot += 7
    return ("\n".join(lines) + "\n").encode()


def test_aligned_requests_meeting_full_tcache_bins_match_glibc():
    failures = difftools.replay_many([aligned_requests_meeting_full_tcache_bins()])
    assert not failures, "\n\n".join(failures)
