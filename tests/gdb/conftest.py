"""Drive gdb in batch mode over the known samples and hand the tests its parsed output.

One gdb run per (sample build, source of the heap): live at sample_checkpoint (which also writes
a gcore), the gcore'd core, and a core left by a real crash.  Each run executes the same list
of commands between echo markers, so a test picks a command's output by name.  Runs are cached
for the session: the suites stay fast on a 2-core machine."""

import json
import os
import re
import resource
import shutil
import subprocess

import pytest

from json_contract import checked

# The shared assertions report their operands like the tests' own.
pytest.register_assert_rewrite("known_heap")

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.path.join(REPO, "build")
LOADER = os.path.join(REPO, "gdb", "ptmalloc-gdb.py")
KNOWN = os.path.join(BUILD, "samples", "known")
LIBRARY = os.path.join(BUILD, "libptmalloc.so")
GDB = os.environ.get("GDB", "gdb")
TIMEOUT = 120

TLS_PAD = os.path.join(KNOWN, "libtls_pad.so")
# variant -> (binary suffix, library to preload or None)
VARIANTS = {"glibc": ("", None), "preload": ("", LIBRARY), "linked": ("-linked", None),
            "static": ("-static", None)}
CLONE_VARIANTS = ("preload", "linked", "static")
# Only for comparisons with the clone: glibc with as many TLS modules as a process using the
# clone (see samples/known/tls_pad.c), so pthread_create's DTV calloc has the same size.
COMPARISON_VARIANTS = {"glibc-tls-pad": ("", TLS_PAD)}
ALL_VARIANTS = dict(VARIANTS, **COMPARISON_VARIANTS)

JSON_COMMANDS = {
    "summary": "heap --json",
    "check": "heap check --json",
    "arenas": "heap arenas --json",
    "chunks": "heap chunks --json",
    "bins": "heap bins --json",
    "tcache": "heap tcache --json",
    "top": "heap top --json",
    "mp": "heap mp --json",
    "histogram": "heap chunks --summary --json",
    # Probes: addresses picked by probe_setup() from the bins of the same stop.
    "probe_tcache": "heap chunk $probe_tcache+20 --json",
    "probe_large": "heap chunk $probe_large --json",
    "probe_fast": "heap chunk $probe_fast --json",
    "probe_arena": "heap chunks --arena $probe_arena --json",
    "probe_large_only": "heap bins large --json",
    # Fewer than the main arena holds: everything after, mmapped chunks too, is left out.
    "limited": "heap chunks --limit 40 --json",
}


def text_commands():
    """Every command's text form (the chunk commands get an address filled in by the run)."""
    return ["heap", "heap summary", "heap arenas", "heap arena", "heap chunks",
            "heap chunks --summary", "heap chunks --state tcache,fastbin --limit 3",
            "heap chunks --min-size 0x100 --max-size 0x600", "heap bins", "heap bins tcache",
            "heap bins fast", "heap bins unsorted", "heap bins small", "heap bins large",
            "heap tcache", "heap tcache 1", "heap top", "heap mp", "heap chunk $first_chunk",
            "heap chunk $first_chunk+24", "arenas", "arena", "bins", "tcachebins", "fastbins",
            "smallbins", "largebins", "unsortedbin", "tcache", "top_chunk", "mp",
            "malloc_chunk $first_chunk", "hi $first_chunk"]


def binary(sample, variant):
    return os.path.join(KNOWN, sample + ALL_VARIANTS[variant][0])


def clone_available():
    return os.path.exists(LIBRARY)


def gdb_argv(program, commands, preload=None, core=None):
    argv = [GDB, "-nx", "-q", "-batch", "-ex", "set pagination off", "-ex", "set width 0",
            "-ex", "set confirm off", "-ex", "source " + LOADER]
    if preload:
        argv += ["-ex", "set environment LD_PRELOAD " + preload]
    argv += ["-ex", "file " + program]
    if core:
        argv += ["-ex", "core-file " + core]
    for command in commands:
        argv += ["-ex", command]
    return argv


def run_gdb(argv, cwd, env=None):
    result = subprocess.run(argv, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, timeout=TIMEOUT, errors="replace", env=env)
    return result.stdout


def marked(commands):
    """Commands wrapped in echo markers: [(name, command)] -> gdb command list."""
    out = []
    for name, command in commands:
        out += ["echo \\n@@BEGIN %s\\n" % name, command, "echo \\n@@END %s\\n" % name]
    return out


_SECTION = re.compile(r"^@@BEGIN (\S+)\n(.*?)^@@END \1$", re.S | re.M)


def sections(output):
    return {m.group(1): m.group(2).strip("\n") for m in _SECTION.finditer(output)}


def text_key(style, command):
    """The marker name of a text command's output: no spaces, so markers stay one word."""
    return "%s:%s" % (style, command.replace(" ", "_"))


def inspection_commands():
    named = [(name, command) for name, command in JSON_COMMANDS.items()]
    named.append(("style-on:set", "set style enabled on"))
    named += [(text_key("on", c), c) for c in text_commands()]
    named.append(("style-off:set", "set style enabled off"))
    named += [(text_key("off", c), c) for c in text_commands()]
    return named


def first_chunk_setup():
    return "python gdb.set_convenience_variable('first_chunk', __import__('json').loads(" \
           "gdb.execute('heap chunks --json --limit 1', to_string=True))['arenas'][0]['chunks'][0]" \
           "['address'])"


def probe_setup():
    """Set $probe_tcache (2nd entry of thread 1's first tcache bin), $probe_large (first large
    bin chunk of main_arena), $probe_fast (main_arena's first fastbin head) and $probe_arena
    (the last thread arena), all read from `heap bins --json`."""
    return ("python "
            "import json as j; b = j.loads(gdb.execute('heap bins --json', to_string=True)); "
            "m = b['arenas'][0]; s = gdb.set_convenience_variable; "
            "s('probe_tcache', b['tcache'][0]['bins'][0]['chunks'][1]); "
            "s('probe_large', m['largebins'][0]['chunks'][0]); "
            "s('probe_fast', m['fastbins'][0]['chunks'][0]); "
            "s('probe_arena', b['arenas'][-1]['address'])")


class Run:
    """The parsed result of one gdb run: `json[name]`, `text[name]`, raw `output`, `record`."""

    def __init__(self, output, record_path):
        self.output = output
        parts = sections(output)
        self.text = parts
        self.json = {}
        for name in JSON_COMMANDS:
            raw = parts.get(name, "")
            try:
                value = json.loads(raw.splitlines()[-1]) if raw else None
            except (ValueError, IndexError):
                value = None
            # Every document a test reads has kept the contract (docs/schema/).
            self.json[name] = checked(JSON_COMMANDS[name], value) if value is not None else None
        self.record = Record(record_path)


class Record:
    """The sample's own record: its threads' LWPs, chunks with expected states, mallinfo2."""

    def __init__(self, path):
        self.main = None
        self.threads = []
        self.chunks = []
        self.mallinfo = {}
        with open(path, encoding="utf-8") as handle:
            for line in handle:
                words = line.split()
                if not words:
                    continue
                if words[0] == "main":
                    self.main = int(words[1])
                elif words[0] == "thread":
                    self.threads.append(int(words[1]))
                elif words[0] == "chunk":
                    self.chunks.append({"user": int(words[1], 16), "request": int(words[2]),
                                        "state": words[3], "lwp": int(words[4])})
                elif words[0] == "mallinfo2":
                    self.mallinfo = {k: int(v) for k, v in (w.split("=") for w in words[1:])}


def _variant_preload(variant):
    return ALL_VARIANTS[variant][1]


class Runner:
    """Makes and caches the live, gcore and crash runs of each (sample, variant)."""

    def __init__(self, tmp_factory):
        self.tmp_factory = tmp_factory
        self.cache = {}

    def live(self, sample, variant):
        key = ("live", sample, variant)
        if key not in self.cache:
            folder = str(self.tmp_factory.mktemp("%s-%s-live" % (sample, variant)))
            record = os.path.join(folder, "record.txt")
            core = os.path.join(folder, "gcore.core")
            commands = (["break sample_checkpoint", "run %s" % record, first_chunk_setup(),
                         probe_setup()] + marked(inspection_commands()) + ["gcore " + core, "kill"])
            output = run_gdb(gdb_argv(binary(sample, variant), commands,
                                      _variant_preload(variant)), folder)
            run = Run(output, record)
            run.core = core
            self.cache[key] = run
        return self.cache[key]

    def gcore(self, sample, variant):
        key = ("gcore", sample, variant)
        if key not in self.cache:
            live = self.live(sample, variant)
            assert os.path.exists(live.core), "gcore did not write a core:\n" + live.output[-3000:]
            self.cache[key] = self._from_core(sample, variant, live.core,
                                              os.path.join(os.path.dirname(live.core),
                                                           "record.txt"))
        return self.cache[key]

    def crash(self, sample, variant):
        key = ("crash", sample, variant)
        if key not in self.cache:
            folder = str(self.tmp_factory.mktemp("%s-%s-crash" % (sample, variant)))
            record = os.path.join(folder, "record.txt")
            core, how = crash_core(binary(sample, variant), record, folder,
                                   _variant_preload(variant))
            run = self._from_core(sample, variant, core, record)
            run.how = how
            self.cache[key] = run
        return self.cache[key]

    def _from_core(self, sample, variant, core, record):
        commands = [first_chunk_setup(), probe_setup()] + marked(inspection_commands())
        output = run_gdb(gdb_argv(binary(sample, variant), commands, core=core),
                         os.path.dirname(core))
        return Run(output, record)


def _allow_cores():
    resource.setrlimit(resource.RLIMIT_CORE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))


def crash_core(program, record, folder, preload):
    """A core left by the sample's own abort().

    With a core_pattern that writes a file (as `core` here does), the kernel writes it into the
    working folder.  When core_pattern pipes to a program (systemd-coredump, apport) the file
    never appears; then the sample runs under gdb, which writes the core with gcore at the
    SIGABRT stop: the same memory the kernel would have dumped.  Returns (core path, how)."""
    env = dict(os.environ)
    if preload:
        env["LD_PRELOAD"] = preload
    try:
        with open("/proc/sys/kernel/core_pattern", encoding="utf-8") as handle:
            pattern = handle.read().strip()
    except OSError:
        pattern = "|unknown"
    if not pattern.startswith("|"):
        subprocess.run([program, record, "crash"], cwd=folder, env=env, preexec_fn=_allow_cores,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=TIMEOUT)
        cores = [name for name in os.listdir(folder) if name.startswith("core")]
        if cores:
            return os.path.join(folder, cores[0]), "kernel"
    core = os.path.join(folder, "abort.core")
    commands = ["run %s crash" % record, "gcore " + core, "kill"]
    argv = [GDB, "-nx", "-q", "-batch"]
    if preload:
        argv += ["-ex", "set environment LD_PRELOAD " + preload]
    argv += ["-ex", "file " + program] + sum((["-ex", c] for c in commands), [])
    run_gdb(argv, folder)
    return core, "gcore at SIGABRT"


@pytest.fixture(scope="session")
def runner(tmp_path_factory):
    return Runner(tmp_path_factory)


def require_variant(variant, sample="every_bin"):
    if variant in CLONE_VARIANTS and not clone_available():
        pytest.skip("build/libptmalloc.so is not built")
    preload = _variant_preload(variant)
    if preload and not os.path.exists(preload):
        pytest.skip("%s is not built (make build-all)" % os.path.relpath(preload, REPO))
    path = binary(sample, variant)
    if not os.path.exists(path):
        pytest.skip("%s is not built (make build-all)" % os.path.relpath(path, REPO))


def gdb_available():
    return shutil.which(GDB) is not None


def sample_run(runner, sample, source, variant):
    """The runner's run of `sample` (skipped when that build is missing), with its chunks read."""
    require_variant(variant, sample)
    run = getattr(runner, source)(sample, variant)
    assert run.json["chunks"] is not None, run.output[-3000:]
    return run
