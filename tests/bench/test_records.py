"""bench.records: content hashes, immutable files, provenance, and refusing bad records."""

import json
from pathlib import Path

import pytest

from bench import records
from bench.clock import Evaluation
from correctness.solution import is_cache, solution_files, solution_hash


def _evaluation(solution_dir, passed=True, median=2.0):
    ev = Evaluation(str(solution_dir), "tiny", "cpu", rounds_requested=1, allow_library=False)
    ev.rounds = [{"round": 1, "order": "baseline,candidate", "baseline_s": 2.0,
                  "candidate_s": 2.0 / median, "ratio": median, "checks": []}]
    ev.passed = passed
    ev.rejected_by = None if passed else "weights"
    ev.median_ratio = ev.min_ratio = ev.max_ratio = median if passed else None
    return ev


def _write(ev, entrant, results_dir, command="speedup bench sol", agent=None):
    record = records.build_record(ev, entrant, command=command, roofline=None, archive=None,
                                  agent=agent)
    return records.write_record(record, results_dir)


@pytest.fixture
def solution(tmp_path):
    d = tmp_path / "sol"
    d.mkdir()
    (d / "solution.py").write_text("from .model import train\n")
    (d / "model.py").write_text("def train(): ...\n")
    return d


def test_hash_changes_with_any_edit_rename_or_new_file(solution):
    h0 = solution_hash(solution)
    assert h0.startswith("sha256:") and solution_hash(solution) == h0
    (solution / "model.py").write_text("def train():  ...\n")
    h1 = solution_hash(solution)
    (solution / "model.py").rename(solution / "model2.py")
    h2 = solution_hash(solution)
    (solution / "notes.txt").write_text("")
    h3 = solution_hash(solution)
    assert len({h0, h1, h2, h3}) == 4


def test_hash_ignores_bytecode_caches(solution):
    h0 = solution_hash(solution)
    (solution / "__pycache__").mkdir()
    (solution / "__pycache__" / "model.cpython-311.pyc").write_bytes(b"\0junk")
    assert solution_hash(solution) == h0


def test_hash_covers_exactly_the_solution_files(solution):
    """solution_files is what the hash covers and what an agent's workspace copies."""
    h0 = solution_hash(solution)
    for cache in ("stray.pyc", ".pytest_cache/v", ".hypothesis/examples/x"):
        (solution / cache).parent.mkdir(parents=True, exist_ok=True)
        (solution / cache).write_bytes(b"\0junk")
        assert is_cache(cache)
    assert solution_hash(solution) == h0
    assert [p.name for p in solution_files(solution)] == ["model.py", "solution.py"]
    assert not is_cache("pkg.pyc/model.py")  # only a file's own suffix counts


def test_record_carries_provenance(solution, tmp_path):
    path = _write(_evaluation(solution), {"kind": "reference", "name": "fast"},
                  tmp_path / "results")
    rec = json.loads(path.read_text())
    assert rec["schema_version"] == records.SCHEMA_VERSION
    assert rec["solution_hash"] == solution_hash(solution)
    assert rec["command"] == "speedup bench sol" and rec["date"].endswith("+00:00")
    env = rec["environment"]
    assert env["python"] and env["torch"] and env["cpu_model"] and "triton" in env
    assert rec["median_ratio"] == 2.0 and rec["rounds"][0]["ratio"] == 2.0
    assert records.validate(rec) == []


def test_a_record_names_the_projects_version_and_revision(solution, tmp_path):
    import subprocess

    rec = json.loads(_write(_evaluation(solution), {"kind": "reference", "name": "fast"},
                            tmp_path).read_text())
    head = subprocess.run(["git", "-C", str(Path(__file__).parents[2]), "rev-parse", "HEAD"],
                          capture_output=True, text=True).stdout.strip()
    assert rec["project"]["version"] == "0.1.0"
    assert rec["project"]["git_revision"] == head
    assert isinstance(rec["project"]["git_modified"], bool)


def test_records_are_never_overwritten(solution, tmp_path):
    ev, who = _evaluation(solution), {"kind": "reference", "name": "fast"}
    paths = [_write(ev, who, tmp_path) for _ in range(3)]
    assert len(set(paths)) == 3
    assert [r["_path"] for r in records.load_records(tmp_path)] == sorted(map(str, paths))


def test_an_agent_record_is_named_after_its_model(solution, tmp_path):
    entrant = {"kind": "agent", "policy": "claude", "model": "claude-x", "run_id": "r1"}
    path = _write(_evaluation(solution), entrant, tmp_path, agent={"dollars": 0.5})
    assert json.loads(path.read_text())["agent"]["dollars"] == 0.5 and "claude-x" in path.name


@pytest.mark.parametrize("entrant", [{"kind": "robot", "name": "x"}, {"kind": "agent"},
                                     {"kind": "reference"}])
def test_entrant_must_say_who(solution, tmp_path, entrant):
    with pytest.raises(ValueError):
        _write(_evaluation(solution), entrant, tmp_path)


def test_load_names_the_bad_file(solution, tmp_path):
    _write(_evaluation(solution), {"kind": "reference", "name": "a"}, tmp_path)
    (tmp_path / "zz-broken.json").write_text("{not json")
    with pytest.raises(records.RecordError, match="zz-broken.json"):
        records.load_records(tmp_path)
    (tmp_path / "zz-broken.json").write_text(json.dumps({"schema_version": 99}))
    with pytest.raises(records.RecordError, match="schema_version 99"):
        records.load_records(tmp_path)


def test_a_record_names_its_calibration_and_isolation(solution, tmp_path):
    ev = _evaluation(solution)
    ev.calibration = {"key": "tiny/cpu", "hash": "sha256:" + "ab" * 32, "device_name": "AMD EPYC",
                      "date": "2026-01-02", "seeds": [7000], "source": "user"}
    ev.isolation = "namespaces"
    rec = json.loads(_write(ev, {"kind": "reference", "name": "a"}, tmp_path).read_text())
    assert records.calibration(rec) == ev.calibration
    assert records.isolation(rec) == "namespaces" and records.validate(rec) == []


def test_records_without_those_fields_still_load():
    committed = records.load_records(Path(__file__).parents[2] / "results" / "superseded")
    old = [r for r in committed if "isolation" not in r]
    assert old, "the superseded records predate the fields"
    assert {records.isolation(r) for r in old} == {"process"}
    assert all(records.calibration(r) is None for r in old)


def test_the_evaluation_carries_the_calibration_that_judged_it(dirs, tmp_path):
    from clockfakes import WorkCountRunner, train_baseline
    from officialfakes import exact_checks

    from bench import clock
    from correctness import tolerances

    source = tolerances.Source(tmp_path / "cal.json")
    source.save("tiny", "cpu", {"thresholds": {m: 1.0 for m in tolerances.METRICS},
                                "device_name": "AMD EPYC", "date": "2026-01-02", "seeds": [1]})
    runner = WorkCountRunner({dirs["baseline"]: train_baseline,
                              dirs["candidate"]: train_baseline})
    common = dict(rounds=1, warmup=False, runner=runner, baseline_dir=dirs["baseline"],
                  kernel_check=lambda *a: {})
    ev = clock.official_evaluation(dirs["candidate"], "tiny", "cpu", tolerances=source, **common)
    assert ev.calibration == source.identity("tiny", "cpu")
    assert clock.official_evaluation(dirs["candidate"], "tiny", "cpu", judge=exact_checks,
                          **common).calibration is None  # an injected judge names none
