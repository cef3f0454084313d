"""Records: one immutable, schema-versioned JSON file per official evaluation.

Two places hold them. The shipped `results/` (SHIPPED_DIR) holds the reference records
that come with the project, written by maintainers with `--results-dir results`; what a
user measures goes to their own folder, `$XDG_DATA_HOME/speedup-bench/results`
(`user_results_dir`, beside the thresholds their machine calibrated), or to --results-dir.
Each record read is marked by its source (`_source`: "shipped" or "yours"), so the
leaderboard never folds a user's record into a shipped row.

The schema and the rules are documented for readers in results/README.md; `REQUIRED`
below is what `load_records` enforces. A record is written once (mode "x": an existing
file is never overwritten) and carries its own provenance: the solution's content hash and
its archive, the device, the software versions, the project's version and git revision,
the command line, the date, the calibration that judged it and the isolation its runs had.
Records written before those fields existed read as `isolation()`, `calibration()`,
`archive()` and `refused_attempts()` say. Every record is built and written by the official
evaluation (bench/official.py), which fills every field the same way whoever asks.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import os
import re
import subprocess
from pathlib import Path

from correctness.provenance import environment
from correctness.solution import PROJECT_DIR, solution_hash

SHIPPED_DIR = PROJECT_DIR / "results"  # the reference records shipped with the project
SCHEMA_VERSION = 1
PACKAGES = ("baseline", "kernels", "correctness", "bench", "agent", "speedup")
ENTRANT_KINDS = ("reference", "submission", "human", "agent")
REQUIRED = ("schema_version", "date", "entrant", "solution_hash", "preset", "device",
            "environment", "command", "statistic", "passed", "rejected_by", "median_ratio",
            "min_ratio", "max_ratio", "inconclusive", "rounds")


class RecordError(ValueError):
    """A file in results/ that is not a valid record; the message names the file."""


def entrant_label(entrant: dict) -> str:
    """The leaderboard's name for an entrant: agents group by policy + model."""
    if entrant["kind"] == "agent":
        model = entrant.get("model")
        return f"{entrant['policy']} / {model}" if model else entrant["policy"]
    return entrant["name"]


def _check_entrant(entrant: dict) -> None:
    kind = entrant.get("kind")
    if kind not in ENTRANT_KINDS:
        raise ValueError(f"entrant kind must be one of {ENTRANT_KINDS}, got {kind!r}")
    needed = "policy" if kind == "agent" else "name"
    if not entrant.get(needed):
        raise ValueError(f"a {kind} entrant needs a {needed!r}")


def portable(path: str) -> str:
    """Relative to the working directory when inside it, so records read the same anywhere."""
    resolved = Path(path).resolve()
    try:
        return resolved.relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return str(resolved)


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9.]+", "-", text).strip("-").lower()[:40] or "entrant"


def build_record(evaluation, entrant: dict, *, command: str, roofline: dict | None,
                 archive: dict, agent: dict | None = None,
                 date: dt.datetime | None = None) -> dict:
    """The record as a dict (see results/README.md for every field); every argument is
    explicit, so no field depends on who asked (bench/official.py is the one caller)."""
    _check_entrant(entrant)
    date = date or dt.datetime.now(dt.timezone.utc)
    ev = evaluation.to_dict()
    return {
        "schema_version": SCHEMA_VERSION,
        "date": date.isoformat(timespec="seconds"),
        "command": command,
        "project": project(),
        "entrant": dict(entrant),
        "solution_dir": portable(ev.pop("solution_dir")),
        "solution_hash": solution_hash(evaluation.solution_dir),
        "archive": archive,
        "preset": ev.pop("preset"), "device": ev.pop("device"),
        "environment": environment(evaluation.device),
        **ev,
        "calibration": getattr(evaluation, "calibration", None),
        "isolation": getattr(evaluation, "isolation", "process"),
        "roofline": roofline,
        "agent": agent,
    }


@functools.cache
def project() -> dict:
    """The project that judged: its version, and where it runs from a git checkout, the
    commit and whether the project's packages differ from it (`modified`); null fields
    where there is no git (an installed wheel)."""
    from importlib import metadata

    try:
        version = metadata.version("speedup-bench")
    except metadata.PackageNotFoundError:
        version = None
    found = {"version": version, "git_revision": None, "git_modified": None}
    if not (PROJECT_DIR / ".git").exists():
        return found

    def git(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(["git", "-C", str(PROJECT_DIR), *args], capture_output=True,
                              text=True, timeout=30)

    try:
        head = git("rev-parse", "HEAD")
        diff = git("diff", "--quiet", "HEAD", "--", *PACKAGES)
    except (OSError, subprocess.TimeoutExpired):
        return found
    if head.returncode == 0:
        found["git_revision"] = head.stdout.strip()
        found["git_modified"] = diff.returncode != 0
    return found


def archive(record: dict) -> dict | None:
    """The record's archive (`solution`, and `transcript` for agents); None: written before
    records kept their code."""
    return record.get("archive")


def isolation(record: dict) -> str:
    """How the record's runs were isolated: "namespaces" or "process" (a record without the
    field predates namespaces, so its runs had process isolation only)."""
    return record.get("isolation") or "process"


def calibration(record: dict) -> dict | None:
    """The identity of the calibration that judged the record (None: not recorded)."""
    return record.get("calibration")


def refused_attempts(record: dict) -> dict[str, int] | None:
    """An agent's refused attempts during its session, by the judge's check that refused
    them (`{}`: none); None for a record without the field (not an agent's, or written
    before it)."""
    return (record.get("agent") or {}).get("refused_attempts")


def describe_refused(counts: dict[str, int]) -> str:
    """Counts by check, as `speedup agent show` and the leaderboard print them:
    'forbidden_call 1, static_scan 2'; 'none' when empty."""
    return ", ".join(f"{check} {n}" for check, n in sorted(counts.items())) or "none"


def write_record(record: dict, results_dir: str | os.PathLike) -> Path:
    """Write one new record file (build_record's) and return its path; never overwrites an
    existing one."""
    directory = Path(results_dir)
    directory.mkdir(parents=True, exist_ok=True)
    stamp = record["date"].replace("-", "").replace(":", "").split("+")[0]
    stem = (f"{stamp}_{record['preset']}_{record['device']}_"
            f"{_slug(entrant_label(record['entrant']))}_{record['solution_hash'][7:15]}")
    text = json.dumps(record, indent=1, sort_keys=False) + "\n"
    for n in range(1, 1000):
        path = directory / (f"{stem}.json" if n == 1 else f"{stem}-{n}.json")
        try:
            with open(path, "x") as f:
                f.write(text)
            return path
        except FileExistsError:
            continue
    raise RecordError(f"{directory}: 999 records named {stem}*; refusing to write more")


def validate(record: dict) -> list[str]:
    """What is wrong with a record (empty: nothing)."""
    if not isinstance(record, dict):
        return ["not a JSON object"]
    problems = [f"missing field {key!r}" for key in REQUIRED if key not in record]
    version = record.get("schema_version")
    if version != SCHEMA_VERSION:
        problems.append(f"schema_version {version!r}; this code reads {SCHEMA_VERSION}")
    try:
        _check_entrant(record.get("entrant") or {})
    except ValueError as e:
        problems.append(str(e))
    if record.get("passed") and not isinstance(record.get("median_ratio"), (int, float)):
        problems.append("a passed record needs a numeric median_ratio")
    return problems


def user_data_dir(name: str) -> Path:
    """$XDG_DATA_HOME/speedup-bench/<name>: where what a user makes goes by default (their
    records, "results"; the leaderboard's files, "leaderboard"), beside the thresholds their
    machine calibrated (correctness.tolerances.user_path, the XDG base directory rule), so
    nothing of theirs lands in a checkout."""
    from correctness.tolerances import user_path

    return user_path().parent / name


def user_results_dir() -> Path:
    """Where a user's records go unless --results-dir says otherwise."""
    return user_data_dir("results")


def source(results_dir: str | os.PathLike) -> str:
    """"shipped" for the shipped results folder, "yours" for any other."""
    shipped = Path(SHIPPED_DIR).resolve()
    return "shipped" if Path(results_dir).resolve() == shipped else "yours"


def load_sources(results_dir: str | os.PathLike) -> list[dict]:
    """The shipped records (where the project has its results folder: a checkout) and the
    ones in results_dir (the user's; the shipped folder when a maintainer names it), each
    marked by its `_source`; RecordError as load_records."""
    folders = [Path(SHIPPED_DIR), Path(results_dir)]
    if source(results_dir) == "shipped":
        folders = folders[:1]
    return [r for folder in folders if folder.is_dir() for r in load_records(folder)]


def load_records(results_dir: str | os.PathLike = SHIPPED_DIR) -> list[dict]:
    """Every record in results_dir (sorted by file name, each with its '_path' and its
    '_source'); raises RecordError naming the first file that is not valid JSON or not a
    valid record."""
    records, origin = [], source(results_dir)
    for path in sorted(Path(results_dir).glob("*.json")):
        try:
            record = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError) as e:
            raise RecordError(f"{path}: not readable JSON ({e})") from None
        problems = validate(record)
        if problems:
            raise RecordError(f"{path}: not a valid record: {'; '.join(problems)}")
        records.append({**record, "_path": str(path), "_source": origin})
    return records
