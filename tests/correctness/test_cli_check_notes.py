"""`speedup check` shows what the judge left out of a run (RunResult.notes), one line each:
a solution's compile cache holds what a warm-up of it wrote, and what its runs' private
copies leave out changes what those runs do, so the person judging it is told."""

from __future__ import annotations

import os

import pytest

from correctness.sandbox import caches
from speedup.cli import main

pytestmark = pytest.mark.slow  # a long integration test (pyproject.toml)


def test_check_prints_each_note_of_the_candidates_run_on_one_clean_line(tmp_path, monkeypatch,
                                                                          capsys):
    solution = tmp_path / "solution"
    solution.mkdir()
    (solution / "solution.py").write_text("from baseline.train import train  # noqa: F401\n")
    monkeypatch.setattr(caches, "CACHE_ROOT", tmp_path / "cache-root")
    triton = caches.cache_dir(solution) / "triton"
    triton.mkdir(parents=True)
    os.symlink("/etc/passwd", triton / "evil\x1b]0;owned\x07")  # a name a warm-up chose
    assert main(["check", str(solution), "--preset", "tiny", "--device", "cpu"]) == 0
    out = capsys.readouterr().out
    notes = [line for line in out.splitlines() if line.startswith("note: ")]
    assert notes == ["note: the candidate's run: compile cache triton/evil: skipped (evil "
                     "cannot be opened: a symlink)"]
    assert "\x1b" not in out and "\x07" not in out
