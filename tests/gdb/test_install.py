"""`make install` in a scratch prefix: gdb has the heap commands with no flag, no `source` and no
warning, for a program built with `pkg-config ptmalloc` (which runs as built, through its rpath)
and for a glibc program; the installed ptmalloc-audit works; `make uninstall` leaves no file; a
DESTDIR install names the final prefix only.

gdb runs its system gdbinit folder's files at start-up; here `-nx -ix FILE` runs the installed
file the same way, since the test must not write the machine's /etc/gdb/gdbinit.d."""

import os
import subprocess

import pytest

from conftest import BUILD, GDB, REPO, TIMEOUT, binary, gdb_available, require_variant

SAMPLE = os.path.join(REPO, "samples", "known", "every_bin.c")


def _make(*arguments):
    environment = {name: value for name, value in os.environ.items()
                   if name not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS", "MAKEOVERRIDES")}
    result = subprocess.run(["make", "--no-print-directory", "-C", REPO] + list(arguments),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            timeout=TIMEOUT, env=environment)
    assert result.returncode == 0, result.stdout[-3000:]
    return result.stdout


def _files(root):
    return sorted(os.path.relpath(os.path.join(folder, name), root)
                  for folder, _dirs, names in os.walk(root) for name in names)


def _gdb(gdbinit, program, record, cwd):
    argv = [GDB, "-nx", "-q", "-batch", "-ix", gdbinit, "-ex", "set style enabled off",
            "-ex", "file " + program, "-ex", "break sample_checkpoint", "-ex", "run " + record,
            "-ex", "heap top", "-ex", "info sharedlibrary"]
    return subprocess.run(argv, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, timeout=TIMEOUT).stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    if not gdb_available():
        pytest.skip("gdb is not installed")
    require_variant("linked")
    scratch = tmp_path_factory.mktemp("install")
    prefix = str(scratch / "prefix")
    gdbinit_dir = str(scratch / "gdbinit.d")
    variables = ["PREFIX=" + prefix, "GDBINITDIR=" + gdbinit_dir]
    output = _make("install", *variables)
    # Not gdb's own folder: make install says how to load it.
    assert "source %s/ptmalloc.gdb" % gdbinit_dir in output
    yield scratch, prefix, gdbinit_dir, variables


def test_installed_files_and_pkg_config_program_runs(installed):
    scratch, prefix, gdbinit_dir, _variables = installed
    files = _files(prefix)
    for expected in ("lib/libptmalloc.so", "lib/libptmalloc.a", "lib/pkgconfig/ptmalloc.pc",
                     "bin/ptm-layout", "bin/ptmalloc-audit", "include/ptmalloc.h",
                     "share/ptmalloc/gdb/ptmalloc-gdb.py", "share/ptmalloc/gdb/audit_live.py"):
        assert expected in files
    with open(os.path.join(gdbinit_dir, "ptmalloc.gdb"), encoding="utf-8") as handle:
        assert "source %s/share/ptmalloc/gdb/ptmalloc-gdb.py" % prefix in handle.read()
    flags = subprocess.run(["pkg-config", "--cflags", "--libs", "ptmalloc"], check=True,
                           stdout=subprocess.PIPE, text=True,
                           env=dict(os.environ, PKG_CONFIG_PATH=prefix + "/lib/pkgconfig")).stdout
    assert "-Wl,-rpath," + prefix + "/lib" in flags
    program = str(scratch / "every_bin-pc")
    subprocess.run(["gcc", "-g", "-pthread", "-I", os.path.join(REPO, "samples", "known"), SAMPLE,
                    "-o", program] + flags.split(), check=True)
    # Runs as built: the rpath finds the installed library, no LD_LIBRARY_PATH needed.
    libraries = subprocess.run(["ldd", program], stdout=subprocess.PIPE, text=True).stdout
    assert prefix + "/lib/libptmalloc.so" in libraries, libraries


@pytest.mark.parametrize("which", ["pkg-config", "glibc"])
def test_gdb_loads_the_installed_extension_without_warning(installed, which):
    scratch, prefix, gdbinit_dir, _variables = installed
    if which == "pkg-config":
        program = str(scratch / "every_bin-pc")
        if not os.path.exists(program):
            pytest.skip("built by test_installed_files_and_pkg_config_program_runs")
    else:
        program = binary("every_bin", "glibc")
    output = _gdb(os.path.join(gdbinit_dir, "ptmalloc.gdb"), program, str(scratch / "r.txt"),
                  str(scratch))
    assert "main_arena 0x" in output and ": top 0x" in output, output[-2000:]
    assert "warning" not in output.lower(), output[-2000:]
    assert "Undefined command" not in output
    if which == "pkg-config":
        assert prefix + "/lib/libptmalloc.so" in output


def test_installed_audit_tool_runs(installed):
    scratch, prefix, _gdbinit_dir, _variables = installed
    program = os.path.join(REPO, "tests", "audit", "programs", "unused_parameter.c")
    result = subprocess.run([os.path.join(prefix, "bin", "ptmalloc-audit"), "--report-dir",
                             str(scratch / "report"), program], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, timeout=TIMEOUT)
    assert result.returncode == 0, result.stdout
    assert "1 passed" in result.stdout


def test_uninstall_leaves_no_file(installed):
    scratch, prefix, gdbinit_dir, variables = installed
    _make("uninstall", *variables)
    assert _files(prefix) == [] and _files(gdbinit_dir) == []


def test_destdir_install_names_the_final_prefix(tmp_path):
    """The default PREFIX (/usr/local) staged: ptmalloc.gdb goes to gdb's own gdbinit folder."""
    stage = str(tmp_path / "stage")
    output = _make("install", "DESTDIR=" + stage)
    assert "note:" not in output
    files = _files(stage)
    configured = subprocess.run([GDB, "-nx", "-batch", "--configuration"], stdout=subprocess.PIPE,
                                text=True).stdout
    gdbinit = "etc/gdb/gdbinit.d/ptmalloc.gdb"
    if "--with-system-gdbinit-dir=/etc/gdb/gdbinit.d" in configured:
        assert gdbinit in files
    assert "usr/local/lib/libptmalloc.so" in files and "usr/local/bin/ptmalloc-audit" in files
    for name in files:
        with open(os.path.join(stage, name), "rb") as handle:
            assert stage.encode() not in handle.read(), name
    with open(os.path.join(stage, "usr/local/bin/ptmalloc-audit"), encoding="utf-8") as handle:
        assert 'SHAREDIR = "/usr/local/share/ptmalloc"' in handle.read()
    _make("uninstall", "DESTDIR=" + stage)
    assert _files(stage) == []


@pytest.mark.parametrize("variant", ["linked", "static", "preload"])
def test_checkout_needs_one_line(tmp_path, variant):
    """From a checkout: `-iex 'source gdb/ptmalloc-gdb.py'` (or that line in ~/.gdbinit), and
    the clone's .debug_gdb_scripts entry then finds the loader: no warning, whether the program
    is linked with the clone, statically or has it preloaded."""
    require_variant(variant)
    argv = [GDB, "-nx", "-q", "-batch", "-iex", "source " + os.path.join(REPO, "gdb",
                                                                          "ptmalloc-gdb.py")]
    if variant == "preload":
        argv += ["-ex", "set environment LD_PRELOAD " + os.path.join(BUILD, "libptmalloc.so")]
    argv += ["-ex", "file " + binary("every_bin", variant), "-ex", "break sample_checkpoint",
            "-ex", "run " + str(tmp_path / "r.txt"), "-ex", "heap top"]
    output = subprocess.run(argv, cwd=str(tmp_path), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, timeout=TIMEOUT).stdout
    assert "main_arena 0x" in output, output[-2000:]
    assert "warning" not in output.lower(), output[-2000:]
