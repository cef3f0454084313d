"""When a timed run was contended: the rule, and what a round row records of each run: its
window, what the machine gave it, and what the judge left out of it.

Each timed run reports what the machine gave it (correctness.sandbox.usage's RunUsage as a
dict: its CPU time beside its wall time, the share of the CPUs other work took while it
was timed, the load at go). A run is contended when that foreign share is above
`MAX_FOREIGN_SHARE`; the clock (bench/clock.py) times a round again while either of its
runs was, up to `ATTEMPTS_PER_ROUND` attempts, and an evaluation with a round still
contended after the last one could not get a quiet machine: it claims nothing.
"""

from __future__ import annotations

# Other work's share of the CPUs a run could use, above which the run is contended. On the
# 2-core machine (bench/measurements/2026-12-07-clock-contention.json, "threshold_probe":
# the tiny baseline alone and beside loops busy 10%, 20% and all of the time) runs alone
# showed 0.000-0.038 and took 0.82-1.09 s; at 0.06-0.07, 0.93-1.08 s; at 0.09-0.11,
# 1.07-1.18 s; at 0.19, 1.34 s; from 0.35, 1.9-28.8 s. 0.05 lies above what the machine
# alone showed and below the first share at which the times moved.
MAX_FOREIGN_SHARE = 0.05
ATTEMPTS_PER_ROUND = 3  # attempts in all, the first included
RULE = {"max_foreign_share": MAX_FOREIGN_SHARE, "attempts_per_round": ATTEMPTS_PER_ROUND}


def run_fields(side: str, result) -> dict:
    """A run's wall-clock window (time.time() at go and done), usage and notes (what the
    judge left out of the run, RunResult.notes) under the row's names for `side`; None for
    a run that did not happen or reported none (a fake runner, a machine without /proc)."""
    notes = getattr(result, "notes", None)
    return {f"{side}_started_at": getattr(result, "started_at", None),
            f"{side}_ended_at": getattr(result, "ended_at", None),
            f"{side}_usage": getattr(result, "usage", None),
            f"{side}_notes": None if notes is None else list(notes)}


def pair_fields(base, cand) -> dict:
    """`run_fields` of a round's baseline and candidate runs."""
    return {**run_fields("baseline", base), **run_fields("candidate", cand)}


PAIR = ("baseline", "candidate")


def foreign_share(row: dict, sides: tuple[str, ...] = PAIR) -> float | None:
    """The largest share of the CPUs other work took during the row's runs of `sides`
    (None: none measured)."""
    shares = [(row.get(f"{side}_usage") or {}).get("foreign_share") for side in sides]
    return max((s for s in shares if s is not None), default=None)


def contended(row: dict, sides: tuple[str, ...] = PAIR) -> bool:
    """Whether other work contended any of the row's runs of `sides` (a run without a
    measurement counts as quiet: nothing says otherwise)."""
    return (foreign_share(row, sides) or 0.0) > MAX_FOREIGN_SHARE


def message(rounds: list[dict], rule: dict) -> str:
    """Why a contended evaluation claims nothing: which rounds, how busy, the rule."""
    busy = [r for r in rounds if r.get("contended")]
    worst = max((foreign_share(r) or 0.0 for r in busy), default=0.0)
    which = ", ".join(str(r["round"]) for r in busy)
    return (f"could not get a quiet machine: other work took up to {worst:.0%} of the CPUs "
            f"in round{'s' * (len(busy) > 1)} {which} after {rule['attempts_per_round']} "
            f"attempts (a run is contended above {rule['max_foreign_share']:.0%}), so the "
            "result is inconclusive")


def notes(ev) -> list[str]:
    """Every note of an evaluation's runs (`run_fields`), each once, naming whose runs it
    came from: the same cache copy gives every run of a solution the same notes."""
    rows = [ev.warmup or {}, *ev.rounds, *(a for r in ev.rounds for a in r.get("discarded", [])),
            *ev.self_rounds]
    found = {}
    for row in rows:
        for side in ("baseline", "candidate", "first", "second"):
            whose = "the baseline's" if side == "baseline" else "the candidate's"
            for note in row.get(f"{side}_notes") or []:
                found.setdefault(f"{whose} runs: {note}", None)
    return list(found)
