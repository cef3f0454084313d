"""Building a session from what a caller asked for: its RunConfig (model, price, budgets,
request limits checked), its policy (the Claude one with ANTHROPIC_API_KEY), the run a name
points at, and the session itself, new or resumed, on the project's harness. A resume may
change the run's request and budget options (run_config.REQUEST_OPTIONS, BUDGET_OPTIONS):
each change is checked as a new run's would be, recorded in the transcript as an `options`
event and applied from the next request; an option that would change what the run is
(its policy, model, track, scoring) is refused.

Whatever cannot be built is a ConfigError whose message says what to change; a command line
prints it as its one-line usage error. The track (preset and device) arrives resolved and
calibrated: doing that, with its progress, is the caller's.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from agent.launch import project_harness
from agent.policies.models import (
    DEFAULT_MAX_TOKENS,
    TABLE,
    ModelCaps,
    UnknownModel,
    check_effort_change,
    settings,
)
from agent.policies.prices import price_for
from agent.session.budget import CACHE_TTLS, FREE, Budgets
from agent.session.harness import Harness
from agent.session.loop import Session
from agent.session.policy import Policy
from agent.session.resume import ResumeError, check_resumable, read_config, stopped
from agent.session.run_config import BUDGET_OPTIONS, REQUEST_OPTIONS, RunConfig, new_run_id
from agent.session.run_dir import RunDir
from agent.session.transcript import messages_from, read_events

DEFAULT_MODEL = "claude-sonnet-5-5"


class ConfigError(Exception):
    """A session that cannot be built as asked; the message says what to change."""


def build_config(policy: str, *, preset: str, device: str, model: str | None = None,
                 replay: str | None = None, price: str | None = None,
                 thinking: str | None = None, effort: str | None = None,
                 cache_ttl: str | None = None, max_tokens: int | None = None,
                 bench_rounds: int | None = None, eval_rounds: int | None = None,
                 limits: dict | None = None, results_dir: str | None = None,
                 command_line: str = "") -> RunConfig:
    """A new run's config. `limits`: Budgets fields, None meaning the default; `price`:
    'IN,OUT,CACHE_WRITE,CACHE_READ' overriding the price table; `thinking`: 'on', 'off' or
    a budget in tokens; every other None means RunConfig's default. The thinking, effort and
    max_tokens asked for are checked against the model's capabilities (agent/policies/models.py).
    `command_line`: the command that asked, as a user types it (the record names it)."""
    check_track(policy, preset)
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
    if cache_ttl is not None and cache_ttl not in CACHE_TTLS:
        raise ConfigError(f"--cache-ttl wants one of {', '.join(CACHE_TTLS)}, got {cache_ttl!r}")
    budget = Budgets(**{k: v for k, v in (limits or {}).items() if v is not None})
    optional = {k: v for k, v in (("max_tokens", max_tokens), ("bench_rounds", bench_rounds),
                                  ("eval_rounds", eval_rounds), ("cache_ttl", cache_ttl),
                                  ("results_dir", results_dir))
                if v is not None}
    config = RunConfig(run_id=new_run_id(policy), policy=policy, model=model, preset=preset,
                       device=device, budgets=budget, price=cost, thinking=_thinking(thinking),
                       effort=effort, replay_from=replay, command_line=command_line,
                       **optional)
    if policy == "claude" and model in TABLE:  # other models: checked once the API says
        check_request(config, TABLE[model])
    return config


def check_track(policy: str, preset: str) -> None:
    """ConfigError when `policy` has nothing to do on the preset's track: the library policy
    binds kernel slots in the reference program's ops.py, which only the torch reference
    (baseline/) has. On a track whose reference is another program (range: the NumPy draft)
    it would time that program for minutes and submit it unchanged."""
    import baseline

    reference = baseline.get_preset(preset).reference
    if policy != "library" or not reference:
        return
    torch_tracks = ", ".join(name for name, p in baseline.PRESETS.items() if not p.reference)
    raise ConfigError(f"the library policy binds kernel slots in the torch baseline's ops.py "
                      f"and works on the torch tracks ({torch_tracks}); the {preset} track's "
                      f"reference program (baseline/{reference}) has none: on {preset} use "
                      f"an LLM policy (--policy claude), or time the shipped solutions with "
                      f"`speedup bench solutions/range_obvious ... --preset {preset}`")


def _thinking(text: str | None) -> int | str | None:
    if text in (None, "on", "off"):
        return text
    if text == "adaptive":  # the API's name for 'on', which run configs may hold
        return "on"
    try:
        n = int(text)
    except ValueError:
        raise ConfigError(f"--thinking wants on, off or a token budget (>= 1024), "
                          f"got {text!r}") from None
    if n < 1024:
        raise ConfigError(f"--thinking budget must be at least 1024 tokens, got {n}")
    return n


def check_request(config: RunConfig, caps: ModelCaps) -> None:
    """ConfigError unless the model takes the thinking, effort and max_tokens asked for."""
    try:
        thinking = settings(caps, config.thinking, config.effort)
    except ValueError as e:
        raise ConfigError(str(e)) from None
    if config.max_tokens is not None and not 1 <= config.max_tokens <= caps.max_output:
        raise ConfigError(f"--max-tokens must be between 1 and {caps.max_output:,} (the "
                          f"most {caps.model} writes in one response), got "
                          f"{config.max_tokens}")
    limit = config.max_tokens or min(caps.max_output, DEFAULT_MAX_TOKENS)
    if thinking.budget_tokens >= limit:
        raise ConfigError(f"--thinking {thinking.budget_tokens} must be below --max-tokens "
                          f"({limit})")


def _replay_model(path: str | None) -> str | None:
    from agent.policies.replay import ReplayPolicy

    if not path or not Path(path).is_file():
        raise ConfigError("--policy replay needs --replay TRANSCRIPT, an existing "
                          "runs/<id>/transcript.jsonl")
    try:
        return ReplayPolicy(path).model
    except (ValueError, KeyError) as e:
        raise ConfigError(f"--replay {path}: {e}") from None


def make_policy(config: RunConfig, max_retries: int | None = None, system: str | None = None,
                *, http_client=None) -> Policy:
    """The policy a config names; the Claude one needs ANTHROPIC_API_KEY, and learns the
    model's capabilities from the Models API where it answers (agent/policies/models.py). `system`
    is ignored: a session sends the task text its transcript began with."""
    if config.policy == "claude":
        key = os.environ.get("ANTHROPIC_API_KEY")
        if not key:
            raise ConfigError("--policy claude needs ANTHROPIC_API_KEY set to an Anthropic "
                              "API key; or use --policy library, which runs offline")
        from agent.policies.claude import DEFAULT_MAX_RETRIES, ClaudePolicy, make_client

        retries = DEFAULT_MAX_RETRIES if max_retries is None else max_retries
        client = make_client(key, retries, http_client)
        try:
            policy = ClaudePolicy(client, config.model, config.thinking, config.effort,
                                  config.cache_ttl)
        except (ValueError, UnknownModel) as e:
            raise ConfigError(str(e)) from None
        check_request(config, policy.caps)
        return policy
    if config.policy == "replay":
        from agent.policies.replay import ReplayPolicy

        return ReplayPolicy(config.replay_from)
    try:
        from agent.policies.library import LibraryPolicy

        impls = project_harness.ProjectHarness().library(config.device)
    except ImportError as e:
        raise ConfigError(f"the library policy needs the kernel library (kernels/registry.py): "
                          f"{e}") from None
    return LibraryPolicy(impls)


def resolve_run(runs_dir: str | Path, run: str) -> RunDir:
    """A run id under runs_dir, or a run directory, or its transcript.jsonl."""
    for candidate in (Path(run), Path(runs_dir) / run):
        if candidate.is_file() and candidate.name.endswith(".jsonl"):
            candidate = candidate.parent
        if RunDir(candidate).transcript.is_file():
            return RunDir(candidate)
    raise ConfigError(f"no run {run!r}: give a run id under {runs_dir}/ or a run directory")


def start_session(runs_dir: str | os.PathLike, config: RunConfig, *,
                  policy: Policy | None = None, harness: Harness | None = None,
                  max_retries: int | None = None,
                  on_event: Callable[[dict], None] | None = None) -> Session:
    """A new session in runs_dir/<run id>/: the way every caller starts one. `policy`: the
    one the config names unless given (an Inspect model is); `harness`: the project's
    unless given (a sweep's and the Inspect task's gate theirs, agent/launch/gate.py)."""
    if policy is None:
        policy = make_policy(config, max_retries)
    return Session.start(runs_dir, config, policy, harness or project_harness.ProjectHarness(),
                         on_event=on_event)


def resume_session(run_dir: str | os.PathLike, *, asked: dict | None = None,
                   harness: Harness | None = None, max_retries: int | None = None,
                   on_event: Callable[[dict], None] | None = None) -> Session:
    """The session in run_dir continued after its last complete turn, with the policy and
    task text it started with: the way every caller resumes one. `asked`: options given
    for the resume (RunConfig field or Budgets limit -> value as build_config takes it);
    those that differ from the run's are applied from the next request (resume_changes).
    `harness` as for start_session. ResumeError (agent.session.resume) when it cannot be
    continued, said before a key or the API is asked; ConfigError for an option refused."""
    run_dir = RunDir(run_dir)
    check_resumable(run_dir)
    config = read_config(run_dir)
    if config.policy == "inspect":
        raise ResumeError(f"run {run_dir.run_id} ran under Inspect AI: continue it there "
                          f"(inspect eval-retry), not with --resume")
    changes = resume_changes(config, asked or {})
    events = read_events(run_dir.transcript) if changes else []
    if changes and (reason := stopped(events)):
        raise ConfigError(f"run {run_dir.run_id} stopped ({reason}); only its scoring is "
                          f"left, which no option changes: resume it without them")
    changed = config.with_options(changes)
    policy = make_policy(changed, max_retries)
    if changes and config.policy == "claude" and any(
            m["role"] == "assistant" for m in messages_from(events)):
        try:
            check_effort_change(policy.caps, settings(policy.caps, config.thinking,
                                                      config.effort), policy.settings)
        except ValueError as e:
            raise ConfigError(str(e)) from None
    session = Session.resume(run_dir, policy, harness or project_harness.ProjectHarness(),
                             on_event=on_event)
    if changes:
        session.config = changed
        session.log({"event": "options", "changes": changes})
    return session


def resume_changes(config: RunConfig, asked: dict) -> dict:
    """{option: {"from": the run's, "to": asked}} for each asked request or budget option
    that differs from the run's; ConfigError for any other that differs (it would make a
    different run), or a request option for a policy that sends no requests."""
    changes = {}
    for name, value in asked.items():
        value = _normalized(config, name, value)
        old = config.option(name) if name in (*REQUEST_OPTIONS, *BUDGET_OPTIONS) \
            else getattr(config, name)
        if value == old:
            continue
        flag = f"{_FLAGS.get(name, '--' + name.replace('_', '-'))} {asked[name]}"
        if name not in (*REQUEST_OPTIONS, *BUDGET_OPTIONS):
            changeable = ", ".join("--" + n.replace("_", "-") for n in REQUEST_OPTIONS)
            raise ConfigError(f"{flag}: run {config.run_id} has {name} {old}, and a resume "
                              f"continues the same run; start a new run for another (a "
                              f"resume may change {changeable} and the --max-* budgets)")
        if name in REQUEST_OPTIONS and config.policy != "claude":
            raise ConfigError(f"{flag}: run {config.run_id}'s {config.policy} policy sends "
                              f"no model requests")
        changes[name] = {"from": old, "to": value}
    return changes


_FLAGS = {"replay_from": "--replay"}  # the options whose flag is not their field's name


def _normalized(config: RunConfig, name: str, value):
    """An asked option's value as the run's config holds it (RunConfig.option)."""
    try:
        if name == "thinking":
            return _thinking(value)
        if name == "price":
            return price_for(config.model, value).to_dict()
    except ValueError as e:
        raise ConfigError(str(e)) from None
    if name == "cache_ttl" and value not in CACHE_TTLS:
        raise ConfigError(f"--cache-ttl wants one of {', '.join(CACHE_TTLS)}, got {value!r}")
    return value
