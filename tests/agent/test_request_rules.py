"""Each model's request rules are data (agent/policies/models.py's TABLE), and the mock
Messages API (mockapi.py) enforces the documentation's rules from a table of its own: the
two agree on every thinking option and effort level, so a wrong row in either shows here,
and a request the API would refuse is refused up front, in one line, before any request."""

from __future__ import annotations

import pytest
from agentfakes import message, tool_use
from mockapi import EFFORTS, MODELS, DocumentedAPI
from test_cli_outcomes import _records, _submit, cli  # noqa: F401 (cli: a fixture)

from agent.policies.models import TABLE, ModelCaps, settings

THINKING = (None, "on", "off", 2048)  # --thinking: the default, on, off, a budget


def _body(model: str, thinking: dict | None, effort: str | None) -> dict:
    body = {"model": model, "max_tokens": 4096, "stream": True,
            "messages": [{"role": "user", "content": [{"type": "text", "text": "go"}]}]}
    if thinking:
        body["thinking"] = thinking
    if effort:
        body["output_config"] = {"effort": effort}
    return body


def _as_asked(caps: ModelCaps, thinking, effort) -> dict:
    """The request a client that does not check would send for what the table refuses."""
    try:
        asked = settings(caps, thinking, None).thinking
    except ValueError:
        asked = ({"type": "enabled", "budget_tokens": thinking} if isinstance(thinking, int)
                 else {"type": "adaptive" if thinking == "on" else caps.off or "disabled"})
    return _body(caps.model, asked, effort)


@pytest.mark.parametrize("model", sorted(set(TABLE) & set(MODELS)))
def test_the_table_refuses_exactly_what_the_documented_api_rejects(model):
    api, caps = DocumentedAPI([]), TABLE[model]
    for thinking in THINKING:
        for effort in (None, *EFFORTS):
            try:
                sent = settings(caps, thinking, effort)
            except ValueError as refused:
                if not caps.note:  # a noted row refuses what is not documented either way
                    assert api.check(_as_asked(caps, thinking, effort)) is not None, (
                        f"{model} --thinking {thinking} --effort {effort}: the table refuses "
                        f"({refused}) what the API takes")
                continue
            effort_sent = (sent.output_config or {}).get("effort")
            problem = api.check(_body(model, sent.thinking, effort_sent))
            assert problem is None, (f"{model} --thinking {thinking} --effort {effort}: the "
                                     f"API rejects what the table sends: {problem}")


@pytest.mark.parametrize("effort", ["xhigh", "max"])
def test_thinking_off_at_an_effort_the_model_refuses_it_at_is_refused_up_front(
        cli, tmp_path, capsys, effort):  # noqa: F811
    api = DocumentedAPI([_submit()])
    code = cli(api, "--model", "claude-sonnet-5-5", "--thinking", "off", "--effort", effort)
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and "between_tools" in line and "effort high or lower" in line
    assert api.bodies == [] and _records(tmp_path) == []  # no request, no record


def test_the_mock_holds_one_effort_through_a_between_tools_conversation():
    api = DocumentedAPI([])
    thought = {"type": "thinking", "thinking": "list first", "signature": "?"}
    first = _body("claude-sonnet-5-5", {"type": "between_tools"}, "low")
    answer = api.answer(first, message(thought, tool_use("list_files", "t1")))
    again = {**first, "messages": [
        *first["messages"], {"role": "assistant", "content": answer["content"]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1",
                                      "content": "ops.py"}]}]}
    assert api.check(again) is None
    status, payload = api.check({**again, "output_config": {"effort": "high"}})
    assert status == 400 and "cannot change mid-conversation" in payload["error"]["message"]
    adaptive = {**again, "thinking": {"type": "adaptive"}, "output_config": {"effort": "high"}}
    assert api.check(adaptive) is not None  # answered under between_tools: still held
