"""Speedup Bench as an Inspect AI task, so any model Inspect supports (OpenAI, Google,
Mistral, vLLM, Ollama, ...) can enter. Requires `pip install '.[inspect]'` and the package
of the provider Inspect calls (`pip install openai` for openai/..., `google-genai` for
google/..., `anthropic` comes with the project); the project's offline policies need none
and no network (speedup/library, speedup/replay: agent/launch/inspect_models.py). From the
checkout:

    inspect eval agent/launch/inspect_task.py --model speedup/library -T preset=tiny -T device=cpu
    inspect eval agent/launch/inspect_task.py --model openai/gpt-5 -T preset=tiny -T device=cpu \\
        --token-limit 5000000 --time-limit 14400

Inspect writes its log to ./logs (git-ignored) unless --log-dir says where; `inspect view`
shows it.

It is the same session as `speedup agent`: the task text, the tools, the budgets, the
transcript in runs/<run id>/ and the record are agent/'s own. A sample is one session
(`--epochs N` runs N): the solver plays its turns with InspectPolicy answering through
Inspect's model, and the scorer runs the official evaluation and writes the record
(scoring.py), with entrant {"kind": "agent", "policy": "inspect", "model": <Inspect's model
name>} and the sample's score the record's speedup (1.0x when it was rejected). An API
failure ends the session as under `speedup agent` (its transcript ends with the api_error
and the stop) and the sample in an error, with no record. Inspect cannot resume a session
(its eval-retry starts a new one), so a session that fails otherwise leaves nothing in
runs/.

Inspect's limits are the session's budgets: --turn-limit is its turns (--message-limit N:
N // 2, an assistant message and a tool message a turn), --token-limit its input and its
output tokens (Inspect stops the session at the total), --time-limit and --working-limit
its wall seconds, --cost-limit its dollars (priced with `price`, else agent/policies/prices.py for
an anthropic/ model, else not at all); the device seconds are the task's `max_device_s`.
Timed work (the judge, the clock, run_python, profile) passes one gate per process
(`gated_harness`), so samples run at once never time each other.
"""

from __future__ import annotations

import dataclasses
import shlex
from pathlib import Path

try:
    import anyio.to_thread
    from inspect_ai import Task, task
    from inspect_ai.dataset import Sample
    from inspect_ai.model import ModelOutput, get_model
    from inspect_ai.scorer import Score, Target, mean, scorer
    from inspect_ai.solver import Generate, TaskState, solver
    from inspect_ai.util import sample_limits
except ImportError as e:  # the optional extra
    raise ImportError(f"the Inspect task needs inspect-ai: pip install '.[inspect]' ({e})") \
        from None

from agent.launch import project_harness
from agent.launch.build import check_track, start_session
from agent.launch.gate import GatedHarness, ProcessGate
from agent.launch.inspect_models import DEVICE_KEY
from agent.policies.inspect_policy import InspectPolicy
from agent.policies.prices import PRICES, parse_price
from agent.session.api_errors import InfrastructureError
from agent.session.budget import FREE, Budgets
from agent.session.loop import Session
from agent.session.run_config import RunConfig, new_run_id
from agent.session.run_dir import RunDir
from correctness.tolerances import Source

_SESSIONS: dict[str, Session] = {}  # run id -> the session its sample's scorer finishes


def gated_harness(tolerances: Source) -> GatedHarness:
    """The project's harness, judging with `tolerances`, with every run of a solution
    through this process's gate (agent/launch/gate.py): samples run at once never time each
    other."""
    return GatedHarness(project_harness.ProjectHarness(tolerances=tolerances), ProcessGate(),
                        exclusive=True)


def budgets_from_limits(max_device_s: float | None = None) -> Budgets:
    """The session's budgets from the sample's Inspect limits (those set; the rest keep
    Budgets' defaults)."""
    limits = sample_limits()
    value = {name: getattr(limits, name).limit for name in ("token", "message", "turn",
                                                            "time", "working", "cost")}
    fields: dict = {}
    turns = [v for v in (value["turn"], value["message"] and value["message"] // 2) if v]
    if turns:
        fields["max_turns"] = int(min(turns))
    if value["token"]:
        fields["max_input_tokens"] = fields["max_output_tokens"] = int(value["token"])
    walls = [v for v in (value["time"], value["working"]) if v]
    if walls:
        fields["max_wall_s"] = float(min(walls))
    if value["cost"]:
        fields["max_dollars"] = float(value["cost"])
    if max_device_s is not None:
        fields["max_device_s"] = float(max_device_s)
    return dataclasses.replace(Budgets(), **fields)


def command_line(model: str, **task_args) -> str:
    """The `inspect eval` command a record names: this task, the model and the task
    arguments that decide what is scored, as a user types them."""
    words = ["inspect", "eval", "agent/launch/inspect_task.py", "--model", model]
    for name, value in task_args.items():
        words += ["-T", f"{name}={value}"]
    return shlex.join(words)


def _price(model: str, price: str | None):
    if price:
        return parse_price(price)
    provider, _, name = model.partition("/")
    return PRICES.get(name, FREE) if provider == "anthropic" else FREE


def _started(harness: GatedHarness, runs_dir: str, config: RunConfig, policy) -> Session:
    """The track made ready (calibrated first when it is not, under the gate), then the
    session started."""
    harness.prepare(config.preset, config.device)
    return start_session(runs_dir, config, policy=policy, harness=harness)


@solver
def play_session(preset: str, device: str, eval_rounds: int, bench_rounds: int | None,
                 max_device_s: float | None, price: str | None, runs_dir: str,
                 results_dir: str | None, tolerances: str | None):
    """The session's turns, in a worker thread; the scorer finishes it."""

    async def solve(state: TaskState, generate: Generate) -> TaskState:
        model = get_model()
        if str(model) == "speedup/library":  # the offline library policy (inspect_models.py)
            check_track("library", preset)
        optional = {"bench_rounds": bench_rounds} if bench_rounds else {}
        judged_by = {"tolerances": tolerances} if tolerances else {}
        written_to = {"results_dir": results_dir} if results_dir else {}  # else RunConfig's
        config = RunConfig(run_id=new_run_id("inspect"), policy="inspect", model=str(model),
                           preset=preset, device=device, budgets=budgets_from_limits(
                               max_device_s), price=_price(str(model), price),
                           eval_rounds=eval_rounds,
                           command_line=command_line(str(model), preset=preset, device=device,
                                                     eval_rounds=eval_rounds, **optional,
                                                     **judged_by),
                           **optional, **written_to)
        harness = gated_harness(Source(Path(tolerances)) if tolerances else Source())
        state.store.set("run_id", config.run_id)
        state.store.set(DEVICE_KEY, device)  # for the offline providers (inspect_models.py)
        try:
            session = await anyio.to_thread.run_sync(
                lambda: _started(harness, runs_dir, config, InspectPolicy(model)),
                abandon_on_cancel=False)
            await anyio.to_thread.run_sync(session.play, abandon_on_cancel=False)
        except BaseException:
            RunDir.of(runs_dir, config.run_id).clear()  # nothing could continue it
            raise
        _SESSIONS[config.run_id] = session
        state.output = ModelOutput.from_content(str(model), f"stopped: {session.stop_reason}")
        return state

    return solve


@scorer(metrics=[mean()])
def official_record():
    """The official evaluation of the session's chosen state, and its record."""

    async def score(state: TaskState, target: Target) -> Score:
        session = _SESSIONS.pop(state.store.get("run_id"))
        try:
            outcome = await anyio.to_thread.run_sync(session.finish, abandon_on_cancel=False)
        except InfrastructureError as e:
            raise RuntimeError(f"the API could not serve run {session.config.run_id}: {e}; no "
                               f"record was written ({session.transcript.path} ends with the "
                               f"API error and the stop)") from None
        ratio = outcome.evaluation.get("median_ratio")
        passed = bool(outcome.evaluation.get("passed"))
        return Score(value=ratio if passed and ratio is not None else 1.0,
                     answer=outcome.outcome,
                     explanation=f"{outcome.outcome}: scored the {outcome.source} state",
                     metadata={"record": str(outcome.record), "run_id": outcome.run_id,
                               "stop_reason": outcome.stop_reason})

    return score


@task
def speedup_bench(preset: str = "tiny", device: str = "cpu", eval_rounds: int = 3,
                  bench_rounds: int | None = None, max_device_s: float | None = None,
                  price: str | None = None, runs_dir: str = "runs",
                  results_dir: str | None = None, tolerances: str | None = None) -> Task:
    """One sample per session; `price`: 'IN,OUT,CACHE_WRITE,CACHE_READ' in USD per million
    tokens for the dollar budget of a model agent/policies/prices.py does not price;
    `results_dir`: where the record goes (default: the user's records folder,
    $XDG_DATA_HOME/speedup-bench/results, as `speedup agent`'s --results-dir);
    `tolerances`: a thresholds file read and written alone, as `speedup --tolerances FILE`
    (default: the shipped thresholds and the user's)."""
    sample = Sample(input=f"a Speedup Bench session on preset {preset}, device {device} (the "
                          f"task text and every turn: runs/<run id>/transcript.jsonl)",
                    id=f"{preset}-{device}")
    return Task(dataset=[sample],
                solver=play_session(preset, device, eval_rounds, bench_rounds, max_device_s,
                                    price, runs_dir, results_dir, tolerances),
                scorer=official_record())
