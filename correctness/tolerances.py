"""The calibrated thresholds of the training checks, from `tolerances.json` (written by
`speedup calibrate`, never by hand).

    load(preset, device) -> {"heldout_loss": float, "weights": float, "trajectory": float}
    load_entry(preset, device) -> the whole calibration record (measurements, margins, ...)
"""

from __future__ import annotations

import json
from pathlib import Path

PATH = Path(__file__).with_name("tolerances.json")
VERSION = 1
METRICS = ("heldout_loss", "weights", "trajectory")
METRIC_DOCS = {
    "heldout_loss": "|L(cand) - L(ref)|: mean held-out loss (nats/token) of the returned "
                    "weights, evaluated by the harness with the reference model",
    "weights": "||w_cand - w_ref|| / ||w_ref - w_init||, over all parameters together",
    "trajectory": "max over steps of |loss_cand[s] - loss_ref[s]| (the reported losses)",
}


class ToleranceError(LookupError):
    """No calibration for this preset and device (or an unreadable file)."""


def key(preset: str, device: str) -> str:
    return f"{preset}/{device}"


def read(path: Path | None = None) -> dict:
    path = path or PATH
    if not path.is_file():
        return {"version": VERSION, "entries": {}}
    data = json.loads(path.read_text())
    if data.get("version") != VERSION:
        raise ToleranceError(f"{path} has version {data.get('version')}, this code reads "
                             f"version {VERSION}; rerun `speedup calibrate`")
    return data


def load_entry(preset: str, device: str, path: Path | None = None) -> dict:
    entry = read(path)["entries"].get(key(preset, device))
    if entry is None:
        raise ToleranceError(
            f"no calibrated tolerances for preset {preset!r} on {device}; run "
            f"`speedup calibrate --preset {preset} --device {device}` (on that device)")
    return entry


def load(preset: str, device: str, path: Path | None = None) -> dict[str, float]:
    thresholds = load_entry(preset, device, path)["thresholds"]
    return {m: float(thresholds[m]) for m in METRICS}


def save_entry(preset: str, device: str, entry: dict, path: Path | None = None) -> None:
    """Add or replace one preset/device entry, keeping the others."""
    path = path or PATH
    data = read(path)
    data["metrics"] = METRIC_DOCS
    data["entries"][key(preset, device)] = entry
    data["entries"] = dict(sorted(data["entries"].items()))
    path.write_text(json.dumps(data, indent=1) + "\n")
