"""In a set-user-id program (AT_SECURE) glibc 2.36 applies none of the malloc tunables nor their
MALLOC_*_ aliases.  secure_probe shows the effect of top_pad and perturb from outside; it is built
against glibc and with the clone linked in statically (LD_PRELOAD does not reach set-id programs),
and both copies are run plain and as set-user-id "nobody"."""
import os
import shutil
import subprocess

import pytest

from conftest import PROGRAMS, RUN_TIMEOUT

NOBODY = 65534
ENVIRONMENTS = {
    "tunables": {"GLIBC_TUNABLES": "glibc.malloc.top_pad=0:glibc.malloc.perturb=51"},
    "aliases": {"MALLOC_TOP_PAD_": "0", "MALLOC_PERTURB_": "51"},
}


@pytest.fixture(scope="module")
def probes(tmp_path_factory):
    if os.geteuid() != 0:
        pytest.skip("making a set-user-id test program needs root")
    directory = tmp_path_factory.mktemp("secure")
    if os.statvfs(directory).f_flag & os.ST_NOSUID:
        pytest.skip(f"{directory} is mounted nosuid")
    os.chmod(directory, 0o755)
    copies = {}
    for library, name in (("glibc", "secure_probe"), ("clone", "secure_probe_clone")):
        plain = directory / name
        setuid = directory / (name + "_setuid")
        shutil.copy(PROGRAMS / name, plain)
        shutil.copy(PROGRAMS / name, setuid)
        os.chown(setuid, NOBODY, -1)
        os.chmod(setuid, 0o4755)
        copies[library] = {"plain": plain, "setuid": setuid}
    return copies


def observe(program, environment):
    result = subprocess.run([str(program)], env=dict(environment, PATH="/usr/bin:/bin"),
                            capture_output=True, text=True, timeout=RUN_TIMEOUT, check=False)
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.mark.parametrize("environment", ENVIRONMENTS)
def test_set_id_programs_ignore_malloc_tunables_like_glibc(probes, environment):
    env = ENVIRONMENTS[environment]
    seen = {(library, mode): observe(probes[library][mode], env)
            for library in probes for mode in ("plain", "setuid")}
    assert seen["clone", "plain"] == seen["glibc", "plain"]
    assert seen["clone", "setuid"] == seen["glibc", "setuid"]
    # The settings must visibly matter, or the comparison above proves nothing.
    assert seen["glibc", "plain"] != seen["glibc", "setuid"]
