"""Building a session from what a caller asked for: its RunConfig (model, price, budgets,
request limits checked), its policy (the Claude one with ANTHROPIC_API_KEY), the run a name
points at, and the session itself, new or resumed, on the project's harness.

Whatever cannot be built is a ConfigError whose message says what to change; a command line
prints it as its one-line usage error. The track (preset and device) arrives resolved and
calibrated: doing that, with its progress, is the caller's.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import agent.harness
from agent.budget import Budgets
from agent.policy import Policy
from agent.prices import FREE, price_for
from agent.resume import read_start
from agent.run_config import RunConfig, new_run_id
from agent.session import Session

DEFAULT_MODEL = "claude-sonnet-5-5"


class ConfigError(Exception):
    """A session that cannot be built as asked; the message says what to change."""


def build_config(policy: str, *, preset: str, device: str, model: str | None = None,
                 replay: str | None = None, price: str | None = None,
                 thinking: str | None = None, max_tokens: int | None = None,
                 bench_rounds: int | None = None, eval_rounds: int | None = None,
                 limits: dict | None = None, results_dir: str = "results") -> RunConfig:
    """A new run's config. `limits`: Budgets fields, None meaning the default; `price`:
    'IN,OUT,CACHE_WRITE,CACHE_READ' overriding the price table; `thinking`: a budget in
    tokens or 'adaptive'; every other None means RunConfig's default."""
    if policy == "claude":
        model = model or DEFAULT_MODEL
    elif policy == "replay":
        model = _replay_model(replay)
    else:
        model = None
    try:
        cost = price_for(model, price) if policy == "claude" else FREE
    except ValueError as e:
        raise ConfigError(str(e)) from None
    budget = Budgets(**{k: v for k, v in (limits or {}).items() if v is not None})
    optional = {k: v for k, v in (("max_tokens", max_tokens), ("bench_rounds", bench_rounds),
                                  ("eval_rounds", eval_rounds)) if v is not None}
    thinking_budget = _thinking(thinking)
    _check_max_tokens(max_tokens)
    config = RunConfig(run_id=new_run_id(policy), policy=policy, model=model, preset=preset,
                       device=device, budgets=budget, price=cost, thinking=thinking_budget,
                       replay_from=replay, results_dir=results_dir, **optional)
    if isinstance(thinking_budget, int) and thinking_budget >= config.max_tokens:
        raise ConfigError(f"--thinking {thinking_budget} must be below --max-tokens "
                          f"({config.max_tokens})")
    return config


def _thinking(text: str | None) -> int | str | None:
    if text is None or text == "adaptive":
        return text
    try:
        n = int(text)
    except ValueError:
        raise ConfigError(f"--thinking wants a token budget (>= 1024) or 'adaptive', "
                          f"got {text!r}") from None
    if n < 1024:
        raise ConfigError(f"--thinking budget must be at least 1024 tokens, got {n}")
    return n


def _check_max_tokens(max_tokens: int | None) -> None:
    from agent.claude import MAX_NONSTREAMING_TOKENS

    if max_tokens is not None and not 1 <= max_tokens <= MAX_NONSTREAMING_TOKENS:
        raise ConfigError(f"--max-tokens must be between 1 and {MAX_NONSTREAMING_TOKENS:,} "
                          f"(the SDK's limit for a request that does not stream), "
                          f"got {max_tokens}")


def _replay_model(path: str | None) -> str | None:
    from agent.replay import ReplayPolicy

    if not path or not Path(path).is_file():
        raise ConfigError("--policy replay needs --replay TRANSCRIPT, an existing "
                          "runs/<id>/transcript.jsonl")
    try:
        return ReplayPolicy(path).model
    except (ValueError, KeyError) as e:
        raise ConfigError(f"--replay {path}: {e}") from None


def make_policy(config: RunConfig, max_retries: int | None = None,
                system: str | None = None) -> Policy:
    """The policy a config names; the Claude one needs ANTHROPIC_API_KEY. `system`: the
    system prompt a resumed run started with (default: today's text for the config)."""
    from agent.prompt import system_prompt

    if config.policy == "claude":
        key = os.environ.get("ANTHROPIC_API_KEY")
        if not key:
            raise ConfigError("--policy claude needs ANTHROPIC_API_KEY set to an Anthropic "
                              "API key; or use --policy library, which runs offline")
        from agent.claude import DEFAULT_MAX_RETRIES, ClaudePolicy, make_client

        retries = DEFAULT_MAX_RETRIES if max_retries is None else max_retries
        system = system or system_prompt(config.preset, config.device)
        return ClaudePolicy(make_client(key, retries), config.model, system, config.thinking)
    if config.policy == "replay":
        from agent.replay import ReplayPolicy

        return ReplayPolicy(config.replay_from)
    try:
        from agent.library import LibraryPolicy

        impls = agent.harness.ProjectHarness().library(config.device)
    except ImportError as e:
        raise ConfigError(f"the library policy needs the kernel library (kernels/registry.py): "
                          f"{e}") from None
    return LibraryPolicy(impls)


def resolve_run(runs_dir: str | Path, run: str) -> Path:
    """A run id under runs_dir, or a run directory, or its transcript.jsonl."""
    for candidate in (Path(run), Path(runs_dir) / run):
        if candidate.is_file() and candidate.name.endswith(".jsonl"):
            candidate = candidate.parent
        if (candidate / "transcript.jsonl").is_file():
            return candidate
    raise ConfigError(f"no run {run!r}: give a run id under {runs_dir}/ or a run directory")


def start_session(runs_dir: str | Path, config: RunConfig, policy: Policy,
                  on_event: Callable[[dict], None] | None = None) -> Session:
    """A new session on the project's judge, clock and records."""
    return Session.start(runs_dir, config, policy, agent.harness.ProjectHarness(),
                         on_event=on_event)


def resume_session(run_dir: Path, max_retries: int | None = None,
                   on_event: Callable[[dict], None] | None = None) -> Session:
    """The session in run_dir continued, with the policy and system prompt it started with;
    ResumeError (agent.resume) when it cannot be."""
    start = read_start(run_dir)
    policy = make_policy(RunConfig.from_dict(start["config"]), max_retries, start["system"])
    return Session.resume(run_dir, policy, agent.harness.ProjectHarness(), on_event=on_event)
