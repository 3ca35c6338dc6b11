"""The main arena when sbrk cannot grow: glibc 2.36 continues in mmapped memory (noncontiguous, with
fenceposts, and with its own sizing quirk for the fallback mappings).  The same workload plain and
under the clone, with address randomisation off so the mappings line up, must agree exactly."""
import difftools

PROGRAM = difftools.BUILD / "diff" / "sbrk_blocked"


def run_without_randomisation(preload):
    result = difftools.run(["setarch", "-R", str(PROGRAM)], preload=preload)
    assert result.returncode == 0, result.stderr.decode(errors="replace")[-400:]
    return result.stdout.decode()


def test_mmapped_main_arena_matches_glibc():
    glibc = run_without_randomisation(preload=False)
    clone = run_without_randomisation(preload=True)
    assert "mapped" in glibc, "the workload never left the sbrk heap: the test would prove nothing"
    assert clone == glibc, difftools.first_difference(glibc, clone)
