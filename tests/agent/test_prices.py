"""The price table: every token kind priced, both cache TTLs, the long-prompt tier,
overrides, and exactly the models the installed SDK names (so an SDK upgrade that adds a
model fails here until the table has it or lists it as unpriced, and a row for a model the
SDK does not know fails too)."""

from __future__ import annotations

import typing

import pytest
from agentfakes import usage

from agent.policies.prices import PRICES, UNPRICED, parse_price, price_for
from agent.session.budget import Price


def test_cost_prices_every_token_kind():
    p = Price(input=3.0, output=15.0, cache_write=3.75, cache_read=0.30)
    cost = p.cost(usage(inp=1_000, out=2_000, write=10_000, read=100_000))
    assert cost == pytest.approx((1_000 * 3 + 2_000 * 15 + 10_000 * 3.75 + 100_000 * 0.3) / 1e6)


def test_long_prompts_are_billed_at_the_long_rates():
    haiku = PRICES["claude-haiku-5-5"]
    short = haiku.cost(usage(inp=50_000, out=1_000, read=50_000))
    long = haiku.cost(usage(inp=50_000, out=1_000, read=50_001))
    assert short == pytest.approx((50_000 * 0.10 + 1_000 * 0.50 + 50_000 * 0.01) / 1e6)
    assert long == pytest.approx((50_000 * 0.50 + 1_000 * 2.50 + 50_001 * 0.05) / 1e6)


def test_the_priced_models_are_exactly_the_sdks():
    from anthropic.types.model_param import ModelParam

    literal = next(a for a in typing.get_args(ModelParam) if typing.get_origin(a) is
                   typing.Literal)
    sdk = set(typing.get_args(literal))
    assert set(PRICES) | set(UNPRICED) == sdk and not set(PRICES) & set(UNPRICED)


def test_one_hour_cache_writes_are_priced_at_their_rate():
    opus = PRICES["claude-opus-5-5"]
    assert opus.cost(usage(inp=0, out=0, write=1_000_000), "1h") == pytest.approx(8.0)
    assert opus.cost(usage(inp=0, out=0, write=1_000_000), "5m") == pytest.approx(5.0)
    assert parse_price("1,2,3,4").write_1h == 2.0  # unstated: twice the input price
    assert parse_price("1,2,3,4,7").write_1h == 7.0


def test_override_and_unknown_models():
    assert price_for("claude-sonnet-5-5", "1,2,3,4") == Price(1, 2, 3, 4)
    assert price_for("my-model", "1,2,3,4").output == 2
    with pytest.raises(ValueError, match="no published price found.*--price"):
        price_for("claude-mythos-preview")
    for bad in ("1,2,3", "a,b,c,d", "1,2,3,-4"):
        with pytest.raises(ValueError, match="four non-negative"):
            parse_price(bad)


def test_a_saved_run_config_keeps_the_long_prompt_tier():
    """--resume reads the price back from the transcript's config: a long prompt must
    still cost the long rate after the round trip."""
    from agent.session.run_config import RunConfig

    config = RunConfig("r1", "claude", "claude-haiku-5-5", "tiny", "cpu",
                       price=price_for("claude-haiku-5-5", None))
    back = RunConfig.from_dict(config.to_dict())
    long_prompt = usage(inp=100_001, out=0, write=0, read=0)
    assert back.price == config.price
    assert back.price.cost(long_prompt) == pytest.approx(100_001 * 0.50 / 1e6)
