"""Every model family's request, through the real SDK, against a mock Messages API that
answers 400 where the documentation says the API does (mockapi.py): thinking type,
display, effort, streaming, max_tokens, cache breakpoints and TTL, thinking blocks sent
back with their signatures. Two turns each: a thinking block and a tool call, then
submit."""

from __future__ import annotations

import pytest
from agentfakes import message, tool_use, usage
from mockapi import MODELS, DocumentedAPI

from agent.policies.models import DEFAULT_MAX_TOKENS, TABLE, capabilities
from agent.policies.prices import PRICES
from agent.session.budget import Price

THOUGHT = {"type": "thinking", "thinking": "read ops.py first", "signature": "?"}
SUMMARIZED = {"type": "adaptive", "display": "summarized"}


def _script() -> list:
    return [message(THOUGHT, tool_use("list_files", "t1")),
            message(THOUGHT, tool_use("submit", "t2"))]


def _run(start_claude, model: str, **kw):
    api = DocumentedAPI(_script())
    session, _ = start_claude([], api=api, model=model, max_tokens=None, **kw)
    outcome = session.run()
    assert api.rejected == [] and outcome.stop_reason == "submitted"
    return api.bodies, session


# the request each family gets when nothing is asked (thinking: the model's default)
DEFAULTS = [
    ("claude-sonnet-5-5", SUMMARIZED, 64_000), ("claude-opus-5-5", SUMMARIZED, 64_000),
    ("claude-fable-5-2", SUMMARIZED, 64_000), ("claude-fable-5-1", SUMMARIZED, 64_000),
    ("claude-fable-5", SUMMARIZED, 64_000), ("claude-mythos-5", SUMMARIZED, 64_000),
    ("claude-opus-5", SUMMARIZED, 64_000), ("claude-sonnet-5", SUMMARIZED, 64_000),
    ("claude-haiku-5-5", SUMMARIZED, 64_000), ("claude-opus-4-8", None, 64_000),
    ("claude-opus-4-7", None, 64_000), ("claude-opus-4-6", None, 64_000),
    ("claude-sonnet-4-6", None, 64_000), ("claude-opus-4-5", None, 64_000),
    ("claude-haiku-4-5", None, 64_000), ("claude-mythos-preview", SUMMARIZED, 32_000),
]


@pytest.mark.parametrize("model, thinking, max_tokens", DEFAULTS)
def test_each_family_gets_a_request_the_api_takes(start_claude, model, thinking, max_tokens):
    bodies, _ = _run(start_claude, model)
    first = bodies[0]
    assert first["stream"] is True and first["max_tokens"] == max_tokens
    assert first.get("thinking") == thinking and "output_config" not in first
    # the thinking block goes back as the API sent it, signature included
    assert bodies[1]["messages"][1]["content"][0]["signature"] == "sig-0"


@pytest.mark.parametrize("model, thinking, effort, sent", [
    ("claude-sonnet-5-5", "on", "max", SUMMARIZED),
    ("claude-sonnet-5-5", "off", "low", {"type": "between_tools"}),
    ("claude-opus-5", "off", "high", {"type": "disabled"}),
    ("claude-haiku-5-5", "off", None, {"type": "disabled"}),
    ("claude-opus-4-8", "on", "xhigh", SUMMARIZED),
    ("claude-opus-4-6", 4000, "max", {"type": "enabled", "budget_tokens": 4000}),
    ("claude-opus-4-5", 2048, "medium", {"type": "enabled", "budget_tokens": 2048}),
    ("claude-haiku-4-5", 2048, None, {"type": "enabled", "budget_tokens": 2048}),
    ("claude-mythos-preview", 8000, "max", {"type": "enabled", "budget_tokens": 8000}),
])
def test_thinking_and_effort_as_asked(start_claude, model, thinking, effort, sent):
    bodies, _ = _run(start_claude, model, thinking=thinking, effort=effort)
    assert bodies[0]["thinking"] == sent
    assert bodies[0].get("output_config") == ({"effort": effort} if effort else None)


def test_the_mock_rejects_what_the_api_rejects(start_claude):
    """The old request for --thinking 4000 on Sonnet 5.5 is refused by the mock."""
    api = DocumentedAPI(_script())
    session, _ = start_claude([], api=api, model="claude-haiku-4-5")
    body = session.policy.request(session.messages, 4000, session.system)
    assert api.check({**body, "model": "claude-sonnet-5-5", "stream": True,
                      "thinking": {"type": "enabled", "budget_tokens": 2000}})[0] == 400
    assert api.check({**body, "max_tokens": 100_000})[0] == 400  # over Haiku 4.5's 64K
    assert api.check({**body, "model": "claude-nope"})[0] == 404


@pytest.mark.parametrize("ttl, rate", [("5m", 1.25), ("1h", 2.0)])
def test_cache_ttl_is_sent_on_both_breakpoints_and_priced(start_claude, ttl, rate):
    price = Price(input=1.0, output=10.0, cache_write=1.25, cache_read=0.1)  # 1h: 2x input
    script = [message(tool_use("submit", "t1"), use=usage(inp=0, out=0, write=1_000_000))]
    api = DocumentedAPI(script)
    session, _ = start_claude([], api=api, cache_ttl=ttl, price=price)
    outcome = session.run()
    body = api.bodies[0]
    assert body["system"][0]["cache_control"] == {"type": "ephemeral", "ttl": ttl}
    assert body["messages"][-1]["content"][-1]["cache_control"]["ttl"] == ttl
    # usage without a TTL split: every written token at the asked TTL's rate (and the
    # mock's count of the fresh prompt at $1/M)
    fresh = outcome.spend.input_tokens
    assert outcome.spend.dollars == pytest.approx(rate + fresh / 1e6)


def test_usage_split_by_ttl_is_priced_per_ttl():
    haiku = PRICES["claude-haiku-4-5"]
    split = {"cache_creation_input_tokens": 3_000_000,
             "cache_creation": {"ephemeral_5m_input_tokens": 1_000_000,
                                "ephemeral_1h_input_tokens": 2_000_000}}
    assert haiku.cost(split, "5m") == pytest.approx(1.25 + 2 * 2.0)


def test_capabilities_come_from_the_models_api_where_it_answers():
    api = DocumentedAPI([])
    api.models = {"claude-opus-4-6": {**api.model_info("claude-opus-4-6"), "max_tokens": 9000}}
    caps = capabilities("claude-opus-4-6", api.client())
    assert caps.source == "models-api" and caps.max_output == 9000
    assert set(caps.thinking) == {"adaptive", "enabled", "disabled"}
    assert "xhigh" not in caps.efforts and "max" in caps.efforts
    fallback = capabilities("claude-opus-4-5", api.client())  # 404 there: the table's row
    assert fallback == TABLE["claude-opus-4-5"]


def test_the_table_covers_every_model_the_sdk_and_the_mock_know():
    import typing

    from anthropic.types.model_param import ModelParam

    literal = next(a for a in typing.get_args(ModelParam)
                   if typing.get_origin(a) is typing.Literal)
    sdk = set(typing.get_args(literal))
    assert set(TABLE) == sdk
    assert {m for m in sdk if not m[-8:].isdigit()} <= set(MODELS)
    assert all(min(c.max_output, DEFAULT_MAX_TOKENS) <= c.max_output for c in TABLE.values())
