"""What a response costs: USD per million tokens, per model, in this one table.

Sources:
- platform.claude.com/docs/en/about-claude/pricing (the model pricing table): Fable 5.1,
  Mythos 5.1, Fable 5, Mythos 5, Opus 5, Opus 4.8/4.7/4.6/4.5, Sonnet 4.6/4.5, Haiku 4.5.
- platform.claude.com/docs/.../models/<model>/overview pages: Opus 5.5 ($4/$20, 5m write $5,
  read $0.20), Sonnet 5.5 and Sonnet 5 ($2/$10, write $2.50), Haiku 5.5 ($0.10/$0.50 for
  prompts up to 100,000 tokens, $0.50/$2.50 above).
- Secondary (release notes of pricing tools that track the official page): Sonnet 5.5 cache
  reads $0.10; Haiku 5.5 cache writes $0.125 ($0.625 long) and reads $0.01 ($0.05 long);
  Fable 5.2 at $8/$40, write $10, read $0.20. Mythos models share the Fable model of the
  same version's prices (the Fable 5 page says so for 5.0); Mythos 5.2 is assumed to follow
  Fable 5.2.
Not priced here (no published price found): claude-mythos-preview. Such a model needs
`--price`. Prices change: check the pricing page and pass `--price` when they do.

Cache writes are priced at the 5-minute rate, the TTL of the loop's `cache_control`.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Price:
    """USD per million tokens. When a request's prompt (input + cache writes + cache reads)
    exceeds `long_prompt_tokens`, every token of that request is billed at `long`'s rates."""

    input: float
    output: float
    cache_write: float
    cache_read: float
    long_prompt_tokens: int | None = None
    long: Price | None = None

    def cost(self, usage: dict) -> float:
        """Dollars for one response's `usage` (the Messages API usage object as a dict)."""
        fresh = usage.get("input_tokens") or 0
        written = usage.get("cache_creation_input_tokens") or 0
        read = usage.get("cache_read_input_tokens") or 0
        out = usage.get("output_tokens") or 0
        prompt = fresh + written + read
        is_long = self.long is not None and prompt > (self.long_prompt_tokens or prompt)
        rates = self.long if is_long else self
        return (fresh * rates.input + written * rates.cache_write + read * rates.cache_read
                + out * rates.output) / 1e6

    def to_dict(self) -> dict:
        d = {"input": self.input, "output": self.output, "cache_write": self.cache_write,
             "cache_read": self.cache_read}
        if self.long is not None:
            d["long_prompt_tokens"] = self.long_prompt_tokens
            d["long"] = self.long.to_dict()
        return d

    @classmethod
    def from_dict(cls, d: dict) -> Price:
        long = d.get("long")
        return cls(**{**d, "long": cls.from_dict(long) if long else None})


FREE = Price(0.0, 0.0, 0.0, 0.0)  # offline policies call no API

_FABLE_5 = Price(10.0, 50.0, 12.5, 1.0)
_FABLE_5_1 = Price(10.0, 50.0, 12.5, 0.25)
_FABLE_5_2 = Price(8.0, 40.0, 10.0, 0.20)
_OPUS_4_5_TO_5 = Price(5.0, 25.0, 6.25, 0.50)
_SONNET_4 = Price(3.0, 15.0, 3.75, 0.30)

PRICES: dict[str, Price] = {
    "claude-fable-5-2": _FABLE_5_2,
    "claude-mythos-5-2": _FABLE_5_2,
    "claude-fable-5-1": _FABLE_5_1,
    "claude-mythos-5-1": _FABLE_5_1,
    "claude-fable-5": _FABLE_5,
    "claude-mythos-5": _FABLE_5,
    "claude-opus-5-5": Price(4.0, 20.0, 5.0, 0.20),
    "claude-opus-5": _OPUS_4_5_TO_5,
    "claude-opus-4-8": _OPUS_4_5_TO_5,
    "claude-opus-4-7": _OPUS_4_5_TO_5,
    "claude-opus-4-6": _OPUS_4_5_TO_5,
    "claude-opus-4-5": _OPUS_4_5_TO_5,
    "claude-opus-4-5-20251101": _OPUS_4_5_TO_5,
    "claude-sonnet-5-5": Price(2.0, 10.0, 2.50, 0.10),
    "claude-sonnet-5": Price(2.0, 10.0, 2.50, 0.20),
    "claude-sonnet-4-6": _SONNET_4,
    "claude-sonnet-4-5": _SONNET_4,
    "claude-sonnet-4-5-20250929": _SONNET_4,
    "claude-haiku-5-5": Price(0.10, 0.50, 0.125, 0.01, long_prompt_tokens=100_000,
                              long=Price(0.50, 2.50, 0.625, 0.05)),
    "claude-haiku-4-5": Price(1.0, 5.0, 1.25, 0.10),
    "claude-haiku-4-5-20251001": Price(1.0, 5.0, 1.25, 0.10),
}


def parse_price(text: str) -> Price:
    """'IN,OUT,CACHE_WRITE,CACHE_READ' in USD per million tokens -> Price."""
    parts = text.split(",")
    try:
        values = [float(p) for p in parts]
    except ValueError:
        values = []
    if len(values) != 4 or any(v < 0 for v in values):
        raise ValueError(f"--price wants four non-negative numbers IN,OUT,CACHE_WRITE,CACHE_READ "
                         f"(USD per million tokens), got {text!r}")
    return Price(*values)


def price_for(model: str, override: str | None = None) -> Price:
    """The price of `model`: the override when given, else the table's row."""
    if override is not None:
        return parse_price(override)
    if model not in PRICES:
        raise ValueError(f"no price is known for model {model!r}; pass --price IN,OUT,"
                         f"CACHE_WRITE,CACHE_READ (USD per million tokens) so the dollar "
                         f"budget can be kept")
    return PRICES[model]
