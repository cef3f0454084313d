"""`speedup verify`: a record made by `speedup bench` re-runs from its archive and agrees; a
changed machine disagrees; an edited archive is refused before anything runs; a committed
record from before archives says what is missing. The clock is faked at the sandbox's edge
(tests/officialfakes.py): times follow from the files' hash, so agreement is exact here, and
everything above it (the command, the official path, the archive, the record) is real."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path

import pytest
from officialfakes import use_fake_clock

from bench import verify
from correctness.solution import SHIPPED_DIR, solution_hash
from speedup.cli import main

ROOT = Path(__file__).resolve().parents[2]
SOLUTION = SHIPPED_DIR / "torch_native"  # a reference entry; never run here (faked clock)


@pytest.fixture
def bench_record(tmp_path, monkeypatch, quick_ceilings, capsys):
    """bench_record(candidate_s) -> the record `speedup bench` writes for SOLUTION on tiny,
    one round, its runs taking candidate_s against the baseline's 1 s."""

    def make(candidate_s: float = 0.5) -> Path:
        use_fake_clock(monkeypatch, {solution_hash(SOLUTION): candidate_s})
        results = tmp_path / "results"
        assert main(["bench", str(SOLUTION), "--preset", "tiny", "--device", "cpu",
                     "--rounds", "1", "--results-dir", str(results)]) == 0
        capsys.readouterr()
        (path,) = results.glob("*.json")
        return path

    return make


def _verify(capsys, path) -> tuple[int, str, str]:
    code = main(["verify", str(path)])
    out, err = capsys.readouterr()
    return code, out, err


def test_a_record_from_speedup_bench_verifies_from_its_archive(bench_record, capsys,
                                                               monkeypatch):
    path = bench_record(0.5)
    record = json.loads(path.read_text())
    kept = record["archive"]["solution"]
    assert kept == {"path": f"solutions/{record['solution_hash'][7:]}.tar.gz",
                    "hash": record["solution_hash"]}
    assert (path.parent / kept["path"]).is_file()
    ran = use_fake_clock(monkeypatch, {solution_hash(SOLUTION): 0.5})
    code, out, err = _verify(capsys, path)
    assert code == 0, err
    candidate_runs = [d for d, h in ran if h == record["solution_hash"]]
    assert candidate_runs and all("speedup-verify-" in d for d in candidate_runs)
    assert "AGREE: both passed and the speedups' intervals overlap" in out
    assert out.count("2.000x") == 2  # the record's speedup and the re-run's, side by side
    assert "weights" in out and "losses" in out  # each check, record and now


def test_a_re_run_that_is_slower_disagrees(bench_record, capsys, monkeypatch):
    path = bench_record(0.5)
    use_fake_clock(monkeypatch, {solution_hash(SOLUTION): 1.0})  # now as slow as the baseline
    code, out, _ = _verify(capsys, path)
    assert code == 1 and "DISAGREE: both passed, but the speedups' intervals do not" in out


def test_an_edited_archive_is_refused_before_anything_runs(bench_record, capsys, monkeypatch,
                                                           tmp_path):
    path = bench_record(0.5)
    archived = path.parent / json.loads(path.read_text())["archive"]["solution"]["path"]
    edited = tmp_path / "edited"
    with tarfile.open(archived) as tar:
        tar.extractall(edited, filter="data")
    (edited / "solution.py").write_text((edited / "solution.py").read_text() + "# faster\n")
    with tarfile.open(archived, "w:gz") as tar:
        tar.add(edited / "solution.py", arcname="solution.py")
    ran = use_fake_clock(monkeypatch)
    code, out, err = _verify(capsys, path)
    assert code == 2 and ran == [] and out == ""
    assert "refused" in err and "hash to" in err and len(err.strip().splitlines()) == 1


def test_a_committed_record_without_an_archive_says_what_is_missing(capsys, monkeypatch):
    path = ROOT / "results" / "superseded" / "20261127T005830_tiny_cpu_library_2aa1e035.json"
    record = json.loads(path.read_text())
    ran = use_fake_clock(monkeypatch)
    code, _, err = _verify(capsys, path)
    assert code == 2 and ran == [] and len(err.strip().splitlines()) == 1
    assert "written before records kept their code" in err
    assert f"no archive of the scored files ({record['solution_hash']}" in err
    assert f"the transcript ({record['agent']['transcript_sha256']}" in err


@pytest.mark.parametrize("record, now, agree", [
    ({"passed": True, "median_ratio": 2.0}, {"passed": True, "median_ratio": 2.6}, True),
    ({"passed": True, "median_ratio": 2.0}, {"passed": True, "median_ratio": 3.6}, False),
    ({"passed": True, "median_ratio": 2.0, "ratio_interval": [1.9, 2.1]},
     {"passed": True, "median_ratio": 2.3, "ratio_interval": [2.2, 2.4]}, False),
    ({"passed": True, "median_ratio": 2.0, "ratio_interval": [1.8, 2.2]},
     {"passed": True, "median_ratio": 2.3, "ratio_interval": [2.1, 2.5]}, True),
    ({"passed": False, "rejected_by": "weights"}, {"passed": False, "rejected_by": "weights"},
     True),
    ({"passed": True, "median_ratio": 2.0}, {"passed": False, "rejected_by": "weights"}, False),
])
def test_agreement_is_the_same_verdict_and_overlapping_intervals(record, now, agree):
    """One round: the ratio times or divided by the spread of identical code (1.33)."""
    assert verify.agreement(record, now)[0] is agree


def test_an_untouched_baseline_score_has_nothing_to_time_and_its_archive_is_checked(
        tmp_path, monkeypatch):
    """A session that ended with no passing state scores the baseline at 1.0x without a run
    (agent/session/scoring.py): its archive is checked, and nothing runs."""
    from bench import official
    from bench.evaluation import Evaluation

    state = tmp_path / "state"
    state.mkdir()
    (state / "solution.py").write_text("def train(*a): ...\n")
    transcript = tmp_path / "transcript.jsonl"
    transcript.write_text('{"event": "start"}\n')
    ev = Evaluation(str(state), "tiny", "cpu", 0, False, passed=True, median_ratio=1.0,
                    min_ratio=1.0, max_ratio=1.0)
    entry = official.Entry(state, {"kind": "agent", "policy": "claude", "model": "m",
                                   "run_id": "r1"}, agent={"outcome": "no_passing_state"},
                           transcript=transcript)
    path = official.write(ev, entry, results_dir=tmp_path / "results", command="speedup agent")
    ran = use_fake_clock(monkeypatch)
    result = verify.verify(path)
    assert result.agree and result.now is None and ran == []
    assert "nothing to time" in result.why
    (state / "solution.py").write_text("def train(*a): return 'edited'\n")  # not the archive
    assert verify.verify(path).agree
    archived = path.parent / json.loads(path.read_text())["archive"]["solution"]["path"]
    archived.write_bytes(b"")
    with pytest.raises(verify.Unverifiable, match="refused"):
        verify.verify(path)


def test_a_contended_re_run_that_disagrees_says_to_verify_again_on_a_quiet_machine():
    record = {"passed": True, "median_ratio": 2.0}
    agree, why = verify.agreement(record, {"passed": True, "median_ratio": 11.5,
                                           "contended": True})
    assert not agree and "could not get a quiet machine" in why and "verify again" in why
