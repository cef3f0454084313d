"""The Claude policy: one Messages API request per turn, through the official SDK.

Prompt caching: the tool schemas and the system prompt are one cached prefix (a breakpoint
on the system block), and the conversation so far is a second one (a breakpoint on the
last block of the last user message, added per request, never stored). Retries on 429 and
5xx are the SDK's own (`max_retries`, exponential backoff, `retry-after` honoured); what
still fails after them reaches the loop as an APIStatusError/APIConnectionError.
"""

from __future__ import annotations

import copy

from agent.tools import TOOL_SPECS

DEFAULT_MAX_RETRIES = 4
# The SDK refuses a non-streaming request whose max_tokens could take over 10 minutes (it
# assumes 128,000 tokens an hour): 10/60 * 128,000. The loop does not stream, so one
# response, thinking included, stays under this.
MAX_NONSTREAMING_TOKENS = 21_333


def make_client(api_key: str, max_retries: int = DEFAULT_MAX_RETRIES, http_client=None):
    import anthropic

    return anthropic.Anthropic(api_key=api_key, max_retries=max_retries,
                               http_client=http_client)


def thinking_param(thinking: int | str | None) -> dict | None:
    """--thinking N -> manual extended thinking with budget_tokens N; 'adaptive' -> let the
    model decide (the only form some newer models accept)."""
    if thinking in (None, 0, "0", "off"):
        return None
    if thinking == "adaptive":
        return {"type": "adaptive"}
    return {"type": "enabled", "budget_tokens": int(thinking)}


def _with_cache_breakpoint(messages: list[dict]) -> list[dict]:
    """A copy of the conversation with a cache breakpoint on its last user block."""
    messages = copy.deepcopy(messages)
    last = messages[-1]
    if last["role"] == "user":
        if isinstance(last["content"], str):
            last["content"] = [{"type": "text", "text": last["content"]}]
        last["content"][-1]["cache_control"] = {"type": "ephemeral"}
    return messages


class ClaudePolicy:
    name = "claude"

    def __init__(self, client, model: str, system: str, thinking: int | str | None = None):
        self.client, self.model = client, model
        self.system = [{"type": "text", "text": system, "cache_control": {"type": "ephemeral"}}]
        self.thinking = thinking_param(thinking)

    @property
    def min_max_tokens(self) -> int:
        """Thinking's budget_tokens must stay below max_tokens."""
        if self.thinking and self.thinking["type"] == "enabled":
            return self.thinking["budget_tokens"] + 1
        return 1

    def params(self, max_tokens: int) -> dict:
        """What is sent besides the conversation (recorded in the transcript)."""
        out = {"model": self.model, "max_tokens": max_tokens}
        if self.thinking:
            out["thinking"] = self.thinking
        return out

    def request(self, messages: list[dict], max_tokens: int) -> dict:
        """The whole Messages API request of a turn: the params, the cached prefix (tool
        schemas and system prompt) and the conversation with its breakpoint."""
        return {**self.params(max_tokens), "system": self.system, "tools": TOOL_SPECS,
                "messages": _with_cache_breakpoint(messages)}

    def respond(self, messages: list[dict], max_tokens: int) -> dict:
        message = self.client.messages.create(**self.request(messages, max_tokens))
        return message.to_dict(mode="json")
