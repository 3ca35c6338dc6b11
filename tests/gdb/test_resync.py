"""gdb/ptmalloc/model/resync.py on synthetic segments (no gdb): the walk resumes at the first header
whose chain of sizes lands on an anchor, past a zeroed header, a garbage size or an enlarged
one, and never on user data that merely looks like sizes."""
import importlib.util
import pathlib

import pytest

_PATH = pathlib.Path(__file__).resolve().parents[2] / "gdb" / "ptmalloc" / "model" / "resync.py"
_SPEC = importlib.util.spec_from_file_location("resync", _PATH)
resync = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(resync)

SIZE_MASK = ~7 & (2**64 - 1)


def segment(sizes, top_words=64):
    """Words of a segment of chunks with these sizes (bytes) followed by a top chunk; returns
    (words, header positions, top position)."""
    words, positions = [], []
    for size in sizes + [top_words * 8]:
        positions.append(len(words))
        words += [0, size | 1] + [0x5a5a5a5a5a5a5a5a] * (size // 8 - 2)
    return words, positions, positions[-1]


def rules(words):
    return resync.ChainRules(words, 1, SIZE_MASK, 4, 2, 0, len(words))


def test_resumes_right_after_a_zeroed_header():
    words, positions, top = segment([32, 48, 64, 32, 160])
    words[positions[2] + 1] = 0
    assert resync.resume_position(rules(words), positions[2], {top}) == positions[3]


def test_resumes_after_a_garbage_size():
    words, positions, top = segment([32, 48, 64, 32, 160])
    words[positions[1] + 1] = 0x4141414141414141
    assert resync.resume_position(rules(words), positions[1], {top}) == positions[2]


def test_user_data_that_looks_like_sizes_is_not_a_header():
    # A chunk's user data holds a fake header whose size steps off every anchor.
    words, positions, top = segment([32, 96, 32])
    fake = positions[1] + 4
    words[fake + 1] = 0x30 | 1
    words[positions[1] + 1] = 0
    assert resync.resume_position(rules(words), positions[1], {top}) == positions[2]


def test_a_stale_header_whose_successor_disowns_it_is_not_one():
    # A chunk's data keeps an earlier free chunk's header whose size lands on top; top's
    # PREV_INUSE is clear (the chunk before it is free) and its prev_size is that chunk's size,
    # not the stale header's.  The walk resumes after the zeroed header, not at the stale one.
    words, positions, top = segment([32, 96, 64, 48, 32])
    stale = positions[1] + 4
    words[stale], words[stale + 1] = 0x5a5a5a5a5a5a5a5a, (top - stale) * 8
    words[top], words[top + 1] = 32, words[top + 1] & ~1
    words[positions[2] + 1] = 0
    checked = resync.ChainRules(words, 1, SIZE_MASK, 4, 2, 0, len(words), 0, 1)
    assert resync.resume_position(checked, positions[1] + 1, {top}) == positions[3]
    assert resync.resume_position(rules(words), positions[1] + 1, {top}) == stale


def test_a_stale_header_that_calls_a_walked_chunk_free_with_another_size_is_not_one():
    # A chunk's data keeps an earlier free chunk's header: PREV_INUSE clear, its prev_size the
    # size the chunk before it had then.  The walk read that chunk with its size of now.
    words, positions, top = segment([32, 96, 64, 48, 32])
    stale = positions[1] + 4
    words[stale], words[stale + 1] = 4 * 8, (top - stale) * 8
    words[positions[2] + 1] = 0
    checked = resync.ChainRules(words, 1, SIZE_MASK, 4, 2, 0, len(words), 0, 1)
    walked = {positions[0]: 4, positions[1]: 12}
    assert resync.resume_position(checked, positions[1] + 1, {top}, walked) == positions[3]
    assert resync.resume_position(checked, positions[1] + 1, {top}) == stale


def test_no_anchor_reached_gives_none():
    words, positions, _ = segment([32, 48])
    assert resync.resume_position(rules(words), positions[1], set()) is None


def _walker(words):
    """pass one from a position, with its first impossible size as the bad row."""
    def follow(position):
        positions, fields = [], []
        while position < len(words):
            size = words[position + 1] & SIZE_MASK
            positions.append(position)
            fields.append(words[position + 1])
            if size < 32 or size % 16:
                return positions, fields, len(positions) - 1
            position += size // 8
        return positions, fields, None
    return follow


def test_walk_resumes_past_a_zeroed_header_and_reports_the_gap():
    words, positions, top = segment([32, 48, 64, 32, 160])
    words[positions[2] + 1] = 0
    follow = _walker(words)
    walked, fields, bad = follow(0)
    walk = resync.resume_walk(rules(words), walked, fields, bad, {top}, follow)
    assert walk.positions == positions[:2] + positions[3:]
    assert walk.gaps == [(positions[2], positions[3], positions[2])]
    assert walk.overruns == [] and walk.resumed == [2] and walk.stopped is None


def test_walk_resumes_inside_an_enlarged_chunk_and_reports_the_overrun():
    words, positions, top = segment([32, 48, 64, 32, 160])
    words[positions[1] + 1] = (48 + 16) | 1
    follow = _walker(words)
    walked, fields, bad = follow(0)
    walk = resync.resume_walk(rules(words), walked, fields, bad, {top}, follow)
    assert walk.positions == positions
    assert walk.overruns == [(1, positions[2])] and walk.gaps == []


@pytest.mark.parametrize("step_back", [0, 1])
def test_chains_already_refuted_are_not_followed_again(step_back):
    words, positions, top = segment([32] * 200)
    words[positions[10] + 1] = 0
    followed = []
    real_step = resync.ChainRules.step

    def counting_step(self, position):
        followed.append(position)
        return real_step(self, position)

    resync.ChainRules.step = counting_step
    try:
        found = resync.resume_position(rules(words), positions[10] - step_back * 2, {top})
    finally:
        resync.ChainRules.step = real_step
    assert found == positions[11]
    assert len(followed) == len(set(followed))
