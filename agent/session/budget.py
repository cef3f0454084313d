"""Price (what a token costs), Budgets (what a run may use) and Spend (what it used, kept
across `--resume`). The price table of the Claude models is agent/policies/prices.py.

A limit is checked before each turn: a turn starts only while every counter is below its
limit, so the turn that crosses a limit completes (its tokens are paid for; its tool calls
run) and the run stops before the next one. To bound that overshoot, the loop caps each
request's max_tokens by the output tokens and dollars left (`Session._max_tokens`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

CACHE_TTLS = ("5m", "1h")  # cache_control.ttl values the Messages API takes


@dataclass(frozen=True)
class Price:
    """USD per million tokens. `cache_write` is the 5-minute TTL's rate, `cache_write_1h`
    the 1-hour one's (None: twice `input`). When a request's prompt (input + cache writes +
    cache reads) exceeds `long_prompt_tokens`, every token of it is billed at `long`."""

    input: float
    output: float
    cache_write: float
    cache_read: float
    cache_write_1h: float | None = None
    long_prompt_tokens: int | None = None
    long: Price | None = None

    @property
    def write_1h(self) -> float:
        return 2 * self.input if self.cache_write_1h is None else self.cache_write_1h

    def cost(self, usage: dict, cache_ttl: str = "5m") -> float:
        """Dollars for one response's `usage` (the Messages API usage object as a dict).
        Cache writes are split by TTL where the usage says (`cache_creation`), else they
        are all at the rate of the TTL the request asked for."""
        fresh = usage.get("input_tokens") or 0
        written = usage.get("cache_creation_input_tokens") or 0
        read = usage.get("cache_read_input_tokens") or 0
        out = usage.get("output_tokens") or 0
        split = usage.get("cache_creation") or {}
        if split:
            hour = split.get("ephemeral_1h_input_tokens") or 0
            five = split.get("ephemeral_5m_input_tokens") or 0
        else:
            hour, five = (written, 0) if cache_ttl == "1h" else (0, written)
        prompt = fresh + written + read
        is_long = self.long is not None and prompt > (self.long_prompt_tokens or prompt)
        rates = self.long if is_long else self
        return (fresh * rates.input + five * rates.cache_write + hour * rates.write_1h
                + read * rates.cache_read + out * rates.output) / 1e6

    def to_dict(self) -> dict:
        d = {"input": self.input, "output": self.output, "cache_write": self.cache_write,
             "cache_read": self.cache_read, "cache_write_1h": self.write_1h}
        if self.long is not None:
            d["long_prompt_tokens"] = self.long_prompt_tokens
            d["long"] = self.long.to_dict()
        return d

    @classmethod
    def from_dict(cls, d: dict) -> Price:
        long = d.get("long")
        return cls(**{**d, "long": cls.from_dict(long) if long else None})


FREE = Price(0.0, 0.0, 0.0, 0.0, 0.0)  # offline policies call no API


@dataclass(frozen=True)
class Budgets:
    max_turns: int = 100
    max_input_tokens: int = 20_000_000  # every prompt token: fresh + cache writes + cache reads
    max_output_tokens: int = 1_000_000  # thinking included (it is billed as output)
    max_dollars: float = 25.0
    max_wall_s: float = 4 * 3600.0
    max_device_s: float = 3600.0  # seconds spent in run_check, run_bench and profile

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> Budgets:
        return cls(**d)


@dataclass
class Spend:
    turns: int = 0
    input_tokens: int = 0
    cache_write_tokens: int = 0
    cache_read_tokens: int = 0
    output_tokens: int = 0
    dollars: float = 0.0
    wall_s: float = 0.0
    device_s: float = 0.0

    @property
    def prompt_tokens(self) -> int:
        return self.input_tokens + self.cache_write_tokens + self.cache_read_tokens

    def add_usage(self, usage: dict, price: Price, cache_ttl: str = "5m") -> float:
        """Count one response's usage; returns its cost in dollars (cache writes at the
        rate of `cache_ttl` where the usage does not split them by TTL)."""
        self.input_tokens += usage.get("input_tokens") or 0
        self.cache_write_tokens += usage.get("cache_creation_input_tokens") or 0
        self.cache_read_tokens += usage.get("cache_read_input_tokens") or 0
        self.output_tokens += usage.get("output_tokens") or 0
        cost = price.cost(usage, cache_ttl)
        self.dollars += cost
        return cost

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> Spend:
        return cls(**d)


def exhausted(budgets: Budgets, spend: Spend) -> str | None:
    """The first limit reached ('budget:<name>'), or None while the run may go on."""
    limits = [
        ("turns", spend.turns, budgets.max_turns),
        ("input_tokens", spend.prompt_tokens, budgets.max_input_tokens),
        ("output_tokens", spend.output_tokens, budgets.max_output_tokens),
        ("dollars", spend.dollars, budgets.max_dollars),
        ("wall", spend.wall_s, budgets.max_wall_s),
        ("device", spend.device_s, budgets.max_device_s),
    ]
    for name, used, limit in limits:
        if used >= limit:
            return f"budget:{name}"
    return None
