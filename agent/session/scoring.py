"""The end of a session: the official evaluation of the state its snapshots choose (fresh
secret seeds, the configured rounds, without the kernel library), then its record, with
what the session spent, why it stopped, which state was scored, the session's outcome and
what the judge refused during it (its refused_attempt events, counted by check).

Outcomes (the record's agent.outcome; results/README.md has the rules):
    submitted         the model called submit: its state is evaluated
    budget            a budget ran out: the best state that passed the judge is evaluated
    ended             the model stopped on its own (ended twice without a tool call, filled
                      its context window) or the policy had no more turns: likewise
    refusal           the API refused (stop_reason "refusal"; its category recorded): the
                      best state that passed the judge, else the baseline
    no_passing_state  the session ended, by a budget or on its own, before any state passed
                      the judge
A refusal or a session with no passing state scores as the untouched baseline, 1.0x by
definition, without a run (harness.baseline_evaluation); either counts in the model's runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from agent.session.budget import Spend
from agent.session.harness import Harness, evaluation_summary
from agent.session.run_config import RunConfig
from agent.session.run_dir import RunDir
from agent.session.snapshots import Snapshots
from agent.session.transcript import Transcript, read_events, refused_attempts

OUTCOMES = ("submitted", "budget", "ended", "refusal", "no_passing_state")


def outcome_of(stop_reason: str | None, source: str) -> str:
    """The session's outcome from why it stopped and which state the snapshots chose."""
    if stop_reason == "submitted":
        return "submitted"
    if stop_reason == "refusal":
        return "refusal"
    if source == "baseline":
        return "no_passing_state"
    return "budget" if (stop_reason or "").startswith("budget:") else "ended"


class Ended(Protocol):
    """What scoring reads of a session that has stopped (agent.session.loop.Session is one;
    named here so that scoring, below the session, never imports it)."""

    config: RunConfig
    run_dir: RunDir
    harness: Harness
    snapshots: Snapshots
    transcript: Transcript
    spend: Spend
    stop_reason: str | None
    refusal_category: str | None

    def log(self, event: dict[str, Any]) -> None: ...


@dataclass
class Outcome:
    run_id: str
    stop_reason: str
    outcome: str
    spend: Spend
    source: str  # which state was scored: submitted | best_checked | baseline
    hash: str  # its solution hash, the record's solution_hash
    evaluation: dict
    record: Path


def score(session: Ended, on_progress=None) -> Outcome:
    """Evaluate the chosen state from its snapshot, write the record (with the transcript
    archived beside it, and the command that started the run), and point the run's
    record.json at it (a run with that file is finished)."""
    config = session.config
    source, solution_hash = session.snapshots.chosen()
    solution = session.snapshots.path(solution_hash)
    outcome = outcome_of(session.stop_reason, source)
    if source == "baseline":  # the untouched baseline, never submitted: 1.0x, no run
        evaluation = session.harness.baseline_evaluation(solution, config.preset,
                                                         config.device, outcome)
    else:
        evaluation = session.harness.official_evaluation(
            solution, config.preset, config.device, config.eval_rounds,
            on_progress=on_progress)
    summary = evaluation_summary(evaluation)
    session.log({"event": "evaluation", "source": source, "hash": solution_hash,
                 "outcome": outcome, "path": str(solution.relative_to(session.run_dir.path)),
                 "summary": summary})
    extra = record_extra(config, session.spend, session.stop_reason, source)
    extra.update(outcome=outcome, refusal_category=session.refusal_category,
                 refused_attempts=refused_attempts(read_events(session.transcript.path)))
    record = session.harness.write_record(evaluation, entrant(config), extra,
                                          config.results_dir, transcript=session.transcript.path,
                                          command=config.command_line)
    session.run_dir.mark_scored(record, session.transcript.sha256())
    return Outcome(config.run_id, session.stop_reason or "", outcome, session.spend, source,
                   solution_hash, summary, Path(record))


def entrant(config: RunConfig) -> dict:
    """Who the record is for: agents group on the leaderboard by policy and model."""
    return {"kind": "agent", "policy": config.policy, "model": config.model,
            "run_id": config.run_id}


def record_extra(config: RunConfig, spend: Spend, stop_reason: str | None,
                 source: str) -> dict:
    """The record's `agent` block: tokens, dollars, turns, time, why it stopped, which
    state was scored, price, budgets, the request settings (score() adds the outcome, the
    refusal category and the refused attempts by check, counted from the transcript; the
    official evaluation's record writer the transcript's path and hash, as it archives
    it)."""
    return {
        "tokens": {"input": spend.input_tokens, "output": spend.output_tokens,
                   "cache_write": spend.cache_write_tokens,
                   "cache_read": spend.cache_read_tokens},
        "dollars": round(spend.dollars, 6), "turns": spend.turns,
        "wall_s": round(spend.wall_s, 3), "device_s": round(spend.device_s, 3),
        "stop_reason": stop_reason, "scored_state": source,
        "price_per_mtok": config.price.to_dict(), "budgets": config.budgets.to_dict(),
        "thinking": config.thinking, "effort": config.effort, "cache_ttl": config.cache_ttl,
        "max_tokens": config.max_tokens,
    }
