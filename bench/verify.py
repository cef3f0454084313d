"""Re-running a record: its official evaluation again, on this machine, from the files it
archived (bench/archive.py), with the record's own settings (preset, device, rounds,
repeat-self, allow_library), and the two set side by side (`speedup verify RECORD`).

Refused, before anything runs (`Unverifiable`, one line): a record written before records
kept their code (the message names what is missing), an archive that is not in the results
folder, and an archive whose files (or an agent's transcript) do not hash to what the
record says: a tampered archive is never run.

Agreement. The verdicts must be the same (both passed, or both rejected by the same check)
and, when both passed, the speedups' intervals must overlap. An evaluation's interval is its
`ratio_interval` (the Student-t 95% interval over rounds, bench/stats.py); one round has
none, so its ratio stands for the range identical code gives on one round: the ratio times
or divided by ONE_ROUND_SPREAD. A record timed on another machine, judged by another
calibration, or either evaluation contended (bench/contention.py: it claims nothing), is
compared all the same and the report says so: a speedup measured on different hardware, or
beside other work, need not carry over. A re-run that disagrees only because it could not
get a quiet machine says to verify again on a quiet one.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from bench import archive, records

if TYPE_CHECKING:
    from correctness.tolerances import Source

# The clock's quiet runs of one program vary by this factor on their own: the tiny baseline
# alone on the 2-core machine, every run under the contention threshold, took 0.818 to
# 1.087 s (bench/measurements/2026-12-07-clock-contention.json, threshold_probe).
ONE_ROUND_SPREAD = 1.087 / 0.818


class Unverifiable(Exception):
    """A record that cannot be re-run from its archive; the message says why, in one line."""


@dataclass
class Verification:
    path: Path
    record: dict
    now: dict | None  # the new evaluation's summary; None when there was nothing to time
    checks: list[dict] = field(default_factory=list)  # name, threshold, record, now
    notes: list[str] = field(default_factory=list)
    agree: bool = False
    why: str = ""


# ---------------------------------------------------------------------------- the archive

def load(path: str | Path) -> dict:
    """The record at path, checked as load_records checks one; Unverifiable otherwise."""
    try:
        record = json.loads(Path(path).read_text())
    except (OSError, ValueError) as e:
        raise Unverifiable(f"{path}: not a readable record ({e})") from None
    if problems := records.validate(record):
        raise Unverifiable(f"{path}: not a valid record: {'; '.join(problems)}")
    return record


def missing(record: dict) -> str:
    """What a record without an archive lacks, exactly."""
    lost = [f"the scored files ({record['solution_hash']}, then in {record.get('solution_dir')})"]
    agent = record.get("agent") or {}
    if agent.get("transcript_path"):
        lost.append(f"the transcript ({agent.get('transcript_sha256')}, then in "
                    f"{agent['transcript_path']})")
    return (f"it was written before records kept their code: no archive of "
            f"{' or of '.join(lost)}")


def unpack(record: dict, results_dir: Path, into: Path) -> Path:
    """The record's solution extracted into `into`, and its transcript checked; both must
    hash to what the record says. Unverifiable otherwise."""
    kept = records.archive(record)
    if not kept:
        raise Unverifiable(missing(record))
    for name, what in (("solution", "the scored files"), ("transcript", "the transcript")):
        entry = kept.get(name)
        if entry is not None and entry.get("path") is None:
            raise Unverifiable(f"not archived: {what} ({entry['hash']}): {entry['why']}")
    solution = kept["solution"]
    if solution["hash"] != record["solution_hash"]:
        raise Unverifiable(f"refused: the archive names {solution['hash']}, the record "
                           f"{record['solution_hash']}")
    try:
        if "transcript" in kept:
            archive.read_transcript(results_dir / kept["transcript"]["path"],
                                    (record.get("agent") or {}).get("transcript_sha256"))
        return archive.extract_solution(results_dir / solution["path"], into,
                                        record["solution_hash"])
    except archive.ArchiveError as e:
        raise Unverifiable(f"refused: {e}") from None


# ---------------------------------------------------------------------------- comparing

def interval(summary: dict) -> tuple[float, float] | None:
    """A passed evaluation's interval of the statistic (module docstring)."""
    if summary.get("ratio_interval"):
        low, high = summary["ratio_interval"]
        return low, high
    median = summary.get("median_ratio")
    return None if median is None else (median / ONE_ROUND_SPREAD, median * ONE_ROUND_SPREAD)


def agreement(record: dict, now: dict) -> tuple[bool, str]:
    """Whether a re-run agrees with the record, and why (module docstring)."""
    def verdict(s: dict) -> str:
        return "passed" if s.get("passed") else f"rejected by {s.get('rejected_by')}"

    if verdict(record) != verdict(now):
        return False, f"the record {verdict(record)}; now {verdict(now)}"
    if not record.get("passed"):
        return True, f"both {verdict(record)}"
    (a_low, a_high), (b_low, b_high) = interval(record), interval(now)
    if a_low <= b_high and b_low <= a_high:
        return True, "both passed and the speedups' intervals overlap"
    if now.get("contended"):
        return False, ("both passed; the speedups' intervals do not overlap, but the re-run "
                       "could not get a quiet machine, so it claims nothing: verify again on "
                       "a quiet one")
    return False, "both passed, but the speedups' intervals do not overlap"


def check_rows(record: dict, now: dict) -> list[dict]:
    """Each check of the record beside the re-run's: passed in every round, and the worst
    value over the rounds (kernel checks per declared slot)."""
    def summary(s: dict) -> dict[str, dict]:
        rows: dict[str, dict] = {}
        for slot, report in (s.get("kernel_reports") or {}).items():
            rows[f"kernels: {slot}"] = {"passed": bool(report.get("passed")), "value": None,
                                        "threshold": None}
        for rnd in s.get("rounds") or []:
            for c in rnd.get("checks") or []:
                row = rows.setdefault(c["name"], {"passed": True, "value": None,
                                                  "threshold": c.get("threshold")})
                row["passed"] = row["passed"] and bool(c["passed"])
                if isinstance(c.get("value"), (int, float)):
                    row["value"] = max(c["value"], row["value"] or c["value"])
        return rows

    old, new = summary(record), summary(now)
    return [{"name": name, "threshold": (old.get(name) or new.get(name))["threshold"],
             "record": old.get(name), "now": new.get(name)} for name in {**old, **new}]


def _notes(record: dict, now: dict) -> list[str]:
    notes = [f"{who} could not get a quiet machine (bench/contention.py): it claims nothing"
             for who, s in (("the record's evaluation", record), ("the re-run", now))
             if s.get("contended")]
    then = (record.get("timing") or {}).get("machine")
    here = (now.get("timing") or {}).get("machine")
    if then is None:
        notes.append("the record does not name the machine it was timed on")
    elif then != here:
        notes.append(f"timed on another machine ({then}; this one {here}): a speedup "
                     "measured on different hardware need not carry over")
    judged, judges = record.get("calibration") or {}, now.get("calibration") or {}
    if judged.get("hash") != judges.get("hash"):
        notes.append(f"judged by another calibration ({judged.get('hash')}; now "
                     f"{judges.get('hash')})")
    return notes


# ---------------------------------------------------------------------------- verifying

def verify(path: str | Path, *, tolerances: Source | None = None, auto_calibrate: bool = True,
           on_status: Callable[[str], None] | None = None,
           on_progress: Callable[[int, int, str], None] | None = None) -> Verification:
    """Re-run the record at path from its archive (module docstring), judged with
    `tolerances` (default Source(): the shipped thresholds and the user's), the track
    calibrated there first when it is not and `auto_calibrate`. Unverifiable before
    anything runs when it cannot be; bench.calibration.NotReady when the track cannot be
    judged here; correctness.training_check.HarnessError when the baseline fails here."""
    from bench import official
    from correctness.tolerances import Source

    path = Path(path)
    record = load(path)
    if record["device"] == "cuda":
        import torch

        if not torch.cuda.is_available():
            raise Unverifiable(f"{path} was timed on cuda, and this machine has no CUDA device")
    with tempfile.TemporaryDirectory(prefix="speedup-verify-") as tmp:
        name = Path(record.get("solution_dir") or "solution").name or "solution"
        solution = unpack(record, path.parent, Path(tmp) / name)
        if not record["rounds"]:  # an untouched baseline's score, 1.0x by definition
            return Verification(path, record, None, agree=True, why=(
                "nothing to time: the record scores the untouched baseline without a run, "
                "and its archived files are the ones it names"))
        (ev,) = official.evaluate([solution], record["preset"], record["device"],
                                  rounds=record["rounds_requested"],
                                  repeat_self=bool(record.get("self_rounds")),
                                  allow_library=bool(record["allow_library"]),
                                  tolerances=tolerances or Source(),
                                  auto_calibrate=auto_calibrate, on_status=on_status,
                                  on_progress=on_progress)
    now = ev.to_dict()
    agree, why = agreement(record, now)
    return Verification(path, record, now, check_rows(record, now), _notes(record, now),
                        agree, why)
