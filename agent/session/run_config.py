"""What one agent run is asked to do: its policy and model, track, budgets, price, request
limits, scoring rounds and the command that asked. Written into the transcript's start
event, so `--resume` and `show` read back exactly the run that started, with the changes
each resume made to its options (an `options` event: RunConfig.with_options)."""

from __future__ import annotations

import dataclasses
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timezone

from agent.session.budget import FREE, Budgets, Price

# run_bench rounds per policy when none is asked for; 1 (fewer than the official evaluation)
# for a model. The library policy keeps a slot's implementation when run_bench says it is
# faster, and on tiny one round is noisier than those gains. Its tiny/cpu records on the
# 2-core CPU machine: with 1 round 1.08x, 1.50x, 1.13x (results/superseded/20261126T224705_*,
# 20261127T004055_*, 20261127T004400_*: the last two, different solutions); with 3
# rounds 2.09x, 2.07x, 2.55x (results/superseded/20261127T004819_*, 20261127T005200_*,
# 20261127T005830_*), at 173 s to 202 s of agent wall time against 98 s to 113 s.
BENCH_ROUNDS = {"library": 3}

# What a resume may change, from the next request on: how the run asks the model (the
# Claude policy's) and how far it may go. Every other option says what the run is.
REQUEST_OPTIONS = ("thinking", "effort", "max_tokens", "cache_ttl", "price")
BUDGET_OPTIONS = tuple(f.name for f in dataclasses.fields(Budgets))


def _user_results_dir() -> str:
    """The user's records folder (bench.records.user_results_dir, under $XDG_DATA_HOME), read
    when a config is made; never results/, the shipped reference records of a checkout."""
    from bench.records import user_results_dir

    return str(user_results_dir())


@dataclass(frozen=True)
class RunConfig:
    run_id: str
    policy: str  # claude | library | replay | inspect
    model: str | None  # None for the library policy (no model behind it)
    preset: str
    device: str
    budgets: Budgets = field(default_factory=Budgets)
    price: Price = FREE
    max_tokens: int | None = None  # per response, thinking included; None: the model's
    thinking: int | str | None = None  # None: the model's default; "on", "off", a budget
    effort: str | None = None  # output_config.effort; None: the model's default
    cache_ttl: str = "5m"  # of the prompt cache's breakpoints (prices.CACHE_TTLS)
    bench_rounds: int | None = None  # run_bench; None: the policy's (BENCH_ROUNDS)
    eval_rounds: int = 3  # the official evaluation
    replay_from: str | None = None
    results_dir: str = field(default_factory=_user_results_dir)  # where the record goes
    # the command that started the run, as a user types it ('speedup agent --policy ...'):
    # its record names it. Empty in transcripts written before the field.
    command_line: str = ""

    def __post_init__(self) -> None:
        if self.bench_rounds is None:
            object.__setattr__(self, "bench_rounds", BENCH_ROUNDS.get(self.policy, 1))

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["price"] = self.price.to_dict()
        return d

    @classmethod
    def from_dict(cls, d: dict) -> RunConfig:
        return cls(**{**d, "budgets": Budgets.from_dict(d["budgets"]),
                      "price": Price.from_dict(d["price"])})

    def option(self, name: str):
        """A request or budget option's value as an options event writes it."""
        if name in BUDGET_OPTIONS:
            return getattr(self.budgets, name)
        return self.price.to_dict() if name == "price" else getattr(self, name)

    def with_options(self, changes: dict) -> RunConfig:
        """This config with an options event's `changes` ({option: {"from": old, "to": new}},
        REQUEST_OPTIONS and BUDGET_OPTIONS, values as `option` gives them) applied."""
        new = {name: change["to"] for name, change in changes.items()}
        limits = {name: new.pop(name) for name in BUDGET_OPTIONS if name in new}
        if "price" in new:
            new["price"] = Price.from_dict(new["price"])
        return dataclasses.replace(self, budgets=dataclasses.replace(self.budgets, **limits),
                                   **new)


def describe_change(name: str, change: dict) -> str:
    """'--effort low -> high': one option's change, as the command line spells it."""
    def shown(value) -> str:
        if value is None:
            return "the model's"
        if isinstance(value, dict):  # a price: the --price order
            return ",".join(str(value[k]) for k in ("input", "output", "cache_write",
                                                    "cache_read", "cache_write_1h"))
        return str(value)

    return f"--{name.replace('_', '-')} {shown(change['from'])} -> {shown(change['to'])}"


def new_run_id(policy: str) -> str:
    """A run id that sorts by start time: '<UTC time>-<policy>-<6 hex>'."""
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S")
    return f"{stamp}-{policy}-{secrets.token_hex(3)}"
