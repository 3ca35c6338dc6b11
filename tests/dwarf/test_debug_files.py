"""Split builds: a stripped library whose DWARF is in a separate debug file.

ptm-layout finds the debug file by build-id (DEBUG_DIR/.build-id/xx/rest.debug), through
.gnu_debuglink, or as named by --debug-file, and the manifest must equal the unstripped
library's.  A debug file of another build (same library, other build-id) describes another
layout, so each of the three ways must refuse it, even where .gnu_debuglink's CRC matches."""

import os
import shutil
import subprocess

import pytest

from manifests import LIBRARY, manifest_of, readelf_build_id, refusal_of


def objcopy(*argv):
    subprocess.run(["objcopy", *argv], check=True)


def same_build(a, b, unknown_to_b=()):
    """Two manifests describe the same build: everything but where the DWARF was found, and
    what `b`'s file cannot know (`unknown_to_b`)."""
    def described(manifest):
        left_out = ("file", "debug_file") + tuple(unknown_to_b)
        return {key: value for key, value in manifest.items() if key not in left_out}
    assert described(a) == described(b)


class SplitBuild:
    """In `folder`: the library's debug file, stripped copies, and an `other` build of the same
    library (its build-id changed, as a rebuild would) with its own debug file."""

    def __init__(self, folder):
        self.folder = folder
        self.build_id = readelf_build_id(LIBRARY)
        self.debug = self.path("libptmalloc.debug")
        objcopy("--only-keep-debug", LIBRARY, self.debug)
        self.bare = self.path("stripped-bare.so")
        objcopy("--strip-all", LIBRARY, self.bare)
        self.empty_root = self.path("empty-debug-root")
        os.makedirs(self.empty_root)
        other = self.path("other-build.so")
        with open(LIBRARY, "rb") as handle:
            data = handle.read()
        old = bytes.fromhex(self.build_id)
        assert data.count(old) == 1, "the build-id bytes are not unique in the file"
        with open(other, "wb") as handle:
            handle.write(data.replace(old, bytes([old[0] ^ 0xff]) + old[1:]))
        assert readelf_build_id(other) != self.build_id
        self.other_debug = self.path("other-build.debug")
        objcopy("--only-keep-debug", other, self.other_debug)

    def path(self, name):
        return os.path.join(self.folder, name)

    def debug_root_holding(self, debug_file, name):
        """A debug root whose .build-id folder holds `debug_file` under the library's build-id."""
        root = self.path(name)
        folder = os.path.join(root, ".build-id", self.build_id[:2])
        os.makedirs(folder)
        shutil.copy(debug_file, os.path.join(folder, self.build_id[2:] + ".debug"))
        return root

    def linked_to(self, debug_file, name):
        """A stripped copy whose .gnu_debuglink names `debug_file` (CRC taken from it)."""
        linked = self.path(name)
        objcopy("--strip-all", "--add-gnu-debuglink=" + debug_file, LIBRARY, linked)
        return linked


@pytest.fixture(scope="module")
def split(tmp_path_factory):
    return SplitBuild(str(tmp_path_factory.mktemp("split-build")))


@pytest.fixture(scope="module")
def original():
    return manifest_of(LIBRARY, "--check")


def test_debug_file_found_by_build_id(split, original):
    root = split.debug_root_holding(split.debug, "build-id-root")
    found = manifest_of(split.bare, "--check", "--debug-dir", root)
    same_build(original, found)
    assert found["debug_file"] == split.build_id[2:] + ".debug"


def test_debug_file_found_by_debuglink(split, original):
    linked = split.linked_to(split.debug, "stripped-linked.so")
    found = manifest_of(linked, "--check", "--debug-dir", split.empty_root)
    same_build(original, found)
    assert found["debug_file"] == "libptmalloc.debug"


def test_debug_file_named(split, original):
    same_build(original, manifest_of(split.bare, "--check", "--debug-dir", split.empty_root,
                                     "--debug-file", split.debug))


def test_debug_file_alone(split, original):
    # A debug file keeps no relocations, so it cannot say where the TLS offset slot is.
    same_build(original, manifest_of(split.debug), unknown_to_b=("tls_access",))


def test_other_builds_debug_file_refused_by_build_id(split):
    root = split.debug_root_holding(split.other_debug, "other-build-id-root")
    status, message = refusal_of(split.bare, "--debug-dir", root)
    assert status == 1 and "no DWARF" in message


def test_other_builds_debug_file_refused_through_debuglink(split):
    linked = split.linked_to(split.other_debug, "stripped-linked-other.so")
    status, message = refusal_of(linked, "--debug-dir", split.empty_root)
    assert status == 1 and "no DWARF" in message


def test_other_builds_debug_file_refused_when_named(split):
    status, message = refusal_of(split.bare, "--debug-dir", split.empty_root, "--debug-file",
                                 split.other_debug)
    assert status == 1 and "build-id" in message, message
