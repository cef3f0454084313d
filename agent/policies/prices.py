"""What a response costs: USD per million tokens, per model, in this one table (a Price,
agent/session/budget.py, bills a response's usage). Its models are exactly the installed
SDK's (`anthropic.types.Model`), less the one with no published price;
tests/agent/test_prices.py holds both directions.

Sources:
- platform.claude.com/docs/en/about-claude/pricing (the model pricing table, with 5-minute
  and 1-hour cache writes): Fable 5.1, Mythos 5.1, Fable 5, Mythos 5, Opus 5,
  Opus 4.8/4.7/4.6/4.5.
- platform.claude.com/docs/.../models/<model>/overview pages (5m write, 1h write, read):
  Opus 5.5 ($4/$20, $5, $8, $0.20), Sonnet 5 ($2/$10, $2.50, $4, $0.20), Sonnet 5.5 ($2/$10,
  $2.50, $4), Sonnet 4.6 ($3/$15), Haiku 4.5 ($1/$5), Haiku 5.5 ($0.10/$0.50 for prompts up
  to 100,000 tokens, $0.50/$2.50 above).
- Secondary (pricing tools that track the official page): Sonnet 5.5 cache reads $0.10 (its
  overview page listed $0.20 at release, before a reduction); Haiku 5.5 cache writes $0.125
  (1h $0.20) and reads $0.01, long prompts $0.625 and $0.05; Fable 5.2 at $8/$40, write $10,
  read $0.20. Mythos models share the Fable model of the same version's prices (the Fable 5
  page says so for 5.0); Mythos 5.2 is taken to follow Fable 5.2.
- 1-hour cache writes not stated in those sources (Fable/Mythos 5.2, Haiku 5.5's long
  prompts, Sonnet 4.6, Haiku 4.5) are priced at 2x input, the rate the pricing page states
  for every model it lists: the higher estimate, so a dollar budget errs on the safe side.
Not priced here (no published price found): claude-mythos-preview; it needs `--price`.
Prices change: check the pricing page and pass `--price` when they do.
"""

from __future__ import annotations

from agent.session.budget import Price

_FABLE_5 = Price(10.0, 50.0, 12.5, 1.0, 20.0)
_FABLE_5_1 = Price(10.0, 50.0, 12.5, 0.25, 20.0)
_FABLE_5_2 = Price(8.0, 40.0, 10.0, 0.20, 16.0)
_OPUS_4_5_TO_5 = Price(5.0, 25.0, 6.25, 0.50, 10.0)
_SONNET_4_6 = Price(3.0, 15.0, 3.75, 0.30, 6.0)
_HAIKU_4_5 = Price(1.0, 5.0, 1.25, 0.10, 2.0)

PRICES: dict[str, Price] = {
    "claude-fable-5-2": _FABLE_5_2,
    "claude-mythos-5-2": _FABLE_5_2,
    "claude-fable-5-1": _FABLE_5_1,
    "claude-mythos-5-1": _FABLE_5_1,
    "claude-fable-5": _FABLE_5,
    "claude-mythos-5": _FABLE_5,
    "claude-opus-5-5": Price(4.0, 20.0, 5.0, 0.20, 8.0),
    "claude-opus-5": _OPUS_4_5_TO_5,
    "claude-opus-4-8": _OPUS_4_5_TO_5,
    "claude-opus-4-7": _OPUS_4_5_TO_5,
    "claude-opus-4-6": _OPUS_4_5_TO_5,
    "claude-opus-4-5": _OPUS_4_5_TO_5,
    "claude-opus-4-5-20251101": _OPUS_4_5_TO_5,
    "claude-sonnet-5-5": Price(2.0, 10.0, 2.50, 0.10, 4.0),
    "claude-sonnet-5": Price(2.0, 10.0, 2.50, 0.20, 4.0),
    "claude-sonnet-4-6": _SONNET_4_6,
    "claude-haiku-5-5": Price(0.10, 0.50, 0.125, 0.01, 0.20, long_prompt_tokens=100_000,
                              long=Price(0.50, 2.50, 0.625, 0.05, 1.0)),
    "claude-haiku-4-5": _HAIKU_4_5,
    "claude-haiku-4-5-20251001": _HAIKU_4_5,
}
UNPRICED = {"claude-mythos-preview": "no published price found"}


def parse_price(text: str) -> Price:
    """'IN,OUT,CACHE_WRITE,CACHE_READ[,CACHE_WRITE_1H]' in USD per million tokens."""
    parts = text.split(",")
    try:
        values = [float(p) for p in parts]
    except ValueError:
        values = []
    if len(values) not in (4, 5) or any(v < 0 for v in values):
        raise ValueError(f"--price wants four non-negative numbers IN,OUT,CACHE_WRITE,CACHE_READ "
                         f"(USD per million tokens; a fifth, the 1-hour cache write, is "
                         f"optional), got {text!r}")
    return Price(*values)


def price_for(model: str, override: str | None = None) -> Price:
    """The price of `model`: the override when given, else the table's row."""
    if override is not None:
        return parse_price(override)
    if model not in PRICES:
        why = UNPRICED.get(model, "not in agent/policies/prices.py")
        raise ValueError(f"no price is known for model {model!r} ({why}); pass --price IN,OUT,"
                         f"CACHE_WRITE,CACHE_READ (USD per million tokens) so the dollar "
                         f"budget can be kept")
    return PRICES[model]
