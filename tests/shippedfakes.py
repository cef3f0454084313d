"""A shipped results folder made the way maintainers make one (`speedup bench ...
--results-dir` the shipped folder: `results` under the folder given), with the clock faked at
the sandbox's edge (officialfakes), so its reference rows have exact speedups:
`ship(monkeypatch, folder, {"torch_native": 2.0})`. bench.records.SHIPPED_DIR points at it
for the test."""

from __future__ import annotations

from pathlib import Path

from officialfakes import use_fake_clock

from bench import records
from correctness.solution import SHIPPED_DIR as SOLUTIONS
from correctness.solution import solution_hash
from speedup.cli import main


def ship(monkeypatch, tmp_path: Path, speedups: dict[str, float], rounds: int = 1) -> Path:
    """The shipped folder, holding one reference record per solution in `speedups` (its
    directory's name under solutions/ -> its speedup over the baseline's 1 s runs)."""
    shipped = tmp_path / "results"
    monkeypatch.setattr(records, "SHIPPED_DIR", shipped)
    dirs = [SOLUTIONS / name for name in speedups]
    use_fake_clock(monkeypatch, {solution_hash(d): 1.0 / speedup
                                 for d, speedup in zip(dirs, speedups.values())})
    assert main(["bench", *map(str, dirs), "--preset", "tiny", "--device", "cpu",
                 "--rounds", str(rounds), "--results-dir", str(shipped)]) == 0
    return shipped
