"""Run one agent session: a policy rewrites a copy of the baseline through confined tools
(list/read/write/edit files, run_check, run_bench, profile, submit), within budgets; then
the official evaluation scores the submitted state (or the best one that passed the judge)
and writes a record to results/. Everything is in runs/<id>/ (transcript.jsonl, workspace/,
snapshots/). Policies: claude (needs ANTHROPIC_API_KEY), library (greedy over the kernel
library, offline), replay (plays a recorded transcript). Examples:

    speedup agent --policy claude --model claude-sonnet-5-5 --preset tiny --max-dollars 5
    speedup agent --policy library
    speedup agent --resume 20261126T190501-claude-a1b2c3
    speedup agent show 20261126T190501-claude-a1b2c3
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

HELP = "run one agent session (claude, library or replay), score it and write the record"
DEFAULT_MODEL = "claude-sonnet-5-5"


def add_arguments(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="action", metavar="show", parser_class=type(p))
    show_parser = sub.add_parser("show", help="print a run's transcript readably")
    show_parser.add_argument("run", metavar="RUN", help="a run id or a run directory")
    show_parser.add_argument("--runs-dir", default="runs", metavar="DIR",
                             help="where runs/<id>/ are (default runs)")
    p.add_argument("--resume", metavar="RUN", default=None,
                   help="continue a stopped or killed run from its last complete turn")
    add_session_arguments(p, default_policy="claude")


def add_session_arguments(p: argparse.ArgumentParser, default_policy: str) -> None:
    """The options `speedup agent` and `speedup run` share (defaults live in RunConfig and
    Budgets; None here means 'that default')."""
    from bench.ui import add_track_arguments, int_arg, positive_float_arg

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
    m = p.add_argument_group("model requests")
    m.add_argument("--max-tokens", type=int, default=None, help="per response, thinking included")
    m.add_argument("--thinking", default=None, metavar="N|adaptive",
                   help="extended thinking: a budget_tokens N (>= 1024), or 'adaptive'")
    m.add_argument("--price", default=None, metavar="IN,OUT,CACHE_WRITE,CACHE_READ",
                   help="USD per million tokens, overriding agent/prices.py for this model")
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
    s.add_argument("--results-dir", default="results", metavar="DIR",
                   help="where the record goes (default results)")


# ---------------------------------------------------------------------------- building

def _thinking(text: str | None) -> int | str | None:
    from bench.ui import UsageError

    if text is None or text == "adaptive":
        return text
    try:
        n = int(text)
    except ValueError:
        raise UsageError(f"--thinking wants a token budget (>= 1024) or 'adaptive', "
                         f"got {text!r}") from None
    if n < 1024:
        raise UsageError(f"--thinking budget must be at least 1024 tokens, got {n}")
    return n


def build_config(args: argparse.Namespace):
    """RunConfig from the command line: resolved preset/device, price, budgets."""
    from agent.budget import Budgets
    from agent.prices import FREE, price_for
    from agent.run_config import RunConfig, new_run_id
    from bench.ui import UsageError, ensure_calibrated, preset_and_device

    preset, device = preset_and_device(args.preset, args.device)
    auto = not getattr(args, "no_auto_calibrate", False)
    ensure_calibrated(preset, device, auto=auto)
    if device == "cpu":  # run_check, the agent's quick check, judges on tiny/cpu there
        ensure_calibrated("tiny", "cpu", auto=auto)
    budget_args = {k: getattr(args, k) for k in (
        "max_turns", "max_input_tokens", "max_output_tokens", "max_dollars", "max_wall_s",
        "max_device_s")}  # each checked positive when parsed
    model = None
    if args.policy == "claude":
        model = args.model or DEFAULT_MODEL
    elif args.policy == "replay":
        model = _replay_model(args.replay)
    try:
        price = price_for(model, args.price) if args.policy == "claude" else FREE
    except ValueError as e:
        raise UsageError(str(e)) from None
    optional = {k: getattr(args, k) for k in ("max_tokens", "bench_rounds", "eval_rounds")
                if getattr(args, k) is not None}
    thinking = _thinking(args.thinking)
    _check_max_tokens(args.max_tokens)
    config = RunConfig(
        run_id=new_run_id(args.policy), policy=args.policy, model=model, preset=preset,
        device=device, budgets=Budgets(**{k: v for k, v in budget_args.items() if v is not None}),
        price=price, thinking=thinking, replay_from=args.replay, results_dir=args.results_dir,
        **optional)
    if isinstance(thinking, int) and thinking >= config.max_tokens:
        raise UsageError(f"--thinking {thinking} must be below --max-tokens "
                         f"({config.max_tokens})")
    return config


def _check_max_tokens(max_tokens: int | None) -> None:
    from agent.claude import MAX_NONSTREAMING_TOKENS
    from bench.ui import UsageError

    if max_tokens is not None and not 1 <= max_tokens <= MAX_NONSTREAMING_TOKENS:
        raise UsageError(f"--max-tokens must be between 1 and {MAX_NONSTREAMING_TOKENS:,} "
                         f"(the SDK's limit for a request that does not stream), "
                         f"got {max_tokens}")


def _replay_model(path: str | None) -> str | None:
    from agent.replay import ReplayPolicy
    from bench.ui import UsageError

    if not path or not Path(path).is_file():
        raise UsageError("--policy replay needs --replay TRANSCRIPT, an existing "
                         "runs/<id>/transcript.jsonl")
    try:
        return ReplayPolicy(path).model
    except (ValueError, KeyError) as e:
        raise UsageError(f"--replay {path}: {e}") from None


def make_policy(config, max_retries: int | None = None, system: str | None = None):
    """The policy a config names; the Claude one needs ANTHROPIC_API_KEY. `system`: the
    system prompt a resumed run started with (default: today's text for the config)."""
    from agent.prompt import system_prompt
    from bench.ui import UsageError

    if config.policy == "claude":
        key = os.environ.get("ANTHROPIC_API_KEY")
        if not key:
            raise UsageError("--policy claude needs ANTHROPIC_API_KEY set to an Anthropic API "
                             "key; or use --policy library, which runs offline")
        from agent.claude import DEFAULT_MAX_RETRIES, ClaudePolicy, make_client

        retries = DEFAULT_MAX_RETRIES if max_retries is None else max_retries
        system = system or system_prompt(config.preset, config.device)
        return ClaudePolicy(make_client(key, retries), config.model, system, config.thinking)
    if config.policy == "replay":
        from agent.replay import ReplayPolicy

        return ReplayPolicy(config.replay_from)
    from agent.harness import ProjectHarness
    from agent.library import LibraryPolicy

    try:
        impls = ProjectHarness().library(config.device)
    except ImportError as e:
        raise UsageError(f"the library policy needs the kernel library (kernels/registry.py): "
                         f"{e}") from None
    return LibraryPolicy(impls)


def resolve_run(runs_dir: str, run: str) -> Path:
    """A run id under runs_dir, or a run directory, or its transcript.jsonl."""
    from bench.ui import UsageError

    for candidate in (Path(run), Path(runs_dir) / run):
        if candidate.is_file() and candidate.name.endswith(".jsonl"):
            candidate = candidate.parent
        if (candidate / "transcript.jsonl").is_file():
            return candidate
    raise UsageError(f"no run {run!r}: give a run id under {runs_dir}/ or a run directory")


# ---------------------------------------------------------------------------- progress

def _first_line(text: str, limit: int = 110) -> str:
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line if len(line) <= limit else line[: limit - 1] + "…"


def print_event(event: dict) -> None:
    """One progress line per thing that happens (stderr)."""
    from bench.ui import console

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
    elif kind == "api_error":
        console.print(f"API error ({event['error']}, status {event['status']}): "
                      f"{_first_line(event['message'])}", markup=False)
    elif kind == "stop":
        console.print(f"stopped: {event['reason']}", markup=False)


def evaluation_progress(done: int, total: int, label: str) -> None:
    from bench.ui import console

    console.print(f"official evaluation [{done}/{total}] {label}", markup=False)


# ---------------------------------------------------------------------------- commands

def run_session(session) -> int:
    """The loop, the official evaluation and the record; prints the outcome."""
    from bench.ui import console, out

    try:
        outcome = session.run(on_progress=evaluation_progress)
    except (ImportError, RuntimeError) as e:
        console.print(f"speedup: error: the official evaluation failed: {e}; the run is saved, "
                      f"`speedup agent --resume {session.dir}` retries the scoring", markup=False)
        return 1
    s, ev = outcome.spend, outcome.evaluation
    ratio = ev.get("median_ratio")
    verdict = "passed" if ev.get("passed") else f"rejected by {ev.get('rejected_by')}"
    out.print(f"run {outcome.run_id}: {outcome.stop_reason} after {s.turns} turns, "
              f"${s.dollars:.4f}, {s.wall_s:.0f} s wall, {s.device_s:.0f} device s", markup=False)
    short = outcome.hash.removeprefix("sha256:")[:12]
    out.print(f"scored the {outcome.source.replace('_', ' ')} state {short}: "
              f"{verdict}, median speedup "
              f"{'-' if ratio is None else f'{ratio:.3f}x'}", markup=False)
    out.print(f"record {outcome.record}; transcript {session.transcript.path}", markup=False)
    return 0


def show(args: argparse.Namespace) -> int:
    from agent.transcript import read_events, render
    from bench.ui import out

    run_dir = resolve_run(args.runs_dir, args.run)
    for line in render(read_events(run_dir / "transcript.jsonl")):
        out.print(line, markup=False)
    return 0


def run(args: argparse.Namespace) -> int:
    from agent.harness import ProjectHarness
    from agent.resume import ResumeError, read_start
    from agent.run_config import RunConfig
    from agent.session import Session
    from bench.ui import UsageError

    if args.action == "show":
        return show(args)
    if args.resume:
        run_dir = resolve_run(args.runs_dir, args.resume)
        try:
            start = read_start(run_dir)
            policy = make_policy(RunConfig.from_dict(start["config"]), args.max_retries,
                                 start["system"])
            session = Session.resume(run_dir, policy, ProjectHarness(), on_event=print_event)
        except ResumeError as e:
            raise UsageError(str(e)) from None
        return run_session(session)
    return run_session(start_session(args))


def start_session(args: argparse.Namespace, banner: str | None = None):
    """A new session from the command line (config, policy, writable folders checked before
    anything runs); `banner` ('speedup run') announces it first."""
    from agent.harness import ProjectHarness
    from agent.session import Session
    from bench.ui import console, writable_dir

    config = build_config(args)
    policy = make_policy(config, args.max_retries)
    writable_dir(args.runs_dir)
    writable_dir(args.results_dir)
    if banner:
        console.print(f"{banner}: policy {config.policy} on preset {config.preset}, device "
                      f"{config.device}; run {config.run_id}", markup=False)
    return Session.start(args.runs_dir, config, policy, ProjectHarness(), on_event=print_event)
