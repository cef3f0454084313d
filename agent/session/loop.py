"""The turn loop of one agent session: one turn = one request to the policy, its
response's tool calls run (or its stop reason answered), the messages appended; budgets
checked before every turn; every event in the transcript.

A session lives in its run's directory, runs/<id>/ (run_dir.py: the transcript, the
workspace the tools reach, the snapshots of every state the judge passed, the initial one
and the submitted one, and where the official record went). After `submit`, or when the
session stops otherwise (a budget, a refusal, the model ending twice without a tool call),
`scoring.score` evaluates the state the snapshots choose. An API failure that asking again
cannot mend (api_errors.py) stops it with InfrastructureError instead, and no record.

Where to extend it: each request's max_tokens, within the budgets, and the compaction of
a conversation near the model's context window (context.py) are `_next_request`'s; the
request itself is the policy's (`ClaudePolicy.request` builds the Messages API body); what
a response's stop reason does is `_act`; every tool call runs through `_run_tool`, which
hands it to `Toolbox.call` (tools.py) and gives what the judge and the clock saw to the
snapshots in `_after_tool`.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from pathlib import Path

from agent.session import api_errors, context, resume
from agent.session.budget import Spend, exhausted
from agent.session.harness import Harness, Progress
from agent.session.policy import BudgetExhausted, Policy, PolicyFinished
from agent.session.prompt import first_message, system_prompt
from agent.session.run_config import RunConfig
from agent.session.run_dir import RunDir
from agent.session.scoring import Outcome, score
from agent.session.snapshots import Snapshots
from agent.session.tools import TOOL_SPECS, Toolbox, ToolResult
from agent.session.transcript import Transcript
from agent.session.workspace import Workspace
from correctness.sandbox import reference_dir  # a workspace starts as its copy


def _tool_result(tool_use_id: str, content: str, is_error: bool) -> dict:
    block = {"type": "tool_result", "tool_use_id": tool_use_id, "content": content}
    if is_error:
        block["is_error"] = True
    return block


class Session:
    def __init__(self, run_dir: str | os.PathLike, config: RunConfig, policy: Policy,
                 harness: Harness,
                 *, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep,
                 on_event: Callable[[dict], None] | None = None):
        self.run_dir, self.config, self.policy, self.harness = (RunDir(run_dir), config, policy,
                                                                harness)
        self.clock, self.sleep, self.on_event = clock, sleep, on_event
        self.transcript = Transcript(self.run_dir.transcript)
        self.workspace = Workspace(self.run_dir.workspace)
        self.snapshots = Snapshots(self.run_dir)
        self.spend = Spend()
        self.messages: list[dict] = []
        self.stop_reason: str | None = None
        self.stop_detail = ""
        self.refusal_category: str | None = None
        self.max_tokens_sent = 0
        self.system = self.first = ""  # the task text (prompt.py), from the start event
        self.counted: tuple[int, int] | None = None  # context.estimate_tokens' API count
        self._last_tick = clock()

    @property
    def dir(self) -> Path:
        return self.run_dir.path

    @classmethod
    def start(cls, runs_dir: str | os.PathLike, config: RunConfig, policy: Policy,
              harness: Harness, **kw) -> Session:
        """A new session in runs_dir/<run id>/, its workspace a copy of the baseline."""
        run_dir = RunDir.of(runs_dir, config.run_id)
        run_dir.path.mkdir(parents=True)
        s = cls(run_dir, config, policy, harness, **kw)
        s.workspace = Workspace.create(run_dir.workspace, reference_dir(config.preset))
        initial = s.snapshots.initial = s.workspace.solution_hash()
        facts = harness.track_facts(config.preset, config.device, config.results_dir)
        s.system = system_prompt(config.preset, config.device, facts, config.eval_rounds)
        s.first = first_message(config.budgets)
        s.messages = [{"role": "user", "content": s.first}]
        s.log({"event": "start", "config": config.to_dict(), "system": s.system,
               "tools": TOOL_SPECS, "first_message": s.first, "facts": facts.to_dict(),
               "workspace_hash": initial})
        s.log(s.snapshots.take(s.workspace, initial, turn=0, initial=True))
        return s

    @classmethod
    def resume(cls, run_dir: str | os.PathLike, policy: Policy, harness: Harness,
               **kw) -> Session:
        """The session continued after its last complete turn (resume.py says how)."""
        run_dir = RunDir(run_dir)
        resume.check_resumable(run_dir)
        start = resume.read_start(run_dir)
        s = cls(run_dir, resume.read_config(run_dir), policy, harness, **kw)
        s.system, s.first = start["system"], start["first_message"]
        events, partial_file = resume.set_aside_partial_turn(run_dir)
        r = resume.rebuild(run_dir, events, s.config.price, s.config.cache_ttl)
        s.messages, s.spend, s.workspace = r.messages, r.spend, r.workspace
        s.snapshots, s.stop_reason = r.snapshots, r.stop_reason
        s.refusal_category, s.counted = r.refusal_category, r.counted
        s.log({"event": "resume", "partial_file": partial_file.name if partial_file else None,
               "lost": r.lost.to_dict(), "spend": s.spend.to_dict()})
        return s

    def log(self, event: dict) -> None:
        """Append the event to the transcript (flushed), then tell on_event."""
        self.transcript.append(event)
        if self.on_event:
            self.on_event(event)

    def _tick(self) -> None:
        now = self.clock()
        self.spend.wall_s += now - self._last_tick
        self._last_tick = now

    def run(self, on_progress=None, on_tool_progress: Progress | None = None) -> Outcome:
        """The loop until a stop, then the official evaluation and the record; the tools'
        runs told to `on_tool_progress`, the evaluation's to `on_progress`."""
        self.play(on_tool_progress)
        return self.finish(on_progress)

    def play(self, on_tool_progress: Progress | None = None) -> None:
        """The turn loop, unless the session has stopped already."""
        if self.stop_reason is None:
            self._loop(on_tool_progress)

    def finish(self, on_progress=None) -> Outcome:
        """The official evaluation and the record of a stopped session; InfrastructureError,
        and no record, when the API could not serve it."""
        if self.stop_reason == "api_error":
            raise api_errors.InfrastructureError(self.stop_detail)
        return score(self, on_progress)

    def _loop(self, on_tool_progress: Progress | None) -> None:
        self._toolbox = Toolbox(
            self.workspace, self.harness, preset=self.config.preset, device=self.config.device,
            bench_rounds=self.config.bench_rounds, budgets=self.config.budgets,
            spend=self.spend, clock=self.clock, on_progress=on_tool_progress)
        failures, compacted_at = 0, None
        while (request := self._next_request()) is not None:
            turn, max_tokens = request
            try:
                response = self.policy.respond(self.messages, max_tokens, turn=turn,
                                               system=self.system)
            except BudgetExhausted as e:
                self.stop_reason, self.stop_detail = f"budget:{e.budget}", str(e)
                break
            except PolicyFinished as e:
                self.stop_reason, self.stop_detail = "policy_done", str(e)
                break
            except api_errors.api_errors() as e:
                kind = api_errors.kind(e)
                compact = kind == "context" and compacted_at != turn
                failures += not compact
                retry = None if compact else api_errors.retry(e, failures)
                self.log({"event": "api_error", "turn": turn, "error": type(e).__name__,
                          "status": getattr(e, "status_code", None), "kind": kind,
                          "message": str(e), "retry": retry})
                if compact:
                    compacted_at = turn
                    self._compact(turn, "the API answered that the prompt is too long")
                    continue
                if retry is None:
                    reason = "context_window" if kind == "context" else "api_error"
                    self.stop_reason, self.stop_detail = reason, str(e)
                    break
                self.sleep(retry["wait_s"])
                continue
            failures = 0
            self._turn(turn, response)
        self._tick()
        self.log({"event": "stop", "reason": self.stop_reason, "detail": self.stop_detail,
                  "refusal_category": self.refusal_category,
                  "submitted": self.snapshots.submitted, "spend": self.spend.to_dict()})

    def _next_request(self) -> tuple[int, int] | None:
        """(turn, max_tokens) of the next request, logged; None once the session stops
        (already stopped, or a budget leaves no room for another turn)."""
        self._tick()
        if self.stop_reason is None:
            max_tokens, reason = self._max_tokens()
            self.stop_reason = exhausted(self.config.budgets, self.spend) or reason
        if self.stop_reason:
            return None
        turn, self.max_tokens_sent = self.spend.turns + 1, max_tokens
        window = self.policy.context_window
        fixed = len(self.system) + len(json.dumps(TOOL_SPECS))
        estimate = context.estimate_tokens(self.messages, self.counted, fixed)
        if context.needs_compaction(estimate, max_tokens, window):
            self._compact(turn, f"about {estimate:,} tokens and max_tokens {max_tokens:,} "
                                f"would pass {context.COMPACT_AT:.0%} of the {window:,}-token "
                                f"context window")
        self.log({"event": "request", "turn": turn, "params": self.policy.params(max_tokens),
                  "n_messages": len(self.messages)})
        return turn, max_tokens

    def _compact(self, turn: int, reason: str) -> None:
        """Replace the conversation by the task, a digest and where the work stands."""
        passing = [st for st in self.snapshots.states.values() if st.passed]
        ratios = [r for st in passing for r in st.ratios]
        best = f"; the best run_bench speedup so far: {max(ratios):.3f}x" if ratios else ""
        state = f"States of the workspace that passed the judge so far: {len(passing)}{best}."
        new = context.compacted(self.first, self.messages, state)
        self.log({"event": "compaction", "turn": turn, "reason": reason,
                  "replaced": len(self.messages), "messages": new})
        self.messages, self.counted = new, None

    def _max_tokens(self) -> tuple[int, str | None]:
        """This request's max_tokens: the configured one, capped so that its output can
        spend neither more output tokens nor more dollars than are left; and the budget
        that stops the session when the cap leaves too few for the policy."""
        budgets, reason = self.config.budgets, None
        cap = self.config.max_tokens or self.policy.default_max_tokens
        left = budgets.max_output_tokens - self.spend.output_tokens
        if left < cap:
            cap, reason = left, "budget:output_tokens"
        if self.config.price.output > 0:
            # micro-dollars rounded first, so 0.25 - 0.20 buys 5000 tokens at $10/M, not 4999
            left_micro = round((budgets.max_dollars - self.spend.dollars) * 1e6, 6)
            affordable = int(left_micro / self.config.price.output)
            if affordable < cap:
                cap, reason = affordable, "budget:dollars"
        needed = self.policy.min_max_tokens
        return cap, (reason if cap < needed else None)

    def _turn(self, turn: int, response: dict) -> None:
        usage = response.get("usage") or {}
        cost = self.spend.add_usage(usage, self.config.price, self.config.cache_ttl)
        self.spend.turns = turn
        self.log({"event": "response", "turn": turn, "message": response, "cost": cost,
                  "spend": self.spend.to_dict()})
        kept = bool(response.get("content"))  # an empty assistant message is not valid input
        append = self._act(turn, response)
        if kept:
            self.messages.append({"role": "assistant", "content": response["content"]})
            self.counted = context.counted(usage, len(self.messages))
        self.messages.extend(append)
        self._tick()
        self.log({"event": "turn_end", "turn": turn, "kept_response": kept, "append": append,
                  "spend": self.spend.to_dict(), "workspace_hash": self.workspace.solution_hash()})

    def _act(self, turn: int, response: dict) -> list[dict]:
        """Run the turn's tool calls or answer its stop reason; the messages to append."""
        stop = response.get("stop_reason")
        uses = [b for b in response.get("content", []) if b.get("type") == "tool_use"]
        if stop == "refusal":
            details = response.get("stop_details") or {}
            self.stop_reason, self.refusal_category = "refusal", details.get("category")
            self.stop_detail = details.get("explanation") or ""
            return []
        if stop == "model_context_window_exceeded":
            self.stop_reason = "context_window"
            return []
        if stop == "pause_turn":  # the model continues from its own paused message
            return []
        if stop == "max_tokens":
            limit = self.max_tokens_sent
            note = (f"not run: your reply hit max_tokens ({limit}) before this call was "
                    f"complete. Make smaller calls (edit_file rather than whole-file writes).")
            if uses:
                return [{"role": "user", "content": [
                    _tool_result(b["id"], note, True) for b in uses]}]
            return [{"role": "user", "content": f"Your reply was cut off at max_tokens "
                     f"({limit}). Continue in smaller steps."}]
        if not uses:
            if self._idle_turns() >= 1:
                self.stop_reason = "end_turn"
                return []
            return [{"role": "user", "content": "You ended your turn without calling a tool. "
                     "Keep optimizing, or call submit to hand in the workspace."}]
        return [{"role": "user", "content": [self._run_tool(turn, b) for b in uses]}]

    def _idle_turns(self) -> int:
        """Trailing assistant messages without a tool call (before this turn's)."""
        n = 0
        for m in reversed(self.messages):
            if m["role"] != "assistant":
                continue
            if any(b.get("type") == "tool_use" for b in m["content"]):
                break
            n += 1
        return n

    def _run_tool(self, turn: int, block: dict) -> dict:
        name, args = block["name"], block.get("input") or {}
        self.log({"event": "tool_call", "turn": turn, "id": block["id"], "name": name,
                  "input": args})
        if self.snapshots.submitted:
            r = ToolResult("not run: submit ended the session", is_error=True)
        else:
            r = self._toolbox.call(name, args)
        self.log({"event": "tool_result", "turn": turn, "id": block["id"], "name": name,
                  "content": r.content, "is_error": r.is_error, "device_s": r.device_s})
        if r.refused:  # what the judge refused: its own event, counted in the record
            self.log({"event": "refused_attempt", "turn": turn, "id": block["id"],
                      "tool": name, **r.refused})
        self._after_tool(turn, r.facts)
        return _tool_result(block["id"], r.content, r.is_error)

    def _after_tool(self, turn: int, facts: dict) -> None:
        """Snapshot what the judge passed, what the clock timed and what was submitted."""
        kind, take = facts.get("kind"), self.snapshots.take
        if kind == "check" and facts["passed"]:
            self.log(take(self.workspace, facts["hash"], turn, passed=True))
        elif kind == "bench":
            self.log(take(self.workspace, facts["hash"], turn, passed=facts["passed"],
                          ratio=facts["ratio"] if facts["passed"] else None))
        elif kind == "submit":
            self.log(take(self.workspace, facts["hash"], turn))
            self.snapshots.submitted = facts["hash"]
            self.stop_reason = "submitted"
