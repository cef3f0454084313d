"""Many agent runs at once: every (model, run) an agent session in a Ray task, on an
embedded Ray (default) or the cluster at --address. Every timed section (run_bench, the
official evaluation, calibration, the ceiling) holds its device's timing lease, so no two
timed runs share a GPU or a CPU; API waits, edits and untimed checks run in parallel. One
display shows every run's state, turns, dollars and best speedup so far; the leaderboard
is rendered at the end.

A killed sweep resumes with the same command: runs are named by policy, model, track and
index under --runs-dir, so finished runs are skipped and unfinished ones continue from
their transcripts. Needs `pip install '.[sweep]'` (Ray). Examples:

    speedup sweep --policy library --runs 2 --preset tiny
    speedup sweep --policy claude --models claude-sonnet-5-5,claude-opus-4-6 --runs 5 \\
        --max-dollars 5
    speedup sweep --policy replay --replay runs/<id>/transcript.jsonl --runs 2
    speedup sweep --policy claude --runs 8 --address ray://head:10001
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import time
from collections.abc import Iterator

HELP = "many agent runs (models x runs) as Ray tasks, every timed run alone on its device"


def add_arguments(p: argparse.ArgumentParser) -> None:
    from agent.launch.sweep_plan import DEFAULT_RUNS
    from speedup.commands.agent import add_session_arguments
    from speedup.ui import int_arg

    add_session_arguments(p, default_policy="claude")
    g = p.add_argument_group("sweep")
    g.add_argument("--models", default=None, metavar="A,B,...",
                   help="Claude models, comma-separated (default: --model's); one session "
                        "per model and run")
    g.add_argument("--runs", type=int_arg("--runs", 1), default=DEFAULT_RUNS,
                   help=f"runs per model (default {DEFAULT_RUNS}); a larger N later adds runs")
    g.add_argument("--address", default=None, metavar="ADDR",
                   help="join this Ray cluster (e.g. ray://head:10001 or auto) instead of "
                        "embedding Ray here")
    g.add_argument("--parallel", type=int_arg("--parallel", 1), default=None, metavar="N",
                   help="at most N sessions at once (default: every run at once)")
    g.add_argument("--exclusive", action=argparse.BooleanOptionalAction, default=None,
                   help="untimed runs of a solution (run_check, run_python, profile) take "
                        "the lease too, so a timed run shares its device with nothing the "
                        "sweep runs (default: on a CPU, whose cores are the device; beside "
                        "the timed runs on CUDA)")


def _models(args: argparse.Namespace) -> list[str | None]:
    from agent.launch.build import DEFAULT_MODEL
    from speedup.ui import UsageError

    if args.policy != "claude":
        if args.models:
            raise UsageError(f"--models is for --policy claude; the {args.policy} policy "
                             "has no model to choose")
        return [None]  # the policy's own (replay: the transcript's)
    models = [m.strip() for m in (args.models or args.model or DEFAULT_MODEL).split(",")]
    if not all(models):
        raise UsageError(f"--models {args.models!r} has an empty name")
    return models


@contextlib.contextmanager
def _config_errors() -> Iterator[None]:
    """What agent/ cannot build is the command's one-line usage error."""
    from agent.launch.build import ConfigError
    from speedup.ui import UsageError

    try:
        yield
    except ConfigError as e:
        raise UsageError(str(e)) from None


def _configs(args: argparse.Namespace, preset: str, device: str) -> list:
    """One RunConfig per model, from the same options `speedup agent` takes (every option
    agent.launch.build.build_config accepts is passed on as given)."""
    import dataclasses
    import inspect

    from agent.launch import build
    from agent.session.budget import Budgets

    fixed = {"policy", "preset", "device", "model", "limits", "results_dir"}
    options = {name: getattr(args, name)
               for name in inspect.signature(build.build_config).parameters
               if name not in fixed and hasattr(args, name)}
    limits = {f.name: getattr(args, f.name) for f in dataclasses.fields(Budgets)}
    configs = []
    with _config_errors():
        for model in _models(args):
            configs.append(build.build_config(
                args.policy, preset=preset, device=device, model=model, limits=limits,
                results_dir=args.results_dir, **options))
        build.make_policy(configs[0], args.max_retries)  # a missing API key, before Ray
    return configs


def _leased_preparation(preset: str, device: str, auto: bool, tolerances) -> None:
    """The sessions' tracks made ready once, before they start (the project harness's
    `prepare`: calibration, and the ceilings, where missing); that is timed work too, so
    it runs under the lease, in a Ray task, whose lines Ray shows here."""
    from agent.launch import project_harness
    from agent.launch.lease import Lease
    from bench.calibration import NotReady
    from speedup.ui import UsageError, console

    console.print(f"{preset}/{device}: its calibration and ceilings, found or made under the "
                  "timing lease", markup=False)
    try:
        harness = project_harness.ProjectHarness(tolerances=tolerances)
        Lease(device).run(harness.prepare, preset, device, auto=auto, on_status=_line,
                          label="calibration and ceilings")
    except NotReady as e:
        raise UsageError(str(e)) from None


def _line(text: str) -> None:
    """A line on stderr, from wherever it runs (a Ray task's reach the driver)."""
    print(text, file=sys.stderr, flush=True)


def run(args: argparse.Namespace) -> int:
    import torch

    from agent.launch.lease import LeaseError, Threads, exclusive_default, require_ray
    from agent.launch.sweep import connect, run_sweep
    from agent.launch.sweep_plan import SweepError, plan
    from speedup.commands.leaderboard import publish
    from speedup.ui import UsageError, announce_isolation, console, preset_and_device, writable_dir

    try:
        ray = require_ray()
    except LeaseError as e:
        raise UsageError(str(e)) from None
    preset, device = preset_and_device(args.preset, args.device)
    configs = _configs(args, preset, device)
    writable_dir(args.runs_dir)
    writable_dir(args.results_dir)
    try:
        planned = plan(configs, args.runs, args.runs_dir)
        line, ours = connect(args.address, device)
    except SweepError as e:
        raise UsageError(str(e)) from None
    console.print(line, markup=False)
    started = time.monotonic()
    try:
        _leased_preparation(preset, device, not getattr(args, "no_auto_calibrate", False),
                            args.tolerance_source)
        announce_isolation()
        board = _watch(planned, lambda update: run_sweep(
            planned, args.runs_dir, max_parallel=args.parallel, on_update=update,
            tolerances=args.tolerance_source,
            exclusive=exclusive_default(device) if args.exclusive is None else args.exclusive,
            threads=Threads(torch_threads=torch.get_num_threads())))
    finally:
        if ours:
            ray.shutdown()
    failed = _summary(board, time.monotonic() - started)
    code = publish(args.results_dir, args.out)
    return 1 if failed else code


def _counts(planned) -> str:
    n = {s: sum(p.status == s for p in planned) for s in ("finished", "resume", "new")}
    return (f"{len(planned)} runs: {n['finished']} finished before, {n['resume']} to resume, "
            f"{n['new']} new")


def _watch(planned, go):
    """Run `go(on_update)` under the display: a live table on a terminal, else a line per
    change of a run's state (a log)."""
    from rich.live import Live

    from speedup.ui import console

    console.print(f"sweep: {_counts(planned)}", markup=False)
    if not sys.stderr.isatty():
        seen: dict[str, tuple] = {}
        return go(lambda board: [console.print(line, markup=False)
                                 for line in changes(seen, board)])
    with Live(console=console, refresh_per_second=2) as live:
        return go(lambda board: live.update(table(board)))


def _summary(board: dict[str, dict], wall_s: float) -> int:
    from speedup.ui import console, out

    out.print(table(board))
    failed = [run_id for run_id, v in board.items() if v.get("state") == "failed"]
    for run_id in failed:
        console.print(f"{run_id} failed: {board[run_id].get('error')}", markup=False)
    out.print(f"sweep: {len(board) - len(failed)} of {len(board)} runs finished in "
              f"{wall_s:.0f} s" + (f"; {len(failed)} failed: rerun the same command to resume "
                                   "them" if failed else ""), markup=False)
    return len(failed)


# ---------------------------------------------------------------------------- the display

_COLUMNS = ("run", "state", "turns", "dollars", "best", "detail")


def _cells(run_id: str, view: dict) -> list[str]:
    best = view.get("best")
    return [run_id, view.get("state", "?"), str(view.get("turns", 0)),
            f"${view.get('dollars', 0.0):.2f}", "-" if best is None else f"{best:.2f}x",
            view.get("error") or view.get("detail", "")]


def table(board: dict[str, dict]):
    """Every run's row: state, turns, dollars, best run_bench speedup so far, detail."""
    from rich.table import Column, Table

    t = Table(Column(_COLUMNS[0], no_wrap=True), *_COLUMNS[1:], title="sweep",
              title_justify="left")
    for run_id in sorted(board):
        t.add_row(*_cells(run_id, board[run_id]))
    return t


def changes(seen: dict[str, tuple], board: dict[str, dict]) -> list[str]:
    """One line per run whose state or detail changed since `seen` (which is updated)."""
    lines = []
    for run_id in sorted(board):
        cells = _cells(run_id, board[run_id])
        key = (cells[1], cells[5])
        if seen.get(run_id) != key:
            seen[run_id] = key
            lines.append(" | ".join(cells))
    return lines
