"""The Claude policy: one streamed Messages API request per turn, through the official SDK.

The request follows the model's capabilities (agent/policies/models.py): its thinking type, effort
and output limit. It streams (`messages.stream` to the final message), since the SDK
refuses a request that does not stream once max_tokens could take over ten minutes, and
a response of thinking plus a whole-file write needs far more than that allows.

Prompt caching: the tool schemas and the system prompt are one cached prefix (a breakpoint
on the system block), and the conversation so far is a second one (a breakpoint on the
last block of the last user message, added per request, never stored): two of the four
breakpoints a request may carry, both with the run's TTL. Retries on 429 and 5xx are the
SDK's own (`max_retries`, exponential backoff, `retry-after` honoured); what still fails
after them reaches the loop as an APIStatusError/APIConnectionError.
"""

from __future__ import annotations

import copy

from agent.policies.models import DEFAULT_MAX_TOKENS, ModelCaps, capabilities, settings
from agent.session.tools import TOOL_SPECS

DEFAULT_MAX_RETRIES = 4
# Fields the SDK's stream accumulator adds to blocks that are no part of the API's message:
# the conversation sends back what the API returned, nothing else.
_SDK_ONLY_FIELDS = ("parsed_output",)


def make_client(api_key: str, max_retries: int = DEFAULT_MAX_RETRIES, http_client=None):
    import anthropic

    return anthropic.Anthropic(api_key=api_key, max_retries=max_retries,
                               http_client=http_client)


def _with_cache_breakpoint(messages: list[dict], cache: dict) -> list[dict]:
    """A copy of the conversation with a cache breakpoint on its last user block. Text
    content is sent as a text block every time, not as a string in some requests and a
    block in others: what was sent before a thinking block must not change."""
    messages = copy.deepcopy(messages)
    for m in messages:
        if isinstance(m["content"], str):
            m["content"] = [{"type": "text", "text": m["content"]}]
    last = messages[-1]
    if last["role"] == "user":
        last["content"][-1]["cache_control"] = dict(cache)
    return messages


def api_message(message: dict) -> dict:
    """The response as the API sent it: the SDK's own helper fields left out."""
    content = [{k: v for k, v in block.items() if k not in _SDK_ONLY_FIELDS}
               for block in message.get("content", [])]
    return {**message, "content": content}


class ClaudePolicy:
    name = "claude"

    def __init__(self, client, model: str, thinking: int | str | None = None,
                 effort: str | None = None, cache_ttl: str = "5m",
                 caps: ModelCaps | None = None):
        """ValueError (one line) when the model takes neither that thinking nor that effort;
        agent.policies.models.UnknownModel when nothing describes the model."""
        self.client, self.model = client, model
        self.caps = caps or capabilities(model, client)
        self.settings = settings(self.caps, thinking, effort)
        self.cache = {"type": "ephemeral", "ttl": cache_ttl}

    @property
    def min_max_tokens(self) -> int:
        """Thinking's budget_tokens must stay below max_tokens."""
        return self.settings.budget_tokens + 1

    @property
    def default_max_tokens(self) -> int:
        return min(self.caps.max_output, DEFAULT_MAX_TOKENS)

    @property
    def context_window(self) -> int:
        return self.caps.context_window

    def params(self, max_tokens: int) -> dict:
        """What is sent besides the conversation (recorded in the transcript)."""
        out = {"model": self.model, "max_tokens": max_tokens}
        if self.settings.thinking:
            out["thinking"] = self.settings.thinking
        if self.settings.output_config:
            out["output_config"] = self.settings.output_config
        return out

    def request(self, messages: list[dict], max_tokens: int, system: str) -> dict:
        """The whole Messages API request of a turn: the params, the cached prefix (tool
        schemas and system prompt) and the conversation with its breakpoint."""
        block = {"type": "text", "text": system, "cache_control": dict(self.cache)}
        return {**self.params(max_tokens), "system": [block], "tools": TOOL_SPECS,
                "messages": _with_cache_breakpoint(messages, self.cache)}

    def respond(self, messages: list[dict], max_tokens: int, *, turn: int,
                system: str) -> dict:
        request = self.request(messages, max_tokens, system)
        with self.client.messages.stream(**request) as stream:
            message = stream.get_final_message()
        return api_message(message.to_dict(mode="json"))
