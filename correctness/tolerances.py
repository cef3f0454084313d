"""The calibrated thresholds of the training checks (written by `speedup calibrate`, never by
hand), and where they live.

    Source(file=None).thresholds(preset, device) -> {"heldout_loss": .., "weights": ..,
                                                      "trajectory": ..}
    Source(file=None).entry(preset, device) -> the whole calibration record (measurements,
                                               margins, ...)
    Source(file=None).identity(preset, device) -> what a record names its calibration by

Two files hold them. The shipped one, `correctness/tolerances.json` (PATH), is read-only at
run time: a developer rewrites its entries explicitly with `speedup calibrate --tolerances
correctness/tolerances.json`. The user's one, `$XDG_DATA_HOME/speedup-bench/tolerances.json`
(`~/.local/share/...` by default), takes what a user's machine calibrates: a lookup reads
both, and a user entry wins for the same preset/device. `--tolerances FILE` replaces both by
FILE, read and written alone (an empty or missing FILE holds nothing). There is no ambient
source: the command line builds one Source from --tolerances and hands it to every function
that looks thresholds up or writes them, down to the harness a Ray task runs.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

PATH = Path(__file__).with_name("tolerances.json")  # the shipped thresholds
VERSION = 1
METRICS = ("heldout_loss", "weights", "trajectory")
METRIC_DOCS = {
    "heldout_loss": "|L(cand) - L(ref)|: mean held-out loss (nats/token) of the returned "
                    "weights, evaluated by the harness with the reference model",
    "weights": "||w_cand - w_ref|| / ||w_ref - w_init||, over all parameters together",
    "trajectory": "max over steps of |loss_cand[s] - loss_ref[s]| (the reported losses)",
}


class ToleranceError(LookupError):
    """An unreadable or unwritable thresholds file (the message names it)."""


class NotCalibrated(ToleranceError):
    """No calibration for this preset and device in the source."""


def key(preset: str, device: str) -> str:
    return f"{preset}/{device}"


def user_path() -> Path:
    """Where a user's machine keeps what it calibrated (the XDG base directory rule: an
    unset or relative XDG_DATA_HOME means ~/.local/share)."""
    base = os.environ.get("XDG_DATA_HOME", "")
    root = Path(base) if os.path.isabs(base) else Path.home() / ".local" / "share"
    return root / "speedup-bench" / "tolerances.json"


def read(path: Path | None = None) -> dict:
    """One file's contents (default: the shipped file); missing or empty: no entries."""
    path = Path(path or PATH)
    empty = {"version": VERSION, "entries": {}}
    if path.is_dir():
        raise ToleranceError(f"{path} is a directory, not a tolerances file")
    try:
        text = path.read_text()
    except FileNotFoundError:
        return empty
    except OSError as e:
        raise ToleranceError(f"cannot read {path}: {e.strerror or e}") from None
    if not text.strip():
        return empty
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise ToleranceError(f"{path} is not a tolerances file (invalid JSON, line {e.lineno} "
                             f"column {e.colno}); delete it or give another --tolerances "
                             "FILE") from None
    if not isinstance(data, dict) or not isinstance(data.get("entries"), dict):
        raise ToleranceError(f"{path} is not a tolerances file (no 'entries' object); delete "
                             "it or give another --tolerances FILE")
    if data.get("version") != VERSION:
        raise ToleranceError(f"{path} has version {data.get('version')}, this code reads "
                             f"version {VERSION}; rerun `speedup calibrate`")
    return data


def entry_hash(entry: dict) -> str:
    """sha256 over the entry's canonical JSON: any change to a threshold, a measurement or
    the provenance changes it."""
    text = json.dumps(entry, sort_keys=True, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def label(identity: dict | None) -> str:
    """A calibration identity in one line, as `speedup check` and the leaderboard show it."""
    if not identity:
        return "not recorded"
    seeds = identity.get("seeds") or []
    span = (f"seed {seeds[0]}" if len(seeds) == 1 else
            f"seeds {seeds[0]}-{seeds[-1]}" if seeds else "no seeds")
    return (f"{identity['key']} {identity['hash'][7:15]} ({identity.get('device_name')}, "
            f"{identity.get('date')}, {span}; {identity.get('source')})")


@dataclass(frozen=True)
class Source:
    """Where thresholds are looked up and written: `file` alone when given, else the shipped
    file and the user's file (module docstring)."""

    file: Path | None = None

    def files(self) -> list[Path]:
        """Read in this order; a later file's entry wins."""
        return [Path(self.file)] if self.file else [PATH, user_path()]

    @property
    def target(self) -> Path:
        """Where a calibration is written."""
        return Path(self.file) if self.file else user_path()

    def describe(self) -> str:
        if self.file:
            return str(self.file)
        return f"the shipped thresholds ({PATH}) and {user_path()}"

    def find(self, preset: str, device: str) -> tuple[dict, Path]:
        """The entry and the file it came from; NotCalibrated when no file has one."""
        found = None
        for path in self.files():
            entry = read(path)["entries"].get(key(preset, device))
            if entry is not None:
                found = (entry, path)
        if found is None:
            raise NotCalibrated(
                f"no calibrated tolerances for preset {preset!r} on {device} in "
                f"{self.describe()}; run `speedup calibrate --preset {preset} --device "
                f"{device}` (on that device)")
        return found

    def entry(self, preset: str, device: str) -> dict:
        return self.find(preset, device)[0]

    def thresholds(self, preset: str, device: str) -> dict[str, float]:
        thresholds = self.entry(preset, device)["thresholds"]
        return {m: float(thresholds[m]) for m in METRICS}

    def identity(self, preset: str, device: str) -> dict:
        """What a record names the calibration that judged it by."""
        entry, path = self.find(preset, device)
        origin = ("file" if self.file else
                  "shipped" if Path(path).resolve() == PATH.resolve() else "user")
        return {"key": key(preset, device), "hash": entry_hash(entry),
                "device_name": entry.get("device_name"), "date": entry.get("date"),
                "seeds": entry.get("seeds"), "source": origin}

    def check_writable(self) -> Path:
        """The target, proven writable (its directory too: the file is replaced whole)
        before any long work starts; the user's directory is created when missing."""
        target = self.target
        if target.is_dir():
            raise ToleranceError(f"{target} is a directory, not a tolerances file")
        try:
            if not self.file:
                target.parent.mkdir(parents=True, exist_ok=True)
            elif not target.parent.is_dir():
                raise ToleranceError(f"cannot write {target}: no directory {target.parent}")
            with tempfile.TemporaryFile(dir=target.parent):
                pass
        except OSError as e:
            raise ToleranceError(f"cannot write {target}: {e.strerror or e}") from None
        read(target)  # a corrupt file is refused now, not after the calibration
        return target

    def save(self, preset: str, device: str, entry: dict) -> Path:
        """Add or replace one preset/device entry of the target, keeping the others; the
        file is replaced whole, so a reader never sees half of it."""
        target = self.check_writable()
        data = read(target)
        data["metrics"] = METRIC_DOCS
        data["entries"][key(preset, device)] = entry
        data["entries"] = dict(sorted(data["entries"].items()))
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
        try:
            with os.fdopen(fd, "w") as f:
                f.write(json.dumps(data, indent=1) + "\n")
            os.replace(tmp, target)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        return target
