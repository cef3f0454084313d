"""The thresholds files: a missing calibration says which command writes it, entries round
trip, the shipped file and the user's file are read together (a user entry wins) while a
--tolerances file is read and written alone, the shipped file is never written unless named,
bad files are refused in one line, an identity names each calibration, and the committed
entries are consistent with their own measurements: every admitted legal variant passes,
every cheat listed as detected is caught on every seed, and halving the steps or skipping 5%
of them is among them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from correctness import tolerances
from correctness.tolerances import METRICS, NotCalibrated, Source, ToleranceError

COMMITTED = [k for k in ("tiny/cpu", "cpu/cpu") if k in tolerances.read()["entries"]]


def test_missing_calibration_names_the_command(tmp_path):
    with pytest.raises(ToleranceError, match=r"speedup calibrate --preset gpu --device cuda"):
        Source(tmp_path / "none.json").thresholds("gpu", "cuda")


def test_entries_round_trip_and_keep_each_other(tmp_path):
    path = tmp_path / "t.json"
    entry = {"thresholds": {"heldout_loss": 1.0, "weights": 2.0, "trajectory": 3.0}}
    Source(path).save("tiny", "cpu", entry)
    Source(path).save("cpu", "cpu", {"thresholds": {m: 9.0 for m in METRICS}})
    assert Source(path).thresholds("tiny", "cpu") == entry["thresholds"]
    assert tolerances.read(path)["version"] == tolerances.VERSION
    assert set(tolerances.read(path)["metrics"]) == set(METRICS)


def test_the_tiny_preset_is_calibrated():
    assert "tiny/cpu" in COMMITTED  # the test suite and the agent's quick check need it


@pytest.mark.parametrize("key", COMMITTED)
def test_committed_entries_agree_with_their_measurements(key):
    entry = tolerances.read()["entries"][key]
    thresholds = entry["thresholds"]
    for name in entry["admitted_legal"]:
        for m in METRICS:
            assert max(entry["legal"][name][m]) < thresholds[m], (name, m)
    for name, found in entry["detection"].items():
        values = entry["illegal"][name]
        caught = [any(values[m][i] > thresholds[m] for m in METRICS)
                  for i in range(len(entry["seeds"]))]
        assert found["detected"] == all(caught), name
    detected = [n for n, f in entry["detection"].items() if f["detected"]]
    assert {"skip_5pct", "half_steps_double_lr"} <= set(detected)
    assert entry["smallest_cheat_detected"]["variant"] in detected


def _entry(value: float, **extra) -> dict:
    return {"thresholds": {m: value for m in METRICS}, "device_name": "AMD EPYC",
            "date": "2026-01-02", "seeds": [7000, 7001], **extra}


@pytest.fixture
def shipped(tmp_path, monkeypatch):
    path = tmp_path / "shipped" / "tolerances.json"
    path.parent.mkdir()
    Source(path).save("tiny", "cpu", _entry(1.0))
    Source(path).save("cpu", "cpu", _entry(2.0))
    monkeypatch.setattr(tolerances, "PATH", path)
    return path


def test_the_user_file_is_under_xdg_data_home(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert tolerances.user_path() == tmp_path / "speedup-bench" / "tolerances.json"
    monkeypatch.delenv("XDG_DATA_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert tolerances.user_path() == (tmp_path / "home" / ".local" / "share" / "speedup-bench"
                                      / "tolerances.json")


def test_a_user_entry_wins_and_calibrations_never_write_the_shipped_file(shipped):
    before = shipped.read_bytes()
    written = Source().save("tiny", "cpu", _entry(5.0))
    assert written == tolerances.user_path() and shipped.read_bytes() == before
    assert Source().thresholds("tiny", "cpu") == {m: 5.0 for m in METRICS}  # the user's
    assert Source().thresholds("cpu", "cpu") == {m: 2.0 for m in METRICS}  # the shipped one
    assert Source().identity("tiny", "cpu")["source"] == "user"
    assert Source().identity("cpu", "cpu")["source"] == "shipped"


def test_a_tolerances_file_is_read_and_written_alone(shipped, tmp_path):
    alone = Source(tmp_path / "alone.json")
    with pytest.raises(NotCalibrated, match="alone.json"):
        alone.entry("cpu", "cpu")  # missing: nothing calibrated, the shipped file unread
    alone.file.write_text("")
    with pytest.raises(NotCalibrated):
        alone.entry("tiny", "cpu")  # empty: nothing calibrated
    alone.save("tiny", "cpu", _entry(7.0))
    assert alone.thresholds("tiny", "cpu") == {m: 7.0 for m in METRICS}
    assert not tolerances.user_path().exists()
    assert Source().thresholds("tiny", "cpu") == {m: 1.0 for m in METRICS}  # the shipped


@pytest.mark.parametrize("where", ["before", "after"])
def test_the_command_line_hands_each_command_the_source_tolerances_names(tmp_path, where):
    from speedup.cli import parse_args
    from speedup.ui import UsageError

    file = tmp_path / "mine.json"
    option = ["--tolerances", str(file)]
    argv = [*option, "calibrate"] if where == "before" else ["calibrate", *option]
    assert parse_args(argv).tolerance_source == Source(file)
    assert parse_args(["calibrate"]).tolerance_source == Source()  # shipped + the user's
    with pytest.raises(UsageError, match="is a directory"):
        parse_args(["--tolerances", str(tmp_path), "calibrate"])


@pytest.mark.parametrize("text, needle", [("{not json", "invalid JSON, line 1"),
                                          ('{"version": 1}', "no 'entries' object"),
                                          ('{"version": 9, "entries": {}}', "version 9")])
def test_a_corrupt_file_is_refused_naming_it(tmp_path, text, needle):
    bad = tmp_path / "bad.json"
    bad.write_text(text)
    with pytest.raises(ToleranceError, match=needle) as e:
        Source(bad).entry("tiny", "cpu")
    assert str(bad) in str(e.value) and "\n" not in str(e.value)


def test_an_unwritable_target_is_refused_before_any_work(tmp_path):
    with pytest.raises(ToleranceError, match="cannot write"):
        Source(Path("/proc/speedup-tolerances.json")).check_writable()
    with pytest.raises(ToleranceError, match="no directory"):
        Source(tmp_path / "missing" / "t.json").check_writable()
    with pytest.raises(ToleranceError, match="is a directory"):
        Source(tmp_path).check_writable()


def test_the_identity_names_the_entry_by_its_hash(tmp_path):
    source = Source(tmp_path / "t.json")
    source.save("tiny", "cpu", _entry(1.0))
    first = source.identity("tiny", "cpu")
    assert first == {"key": "tiny/cpu", "hash": tolerances.entry_hash(_entry(1.0)),
                     "device_name": "AMD EPYC", "date": "2026-01-02", "seeds": [7000, 7001],
                     "source": "file"}
    source.save("tiny", "cpu", _entry(1.0 + 1e-12))
    assert source.identity("tiny", "cpu")["hash"] != first["hash"]
    assert tolerances.label(first) == (f"tiny/cpu {first['hash'][7:15]} (AMD EPYC, 2026-01-02, "
                                       "seeds 7000-7001; file)")
    assert json.loads((tmp_path / "t.json").read_text())["version"] == tolerances.VERSION
