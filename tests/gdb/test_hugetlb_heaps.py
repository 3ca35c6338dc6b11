"""Thread-arena heaps under GLIBC_TUNABLES=glibc.malloc.hugetlb=2, on glibc 2.36 and on the clone.

With that tunable the allocator takes the size of a thread arena's heap, and the alignment
heap_for_ptr masks with, from the huge page size (four huge pages instead of 64 MiB), whether or
not the kernel has huge pages to give: without reserved pages each heap falls back to ordinary
pages but keeps the smaller size and alignment.  The multi-threaded every_bin sample runs both
ways (with huge pages reserved through /proc/sys/vm/nr_hugepages, restored afterwards, and with
none), live and from a gcore'd core, and `heap arenas`, `heap chunks` and `heap check` are held
against the sample's own record, the kernel's page sizes (/proc/PID/smaps) and /proc/meminfo."""

import os
import re

import pytest

from conftest import (LIBRARY, Run, binary, gdb_argv, marked, require_variant, run_gdb)
from known_heap import assert_recorded_chunk, assert_walk_covers

SAMPLE = "every_bin"
VARIANTS = {"glibc": None, "preload": LIBRARY}
PAGES = ("none-reserved", "reserved")
SOURCES = ("live", "gcore")
TUNABLE = "glibc.malloc.hugetlb=2"
NR_HUGEPAGES = "/proc/sys/vm/nr_hugepages"
# Three thread heaps and the main arena's mmapped heap, one or two huge pages each, and room.
PAGES_TO_RESERVE = 32
COMMANDS = (("summary", "heap --json"), ("arenas", "heap arenas --json"),
            ("chunks", "heap chunks --json"), ("check", "heap check --json"),
            ("mp", "heap mp --json"))
SMAPS = "python gdb.write(open('/proc/%d/smaps' % gdb.selected_inferior().pid).read())"


def huge_page_size():
    """The default huge page size in bytes, from /proc/meminfo (what hugetlb=2 picks)."""
    with open("/proc/meminfo", encoding="utf-8") as handle:
        for line in handle:
            if line.startswith("Hugepagesize:"):
                return int(line.split()[1]) * 1024
    return None


def _read_reserved():
    with open(NR_HUGEPAGES, encoding="utf-8") as handle:
        return int(handle.read())


def _write_reserved(count):
    with open(NR_HUGEPAGES, "w", encoding="utf-8") as handle:
        handle.write("%d\n" % count)


@pytest.fixture(scope="module")
def huge_pages():
    """{"none-reserved": None or why it cannot run, "reserved": None or why it cannot run}; the
    reserved runs happen while this fixture holds PAGES_TO_RESERVE free huge pages."""
    if huge_page_size() is None:
        pytest.skip("the kernel has no huge pages (no Hugepagesize in /proc/meminfo)")
    state = {"old": None, "why_not": {}}
    try:
        state["old"] = _read_reserved()
    except OSError as error:
        state["why_not"]["reserved"] = "cannot read %s: %s" % (NR_HUGEPAGES, error)
    yield state
    if state.get("changed"):
        _write_reserved(state["old"])


class HugePageRuns:
    """The gdb runs of one module, made once each: live (with a gcore) and from the core."""

    def __init__(self, tmp_factory, huge_pages):
        self.tmp_factory = tmp_factory
        self.huge_pages = huge_pages
        self.cache = {}

    def _reserve(self, pages):
        """Make the number of free huge pages right for `pages`; None or why it cannot be."""
        state = self.huge_pages
        if pages in state["why_not"]:
            return state["why_not"][pages]
        if pages == "none-reserved":
            if state["old"] is not None and _free_huge_pages() != 0:
                return self._set(0)
            return None
        return self._set(PAGES_TO_RESERVE)

    def _set(self, count):
        state = self.huge_pages
        if state["old"] is None:
            return "cannot read %s" % NR_HUGEPAGES
        try:
            _write_reserved(count)
            state["changed"] = True
        except OSError as error:
            return "the kernel refused %d huge pages in %s: %s" % (count, NR_HUGEPAGES, error)
        if _free_huge_pages() < count:
            return "the kernel reserved only %d of %d huge pages" % (_free_huge_pages(), count)
        return None

    def get(self, variant, pages, source):
        key = (variant, pages)
        if key not in self.cache:
            why_not = self._reserve(pages)
            if why_not is not None:
                self.huge_pages["why_not"][pages] = why_not
                pytest.skip(why_not)
            self.cache[key] = self._live(variant, pages)
        live = self.cache[key]
        if source == "live":
            return live
        core_key = key + ("gcore",)
        if core_key not in self.cache:
            assert os.path.exists(live.core), "gcore wrote no core:\n" + live.output[-3000:]
            output = run_gdb(gdb_argv(binary(SAMPLE, variant), marked(COMMANDS), core=live.core),
                             os.path.dirname(live.core))
            self.cache[core_key] = Run(output, live.record.path)
        return self.cache[core_key]

    def _live(self, variant, pages):
        folder = str(self.tmp_factory.mktemp("hugetlb-%s-%s" % (variant, pages)))
        record = os.path.join(folder, "record.txt")
        core = os.path.join(folder, "gcore.core")
        commands = ["set environment GLIBC_TUNABLES " + TUNABLE, "break sample_checkpoint",
                    "run " + record] + marked(COMMANDS + (("smaps", SMAPS),)) + [
                        "gcore " + core, "kill"]
        output = run_gdb(gdb_argv(binary(SAMPLE, variant), commands, VARIANTS[variant]), folder)
        run = Run(output, record)
        run.record.path = record
        run.core = core
        run.page_sizes = _kernel_page_sizes(run.text.get("smaps", ""))
        return run


def _free_huge_pages():
    with open("/proc/meminfo", encoding="utf-8") as handle:
        for line in handle:
            if line.startswith("HugePages_Free:"):
                return int(line.split()[1])
    return 0


_MAPPING = re.compile(r"^([0-9a-f]+)-([0-9a-f]+) ", re.M)
_KERNEL_PAGE = re.compile(r"^KernelPageSize:\s+(\d+) kB", re.M)


def _kernel_page_sizes(smaps):
    """[(start, end, page size in bytes)] of every mapping in a /proc/PID/smaps text."""
    mappings = []
    starts = list(_MAPPING.finditer(smaps))
    for number, match in enumerate(starts):
        following = starts[number + 1].start() if number + 1 < len(starts) else len(smaps)
        page = _KERNEL_PAGE.search(smaps, match.end(), following)
        mappings.append((int(match.group(1), 16), int(match.group(2), 16),
                         int(page.group(1)) * 1024 if page else None))
    return mappings


def page_size_at(run, address):
    for start, end, size in run.page_sizes:
        if start <= address < end:
            return size
    return None


@pytest.fixture(scope="module")
def hugetlb_runs(tmp_path_factory, huge_pages):
    return HugePageRuns(tmp_path_factory, huge_pages)


def get_run(hugetlb_runs, variant, pages, source):
    require_variant(variant, SAMPLE)
    run = hugetlb_runs.get(variant, pages, source)
    for name, _command in COMMANDS:
        assert run.json.get(name) is not None, (name, run.output[-3000:])
    return run


def thread_arenas(run):
    return [arena for arena in run.json["arenas"]["arenas"] if not arena["main"]]


@pytest.mark.parametrize("variant", list(VARIANTS))
@pytest.mark.parametrize("pages", PAGES)
def test_the_tunable_sets_the_huge_page_size(hugetlb_runs, variant, pages):
    run = get_run(hugetlb_runs, variant, pages, "live")
    assert run.json["mp"]["mp_"]["hp_pagesize"] == huge_page_size()


@pytest.mark.parametrize("variant", list(VARIANTS))
@pytest.mark.parametrize("pages", PAGES)
@pytest.mark.parametrize("source", SOURCES)
def test_every_thread_heap_is_found(hugetlb_runs, variant, pages, source):
    run = get_run(hugetlb_runs, variant, pages, source)
    heap_size = 4 * huge_page_size()
    arenas = thread_arenas(run)
    assert len(arenas) == len(run.record.threads)
    assert run.json["arenas"]["notes"] == []
    for arena in arenas:
        assert arena["heap_problem"] is None, arena["heap_problem"]
        assert arena["heaps"], "arena %#x: no heap found" % arena["address"]
        for heap in arena["heaps"]:
            assert heap["kind"] == "heap_info"
            # heap_for_ptr masks with the heap size: each heap_info sits on that alignment.
            assert heap["address"] % heap_size == 0, hex(heap["address"])
            assert heap["size"] <= heap["mprotect_size"] <= heap_size
        assert sum(heap["size"] for heap in arena["heaps"]) == arena["system_mem"]
        top_heap = arena["heaps"][-1]
        assert top_heap["start"] <= arena["top"] < top_heap["end"]


@pytest.mark.parametrize("variant", list(VARIANTS))
@pytest.mark.parametrize("pages", PAGES)
def test_heaps_lie_in_the_pages_the_kernel_gave(hugetlb_runs, variant, pages):
    """The proof that both cases were really staged: with pages reserved the thread heaps are
    hugetlb mappings, without any they fell back to ordinary pages."""
    run = get_run(hugetlb_runs, variant, pages, "live")
    expected = huge_page_size() if pages == "reserved" else os.sysconf("SC_PAGE_SIZE")
    for arena in thread_arenas(run):
        for heap in arena["heaps"]:
            assert page_size_at(run, heap["address"]) == expected, hex(heap["address"])


@pytest.mark.parametrize("variant", list(VARIANTS))
@pytest.mark.parametrize("pages", PAGES)
@pytest.mark.parametrize("source", SOURCES)
def test_every_recorded_chunk_has_its_state(hugetlb_runs, variant, pages, source):
    run = get_run(hugetlb_runs, variant, pages, source)
    chunks = run.json["chunks"]
    assert chunks["complete"] is True, chunks.get("problem")
    found = {}
    arena_of = {}
    for arena in chunks["arenas"]:
        walked = sorted(arena["chunks"], key=lambda chunk: chunk["address"])
        for heap in arena["heaps"]:
            assert_walk_covers(heap, walked)
        for chunk in arena["chunks"]:
            found[chunk["address"]] = chunk
            arena_of[chunk["address"]] = arena["address"]
    for chunk in chunks["mmapped"]:
        found[chunk["address"]] = dict(chunk, state="mmapped")
    threads = {thread["thread"]: thread["arena"] for thread in run.json["summary"]["threads"]}
    assert len(run.record.chunks) > 60
    for entry in run.record.chunks:
        header = assert_recorded_chunk(entry, found)
        if header in arena_of:
            assert arena_of[header] == threads[entry["lwp"]], hex(header)


@pytest.mark.parametrize("variant", list(VARIANTS))
@pytest.mark.parametrize("pages", PAGES)
@pytest.mark.parametrize("source", SOURCES)
def test_check_finds_the_heap_healthy(hugetlb_runs, variant, pages, source):
    run = get_run(hugetlb_runs, variant, pages, source)
    assert run.json["check"] == {"ok": True, "findings": []}
