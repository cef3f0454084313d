"""Run one agent session: a policy rewrites a copy of the baseline through confined tools
(list/read/write/edit files, run_check, run_bench, run_python, profile, submit), within
budgets; then the official evaluation scores the submitted state (or the best one that
passed the judge), writes a record to your results folder (--results-dir, by default
$XDG_DATA_HOME/speedup-bench/results) and renders the leaderboard (--out): the run ends with
its speedup and interval, where it stands among the shipped reference records, and the paths
of its record and of the leaderboard. An API failure (a bad key, an unknown model, the
network) writes no record and exits 1. Everything is in runs/<id>/ (transcript.jsonl,
workspace/, snapshots/). Policies: claude (needs ANTHROPIC_API_KEY), library (greedy over
the kernel library, offline), replay (plays a recorded transcript). The run id and the
command that resumes it are printed first, and again on Ctrl-C or SIGTERM. A resume may
change the request options (--effort, --thinking, --max-tokens, --cache-ttl, --price) and
the --max-* budgets from its next request; each change is printed and kept in the
transcript; a resumed run ends as a fresh one does. Examples:

    speedup agent --policy claude --model claude-sonnet-5-5 --preset tiny --max-dollars 5
    speedup agent --policy claude --model claude-opus-5-5 --effort high --cache-ttl 1h
    speedup agent --policy library
    speedup agent --resume 20261126T190501-claude-a1b2c3
    speedup agent --resume 20261126T190501-claude-a1b2c3 --effort high --max-dollars 10
    speedup agent show 20261126T190501-claude-a1b2c3
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import signal
from collections.abc import Iterator

HELP = "run one agent session (claude, library or replay), score it and write the record"


def add_arguments(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="action", metavar="show", parser_class=type(p))
    show_parser = sub.add_parser("show", help="print a run's transcript readably")
    show_parser.add_argument("run", metavar="RUN", help="a run id or a run directory")
    show_parser.add_argument("--runs-dir", default="runs", metavar="DIR",
                             help="where runs/<id>/ are (default runs)")
    p.add_argument("--resume", metavar="RUN", default=None,
                   help="continue a stopped or killed run from its last complete turn, with "
                        "the request and budget options given here")
    add_session_arguments(p, default_policy="claude")
    add_resume_defaults(p)


def add_resume_defaults(p: argparse.ArgumentParser) -> None:
    """A resume compares with its run only the options given: those not at their default
    (`asked_options`); call after the options are added."""
    p.set_defaults(option_defaults={dest: p.get_default(dest)
                                    for dest in _RESUME_OPTIONS.values()})


# The options a resume compares with its run's config: field or budget -> the option's dest
_RESUME_OPTIONS = {"policy": "policy", "model": "model", "preset": "preset",
                   "device": "device", "replay_from": "replay", "results_dir": "results_dir",
                   "bench_rounds": "bench_rounds", "eval_rounds": "eval_rounds",
                   "thinking": "thinking", "effort": "effort", "max_tokens": "max_tokens",
                   "cache_ttl": "cache_ttl", "price": "price", "max_turns": "max_turns",
                   "max_input_tokens": "max_input_tokens",
                   "max_output_tokens": "max_output_tokens", "max_dollars": "max_dollars",
                   "max_wall_s": "max_wall_s", "max_device_s": "max_device_s"}


def asked_options(args: argparse.Namespace) -> dict:
    """The options given with --resume, by RunConfig field or Budgets limit."""
    return {field: getattr(args, dest) for field, dest in _RESUME_OPTIONS.items()
            if getattr(args, dest) != args.option_defaults[dest]}


def add_session_arguments(p: argparse.ArgumentParser, default_policy: str) -> None:
    """The options `speedup agent` and `speedup run` share (defaults live in RunConfig and
    Budgets; None here means 'that default')."""
    from agent.launch.build import DEFAULT_MODEL
    from speedup.commands.leaderboard import add_out_argument, add_results_argument
    from speedup.ui import add_track_arguments, int_arg, positive_float_arg

    p.add_argument("--policy", choices=["claude", "library", "replay"], default=default_policy,
                   help=f"who acts (default {default_policy})")
    p.add_argument("--model", default=None,
                   help=f"Claude model id for --policy claude (default {DEFAULT_MODEL})")
    add_track_arguments(p, "where solutions run")
    p.add_argument("--replay", metavar="TRANSCRIPT", default=None,
                   help="for --policy replay: the transcript.jsonl to play")
    g = p.add_argument_group("budgets (a run stops before the turn after a limit is reached)")
    g.add_argument("--max-turns", type=int_arg("--max-turns", 1), default=None)
    g.add_argument("--max-input-tokens", type=int_arg("--max-input-tokens", 1), default=None,
                   help="prompt tokens, cache reads and writes included")
    g.add_argument("--max-output-tokens", type=int_arg("--max-output-tokens", 1),
                   default=None)
    g.add_argument("--max-dollars", type=positive_float_arg("--max-dollars"), default=None)
    g.add_argument("--max-wall-s", type=positive_float_arg("--max-wall-s"), default=None)
    g.add_argument("--max-device-s", type=positive_float_arg("--max-device-s"), default=None,
                   help="seconds spent in run_check, run_bench and profile")
    m = p.add_argument_group("model requests (checked against the model's capabilities, "
                             "agent/policies/models.py)")
    m.add_argument("--max-tokens", type=int, default=None,
                   help="per response, thinking included (default: the model's limit, up to "
                        "64,000; requests stream)")
    m.add_argument("--thinking", default=None, metavar="on|off|N",
                   help="on: adaptive thinking, its summary returned; off; N: a budget_tokens "
                        "N >= 1024, for the models that take one (default: the model's own "
                        "default, summaries returned where it thinks)")
    m.add_argument("--effort", default=None, choices=["low", "medium", "high", "xhigh", "max"],
                   help="output_config.effort, where the model takes it (default: the model's)")
    m.add_argument("--cache-ttl", default=None, choices=["5m", "1h"],
                   help="prompt cache lifetime (default 5m; 1h for long tool calls, its writes "
                        "priced at the 1-hour rate)")
    m.add_argument("--price", default=None, metavar="IN,OUT,CACHE_WRITE,CACHE_READ",
                   help="USD per million tokens, overriding agent/policies/prices.py for this "
                        "model (a fifth value: the 1-hour cache write)")
    m.add_argument("--max-retries", type=int_arg("--max-retries", 0), default=None,
                   help="the SDK's retries of 429/5xx per request")
    s = p.add_argument_group("scoring and files")
    s.add_argument("--bench-rounds", type=int_arg("--bench-rounds", 1), default=None,
                   help="rounds per run_bench call (default: the policy's; more for the "
                        "library policy, which decides every slot on them, than for a model)")
    s.add_argument("--eval-rounds", type=int_arg("--eval-rounds", 1), default=None,
                   help="rounds of the official evaluation")
    s.add_argument("--runs-dir", default="runs", metavar="DIR",
                   help="where runs/<id>/ go (default runs)")
    add_results_argument(s, "where the record goes")
    add_out_argument(s)


# ---------------------------------------------------------------------------- building

@contextlib.contextmanager
def _usage_errors() -> Iterator[None]:
    """What agent/ cannot build or resume is the command's one-line usage error."""
    from agent.launch.build import ConfigError
    from agent.session.resume import ResumeError
    from speedup.ui import UsageError

    try:
        yield
    except (ConfigError, ResumeError) as e:
        raise UsageError(str(e)) from None


def build_config(args: argparse.Namespace):
    """The RunConfig the command line asks for, on a resolved track."""
    from agent.launch import build
    from agent.session.budget import Budgets
    from speedup.ui import preset_and_device

    preset, device = preset_and_device(args.preset, args.device)
    with _usage_errors():
        config = build.build_config(
            args.policy, preset=preset, device=device, model=args.model, replay=args.replay,
            price=args.price, thinking=args.thinking, effort=args.effort,
            cache_ttl=args.cache_ttl, max_tokens=args.max_tokens,
            bench_rounds=args.bench_rounds, eval_rounds=args.eval_rounds,
            limits={f.name: getattr(args, f.name) for f in dataclasses.fields(Budgets)},
            results_dir=args.results_dir, command_line=args.command_line)
    return config


def harness(args: argparse.Namespace):
    """The project's harness, judging with the thresholds the command line named."""
    from agent.launch.project_harness import ProjectHarness

    return ProjectHarness(tolerances=args.tolerance_source)


def prepare(config, args: argparse.Namespace) -> None:
    """The session's tracks ready to judge before anything of it exists: calibrated first
    where they are not (its own and, on a CPU, tiny/cpu, where run_check judges), with the
    ceilings its record is priced against (the project harness's `prepare`)."""
    from bench.calibration import NotReady
    from speedup.ui import UsageError, announce_isolation, reporter

    with reporter(f"calibrate {config.preset} on {config.device}",
                  remaining=True) as (status, runs):
        try:
            harness(args).prepare(config.preset, config.device,
                                  auto=not args.no_auto_calibrate, on_status=status,
                                  on_progress=runs)
        except NotReady as e:
            raise UsageError(str(e)) from None
    announce_isolation()


# ---------------------------------------------------------------------------- progress

def _first_line(text: str, limit: int = 110) -> str:
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line if len(line) <= limit else line[: limit - 1] + "…"


def print_event(event: dict) -> None:
    """One progress line per thing that happens (stderr)."""
    from agent.session.run_config import describe_change
    from speedup.ui import console

    kind = event["event"]
    if kind == "response" and event["message"].get("usage", {}).get("output_tokens"):
        s = event["spend"]
        console.print(f"turn {event['turn']}: {event['message'].get('stop_reason')}, "
                      f"${event['cost']:.4f} (total ${s['dollars']:.4f})", markup=False)
    elif kind == "tool_call":
        args = ", ".join(f"{k}={str(v)[:40]!r}" for k, v in event["input"].items()
                         if k != "content")
        console.print(f"turn {event['turn']}: {event['name']}({args})", markup=False)
    elif kind == "tool_result":
        mark = "✗" if event["is_error"] else "→"
        console.print(f"    {mark} {_first_line(event['content'])}", markup=False)
    elif kind == "refused_attempt":
        console.print(f"    refused by the judge ({event['check']})", markup=False)
    elif kind == "api_error":
        console.print(f"API error ({event['error']}, status {event['status']}): "
                      f"{_first_line(event['message'])}", markup=False)
        if retry := event.get("retry"):  # the loop waits before asking again
            console.print(f"{retry['reason']}, retrying in {retry['wait_s']:g} s "
                          f"({retry['attempt']}/{retry['tries']})", markup=False)
    elif kind == "compaction":
        console.print(f"turn {event['turn']}: context compacted ({event['reason']})",
                      markup=False)
    elif kind == "stop":
        console.print(f"stopped: {event['reason']}", markup=False)
    elif kind == "options":
        for name, change in event["changes"].items():
            console.print(f"changed on resume: {describe_change(name, change)} (from the next "
                          f"request)", markup=False)


def evaluation_progress(done: int, total: int, label: str) -> None:
    from speedup.ui import console

    console.print(f"official evaluation [{done}/{total}] {label}", markup=False)


# ---------------------------------------------------------------------------- commands

class _Terminated(KeyboardInterrupt):
    """SIGTERM, handled as Ctrl-C is: the run stops where it is, resumable."""


@contextlib.contextmanager
def _sigterm_interrupts() -> Iterator[None]:
    """SIGTERM raises _Terminated while the session runs (in the main thread only, where
    Python delivers signals)."""
    def terminated(signum, frame):
        raise _Terminated

    try:
        previous = signal.signal(signal.SIGTERM, terminated)
    except ValueError:  # not the main thread: SIGTERM keeps its handler
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def resume_command(args: argparse.Namespace, run_id: str) -> str:
    """The command that continues the run, as a user types it."""
    import shlex

    words = ["speedup"]
    if getattr(args, "tolerances", None):
        words += ["--tolerances", args.tolerances]
    words += ["agent", "--resume", run_id]
    if args.runs_dir != "runs":
        words += ["--runs-dir", args.runs_dir]
    return shlex.join(words)


def run_session(session, resume: str, out_dir: str) -> int:
    """The loop, the official evaluation, the record and the leaderboard (rendered into
    out_dir); prints the outcome, its last line the score. `resume`: the command that
    continues the run, printed first and on an interrupt. An API failure that asking again
    cannot mend writes no record: exit 1 with the API's message."""
    from agent.session.api_errors import InfrastructureError
    from speedup.ui import console, step_reporter

    console.print(f"run {session.config.run_id}: if it stops, `{resume}` continues it",
                  markup=False)
    try:
        with _sigterm_interrupts(), step_reporter() as tool_progress:
            outcome = session.run(on_progress=evaluation_progress,
                                  on_tool_progress=tool_progress)
    except KeyboardInterrupt as e:
        how = " (SIGTERM)" if isinstance(e, _Terminated) else ""
        console.print(f"interrupted{how}: resume with `{resume}`", markup=False)
        return 143 if how else 130
    except InfrastructureError as e:
        console.print(f"speedup: error: the API could not serve the run: {e}; no record was "
                      f"written; fix the cause and `{resume}` continues it (with request or "
                      f"budget options changed if they were the cause)", markup=False)
        return 1
    except (ImportError, RuntimeError) as e:
        console.print(f"speedup: error: the official evaluation failed: {e}; the run is saved, "
                      f"`{resume}` retries the scoring", markup=False)
        return 1
    return _report(outcome, session, out_dir)


def _report(outcome, session, out_dir: str) -> int:
    """The outcome's lines, then the leaderboard's (speedup.commands.leaderboard.publish:
    a line per track), the record's and the leaderboard's paths with where the run stands
    among the shipped references, and last the score: the median speedup, its interval,
    and whether it is inconclusive."""
    import json
    from pathlib import Path

    from speedup.commands.leaderboard import publish_tracks, your_run
    from speedup.ui import out

    s = outcome.spend
    out.print(f"run {outcome.run_id}: {outcome.stop_reason} (outcome {outcome.outcome}) after "
              f"{s.turns} turns, "
              f"${s.dollars:.4f}, {s.wall_s:.0f} s wall, {s.device_s:.0f} device s", markup=False)
    tracks, paths = publish_tracks(session.config.results_dir, out_dir)
    out.print(f"record {outcome.record}; transcript {session.transcript.path}", markup=False)
    for line in your_run(outcome.record, tracks, paths):
        out.print(line, markup=False)
    record = json.loads(Path(outcome.record).read_text())
    short = outcome.hash.removeprefix("sha256:")[:12]
    out.print(f"scored the {outcome.source.replace('_', ' ')} state {short}: "
              f"{_score(record)}", markup=False)
    return 0


def _score(record: dict) -> str:
    """'passed, median speedup 2.100x (95% interval 1.900x to 2.300x), inconclusive'."""
    if not record["passed"]:
        return f"rejected by {record['rejected_by']}, median speedup -"
    interval = record.get("ratio_interval")
    shown = (f"95% interval {interval[0]:.3f}x to {interval[1]:.3f}x" if interval
             else "one round: no interval")
    return (f"passed, median speedup {record['median_ratio']:.3f}x ({shown})"
            + (", inconclusive" if record["inconclusive"] else ""))


def show(args: argparse.Namespace) -> int:
    from agent.launch.build import resolve_run
    from agent.session.transcript import read_events, render
    from correctness.sandbox.boundary import sanitize
    from speedup.ui import out

    with _usage_errors():
        run_dir = resolve_run(args.runs_dir, args.run)
    for line in render(read_events(run_dir.transcript)):
        out.print(sanitize(line), markup=False)  # a model's and a run's text: untrusted
    return 0


def resume(run_dir, args: argparse.Namespace):
    """The session in run_dir continued with the request and budget options given
    (`speedup agent --resume`, `speedup run --resume-last`)."""
    from agent.launch.build import resume_session

    with _usage_errors():
        return resume_session(run_dir, asked=asked_options(args), harness=harness(args),
                              max_retries=args.max_retries, on_event=print_event)


def asks_another_run(run_dir, args: argparse.Namespace) -> bool:
    """Whether the options given name another run than run_dir's (a resume refuses them)."""
    from agent.launch.build import ConfigError, resume_changes
    from agent.session.resume import read_config

    try:
        resume_changes(read_config(run_dir), asked_options(args))
    except ConfigError:
        return True
    return False


def run(args: argparse.Namespace) -> int:
    from agent.launch.build import resolve_run

    if args.action == "show":
        return show(args)
    if args.resume:
        with _usage_errors():
            run_dir = resolve_run(args.runs_dir, args.resume)
        return run_session(resume(run_dir, args), resume_command(args, run_dir.run_id),
                           args.out)
    session = start_session(args)
    return run_session(session, resume_command(args, session.config.run_id), args.out)


def start_session(args: argparse.Namespace, banner: str | None = None):
    """A new session from the command line (config, policy, writable folders checked before
    anything runs); `banner` ('speedup run') announces it first."""
    from agent.launch import build
    from speedup.ui import console, writable_dir

    config = build_config(args)
    with _usage_errors():
        policy = build.make_policy(config, args.max_retries)
    prepare(config, args)
    writable_dir(args.runs_dir)
    writable_dir(args.results_dir)
    if banner:
        console.print(f"{banner}: policy {config.policy} on preset {config.preset}, device "
                      f"{config.device}; run {config.run_id}", markup=False)
    return build.start_session(args.runs_dir, config, policy=policy, harness=harness(args),
                               on_event=print_event)
