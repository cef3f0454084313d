"""The thresholds file: a missing calibration says which command writes it, entries round
trip, and the committed entries are consistent with their own measurements: every admitted
legal variant passes, every cheat listed as detected is caught on every seed, and halving
the steps or skipping 5% of them is among them."""

from __future__ import annotations

import pytest

from correctness import tolerances
from correctness.tolerances import METRICS, ToleranceError

COMMITTED = [k for k in ("tiny/cpu", "cpu/cpu") if k in tolerances.read()["entries"]]


def test_missing_calibration_names_the_command(tmp_path):
    with pytest.raises(ToleranceError, match=r"speedup calibrate --preset gpu --device cuda"):
        tolerances.load("gpu", "cuda", path=tmp_path / "none.json")


def test_entries_round_trip_and_keep_each_other(tmp_path):
    path = tmp_path / "t.json"
    entry = {"thresholds": {"heldout_loss": 1.0, "weights": 2.0, "trajectory": 3.0}}
    tolerances.save_entry("tiny", "cpu", entry, path)
    tolerances.save_entry("cpu", "cpu", {"thresholds": {m: 9.0 for m in METRICS}}, path)
    assert tolerances.load("tiny", "cpu", path) == entry["thresholds"]
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
