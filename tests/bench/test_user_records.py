"""A user's records apart from the shipped ones. What a user measures goes to their data
directory ($XDG_DATA_HOME/speedup-bench/results) or to --results-dir, never into the shipped
results/, which holds the reference records maintainers write with `--results-dir results`;
the leaderboard reads both, marks every row by source, and a user's records of a shipped
entrant make a row of their own. Every test runs in a folder whose results/ is the shipped
one, as in a clone; the clock is faked at the sandbox's edge (officialfakes), the commands,
records and leaderboard are real."""

from __future__ import annotations

import itertools
import json

import pytest
from shippedfakes import ship

from bench import clock
from correctness.solution import SHIPPED_DIR as SOLUTIONS
from correctness.solution import solution_hash
from speedup.cli import main

TINY = ["--preset", "tiny", "--device", "cpu"]


@pytest.fixture
def clone(tmp_path, monkeypatch, quick_ceilings, capsys):
    """clone(speedups) -> the shipped results/ of a clone in tmp_path, the working
    directory; the user's data directory is tmp_path/data."""

    def make(speedups: dict[str, float], rounds: int = 1):
        (tmp_path / "clone").mkdir()
        shipped = ship(monkeypatch, tmp_path / "clone", speedups, rounds=rounds)
        monkeypatch.chdir(tmp_path / "clone")
        monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
        capsys.readouterr()
        return shipped

    return make


def _noisy(monkeypatch, name: str, seconds: list[float]) -> None:
    """The runs of solutions/<name> take `seconds` in turn: a loaded, noisy machine."""
    digest, times, made = solution_hash(SOLUTIONS / name), itertools.cycle(seconds), \
        clock._default_runner

    def runner_for(preset):
        run = made(preset)

        def runner(solution_dir, *args, **kw):
            result = run(solution_dir, *args, **kw)
            if solution_hash(solution_dir) == digest:
                result.seconds = next(times)
            return result

        return runner

    monkeypatch.setattr(clock, "_default_runner", runner_for)


def _board(capsys, *args: str) -> dict:
    capsys.readouterr()
    assert main(["leaderboard", "--json", *args]) == 0
    return json.loads(capsys.readouterr().out)


def _rows(board: dict, label: str) -> list[dict]:
    (tiny,) = [t for t in board["tracks"] if t["preset"] == "tiny"]
    return [r for r in (*tiny["rows"], *tiny["unconfined"]) if r["label"] == label]


def _files(folder) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def test_a_users_noisy_bench_leaves_the_shipped_row_unchanged(clone, monkeypatch, capsys,
                                                             tmp_path):
    """The issue's example: one noisy `speedup bench` of cpu_expert, then the leaderboard."""
    shipped = clone({"cpu_expert": 2.5}, rounds=3)
    (before,) = _rows(_board(capsys), "cpu_expert")
    kept = _files(shipped)
    _noisy(monkeypatch, "cpu_expert", [0.9, 0.3, 0.6, 1.4])
    assert main(["bench", str(SOLUTIONS / "cpu_expert"), *TINY, "--rounds", "3"]) == 0
    assert _files(shipped) == kept  # nothing of the user's in the shipped folder
    rows = _rows(_board(capsys), "cpu_expert")
    (theirs,) = [r for r in rows if r["source"] == "shipped"]
    (mine,) = [r for r in rows if r["source"] == "yours"]
    assert theirs == before and before["source"] == "shipped"
    assert theirs["best"] == pytest.approx(2.5) and theirs["records"] == 1
    assert mine["records"] == 1 and mine["best"] != pytest.approx(2.5)


def test_records_go_to_the_user_data_directory_by_default(clone, capsys, tmp_path):
    shipped = clone({"torch_native": 2.0})
    kept = _files(shipped)
    assert main(["bench", str(SOLUTIONS / "torch_native"), *TINY, "--rounds", "1"]) == 0
    (record,) = (tmp_path / "data" / "speedup-bench" / "results").glob("*.json")
    assert f"wrote {record}" in capsys.readouterr().out
    assert _files(shipped) == kept
    with pytest.raises(SystemExit):
        main(["bench", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "$XDG_DATA_HOME/speedup-bench/results" in text
    assert "--results-dir results" in text and "reference records" in text


def test_results_dir_still_chooses_where_the_record_goes(clone, capsys, tmp_path):
    shipped = clone({"torch_native": 2.0})
    mine = tmp_path / "mine"
    assert main(["bench", str(SOLUTIONS / "torch_native"), *TINY, "--rounds", "1",
                 "--results-dir", str(mine)]) == 0
    (record,) = mine.glob("*.json")
    assert not (tmp_path / "data" / "speedup-bench" / "results").exists()
    assert len(list(shipped.glob("*.json"))) == 1
    rows = _rows(_board(capsys, "--results-dir", str(mine)), "torch_native")
    assert sorted(r["source"] for r in rows) == ["shipped", "yours"]


def test_the_leaderboard_shows_both_sources_marked_and_writes_outside_the_clone(
        clone, monkeypatch, capsys, tmp_path):
    clone({"torch_native": 2.0, "cpu_expert": 4.0})
    _noisy(monkeypatch, "torch_native", [0.8])  # 1.25x on the user's machine
    assert main(["bench", str(SOLUTIONS / "torch_native"), *TINY, "--rounds", "1"]) == 0
    capsys.readouterr()
    assert main(["leaderboard"]) == 0
    out = capsys.readouterr().out
    assert "top cpu_expert 4.00x (shipped)" in out
    board = tmp_path / "data" / "speedup-bench" / "leaderboard"
    assert f"wrote {board / 'leaderboard.md'}" in out
    assert not list((tmp_path / "clone").glob("leaderboard.*"))  # nothing in the clone
    table = (board / "leaderboard.md").read_text()
    header = next(line for line in table.splitlines() if line.startswith("| rank |"))
    source = [c.strip() for c in header.split("|")].index("source")
    cells = {}
    for line in table.splitlines():
        row = [c.strip() for c in line.split("|")]
        if len(row) > source and row[2] in ("torch_native", "cpu_expert"):
            cells.setdefault(row[2], []).append((row[source], row[4].split("x")[0]))
    assert sorted(cells["torch_native"]) == [("shipped", "2.00"), ("yours", "1.25")]
    assert cells["cpu_expert"] == [("shipped", "4.00")]
    assert "<td>yours</td>" in (board / "leaderboard.html").read_text()


def test_a_new_user_sees_the_shipped_rows_and_a_named_folder_must_exist(clone, capsys,
                                                                       tmp_path):
    clone({"torch_native": 2.0})  # nothing measured yet: no folder of the user's
    rows = _rows(_board(capsys), "torch_native")
    assert [r["source"] for r in rows] == ["shipped"]
    assert main(["leaderboard", "--results-dir", str(tmp_path / "typo")]) == 2
    assert "no results folder" in capsys.readouterr().err
