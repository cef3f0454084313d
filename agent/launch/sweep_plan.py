"""What a sweep will do: one run per (model, run index), each with a run id that the same
request always gives (`sweep_run_id`), so the same command run again finds its runs under
--runs-dir and knows, per run, whether it is finished, to be resumed, or new (`plan`).

No Ray here: agent/launch/sweep.py runs the plan.

- finished: runs/<id>/record.json exists, or a record in the results folder names the run
  (scored, then killed before record.json was written: it is marked finished, never scored
  again);
- resume: its transcript has a start event; it continues from its last complete turn
  (agent/session/resume.py). A transcript started with other settings than the ones asked for now
  is refused (SweepError): the same run id would otherwise mean two different runs;
- new: anything else; a directory left by a start killed before its first event (no start
  event to resume from) is removed first.
"""

from __future__ import annotations

import dataclasses
import json
import re
from dataclasses import dataclass
from pathlib import Path

from agent.session.resume import ResumeError, read_start
from agent.session.run_config import RunConfig
from agent.session.run_dir import RunDir

DEFAULT_RUNS = 3  # runs per model: the published statistic is an average over runs


class SweepError(Exception):
    """A sweep that cannot run as asked; the message says what to change."""


@dataclass(frozen=True)
class PlannedRun:
    config: RunConfig
    index: int  # 1-based, per model
    status: str  # finished | resume | new
    record: str | None = None  # the finished run's record

    @property
    def run_id(self) -> str:
        return self.config.run_id


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9.]+", "-", text).strip("-").lower()


def sweep_run_id(policy: str, model: str | None, preset: str, device: str, index: int) -> str:
    """'sweep-<policy>[-<model>]-<preset>-<device>-<index, 2 digits>': the same for the same
    request, so a sweep run again finds its runs."""
    parts = ["sweep", policy, *([_slug(model)] if model else []), preset, device]
    return "-".join(parts) + f"-{index:02d}"


def _comparable(config: RunConfig) -> dict:
    return {k: v for k, v in config.to_dict().items() if k != "run_id"}


def _recorded_runs(results_dir: Path) -> dict[str, str]:
    """run id -> record file, for every agent record in results_dir that names one (files
    that are not records are skipped: the leaderboard, not the sweep, refuses them)."""
    found = {}
    for path in sorted(results_dir.glob("*.json")):
        try:
            run_id = (json.loads(path.read_text()).get("entrant") or {}).get("run_id")
        except (OSError, ValueError, AttributeError):
            continue
        if run_id:
            found.setdefault(run_id, str(path))
    return found


def run_status(runs_dir: Path, config: RunConfig,
               recorded: dict[str, str] | None = None) -> tuple[str, str | None]:
    """(status, record) of one run now (module docstring); SweepError when its transcript
    was started with other settings."""
    run_dir = RunDir.of(runs_dir, config.run_id)
    record = run_dir.record()
    if record is not None:
        return "finished", record
    if recorded is None:
        recorded = _recorded_runs(Path(config.results_dir))
    if config.run_id in recorded:
        return "finished", recorded[config.run_id]
    try:
        start = read_start(run_dir)
    except ResumeError:
        return "new", None
    if _comparable(RunConfig.from_dict(start["config"])) != _comparable(config):
        differ = sorted(k for k, v in _comparable(config).items()
                        if start["config"].get(k) != v)
        raise SweepError(f"run {config.run_id} in {runs_dir} was started with other settings "
                         f"({', '.join(differ)} differ); rerun with those settings to resume "
                         f"it, or give another --runs-dir for a new sweep")
    return "resume", None


def plan(configs: list[RunConfig], runs: int, runs_dir: str | Path) -> list[PlannedRun]:
    """Every (model, run index) of the sweep with its status: `configs` holds one config
    per model, in the order given (their run ids are replaced by the sweep's)."""
    if runs < 1:
        raise SweepError(f"--runs must be at least 1, got {runs}")
    models = [c.model for c in configs]
    if len(set(models)) != len(models):
        raise SweepError(f"--models lists a model twice: {', '.join(map(str, models))}")
    runs_dir = Path(runs_dir)
    recorded: dict[str, str] = {}
    for results_dir in sorted({c.results_dir for c in configs}):
        recorded.update(_recorded_runs(Path(results_dir)))
    planned = []
    for base in configs:
        for index in range(1, runs + 1):
            run_id = sweep_run_id(base.policy, base.model, base.preset, base.device, index)
            config = dataclasses.replace(base, run_id=run_id)
            status, record = run_status(runs_dir, config, recorded)
            planned.append(PlannedRun(config, index, status, record))
    return planned
