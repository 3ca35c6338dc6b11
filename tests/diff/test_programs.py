"""Real programs under the clone: python3, gcc and make must behave exactly as they do on
glibc's malloc (same output, same exit status), and the clone must really be in them."""
import sys
import textwrap

import difftools

PYTHON_SCRIPT = textwrap.dedent("""
    import collections, json, re, sys
    def clone_is_mapped():
        with open("/proc/self/maps") as maps:
            return any(line.rstrip().endswith("/libptmalloc.so") for line in maps)
    print("clone mapped:", clone_is_mapped())
    words = [("w%05d" % ((i * 7919) % 20011)) * (1 + i % 5) for i in range(40000)]
    counts = collections.Counter(len(word) for word in words)
    table = {word: [len(word), word[::-1]] for word in words[:5000]}
    text = json.dumps(table, sort_keys=True)
    print(sorted(counts.items()), len(text), len(json.loads(text)))
    print(sum(len(m.group(0)) for m in re.finditer(r"w0+[1-9]", " ".join(words))))
    chunks = [bytearray(size) for size in range(0, 300000, 3001)]
    print(sum(map(len, chunks)), sys.getrecursionlimit() > 0)
""")

C_PROGRAM = textwrap.dedent("""
    #include <stdio.h>
    #include <stdlib.h>
    #include <string.h>
    static int compare(const void *a, const void *b) { return *(const int *)a - *(const int *)b; }
    int main(void)
    {
        int count = 1000, *numbers = malloc(count * sizeof *numbers);
        for (int i = 0; i < count; i++)
            numbers[i] = (i * 7919) % 1009;
        qsort(numbers, count, sizeof *numbers, compare);
        char *text = strdup("sorted");
        printf("%s %d %d %d\\n", text, numbers[0], numbers[count / 2], numbers[count - 1]);
        free(text);
        free(numbers);
        return 0;
    }
""")

MAKEFILE = textwrap.dedent("""
    NUMBERS := $(shell seq 1 200)
    WORDS := $(foreach n,$(NUMBERS),item$(n))
    SORTED := $(sort $(WORDS))
    .PHONY: all first second
    all: first second
    \t@echo done $(words $(SORTED))
    first:
    \t@echo $(wordlist 1,5,$(SORTED)) $(patsubst item%,%,$(lastword $(SORTED)))
    second: first
    \t@echo $(subst item,x,$(wordlist 195,200,$(WORDS)))
""")


def run_both(argv, cwd=None):
    plain = difftools.run(argv, preload=False, cwd=cwd)
    cloned = difftools.run(argv, preload=True, cwd=cwd)
    return plain, cloned


def assert_same(plain, cloned):
    assert plain.returncode == 0, plain.stderr.decode(errors="replace")
    assert cloned.returncode == plain.returncode, (
        f"status {cloned.returncode} under the clone: {cloned.stderr.decode(errors='replace')}")
    for stream in ("stdout", "stderr"):
        difference = difftools.first_difference(getattr(plain, stream), getattr(cloned, stream))
        assert difference is None, f"{stream}: {difference}"


def test_python_script(tmp_path):
    script = tmp_path / "work.py"
    script.write_text(PYTHON_SCRIPT)
    plain, cloned = run_both([sys.executable, str(script)])
    assert plain.stdout.startswith(b"clone mapped: False\n"), plain.stdout[:200]
    assert cloned.stdout.startswith(b"clone mapped: True\n"), cloned.stdout[:200]
    plain.stdout = plain.stdout.split(b"\n", 1)[1]
    cloned.stdout = cloned.stdout.split(b"\n", 1)[1]
    assert_same(plain, cloned)


def test_gcc_compiles_a_file(tmp_path):
    source = tmp_path / "sort.c"
    source.write_text(C_PROGRAM)
    # the assembly shows every decision cc1 made; it must not depend on the allocator
    plain, cloned = run_both(["gcc", "-O2", "-S", "-o", "-", str(source)], cwd=tmp_path)
    assert_same(plain, cloned)
    assert b"qsort" in cloned.stdout
    built = difftools.run(["gcc", "-O2", "-o", str(tmp_path / "sort"), str(source)],
                          preload=True, cwd=tmp_path)
    assert built.returncode == 0, built.stderr.decode(errors="replace")
    assert_same(*run_both([str(tmp_path / "sort")]))


def test_make_runs_a_makefile(tmp_path):
    (tmp_path / "Makefile").write_text(MAKEFILE)
    plain, cloned = run_both(["make", "--no-print-directory", "-s", "-C", str(tmp_path)])
    assert_same(plain, cloned)
    assert cloned.stdout.endswith(b"done 200\n"), cloned.stdout
