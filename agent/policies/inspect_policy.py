"""The Inspect policy: each turn is one generate() of an Inspect AI model (any provider
Inspect supports), so Inspect records the call and enforces its limits. Requires
`inspect-ai` (`pip install '.[inspect]'`); only agent/launch/inspect_task.py imports this.

The loop keeps its conversation in the Messages API's form (session.py), so a turn is
translated both ways: the conversation into Inspect's chat messages (a tool_result becomes
a tool message, answering the call of the same id), the model's output back into a
response message (text, tool_use and thinking blocks; the stop reason; the usage). Each
assistant message Inspect returned is kept and sent back as it came, reasoning included,
so a provider that needs its own reasoning replayed gets it.

The session's loop is synchronous and runs in a worker thread (inspect_task.py); generate()
is a coroutine of the event loop, reached with anyio.from_thread.
"""

from __future__ import annotations

import json

import anyio.from_thread
from inspect_ai.model import (
    ChatMessage,
    ChatMessageAssistant,
    ChatMessageSystem,
    ChatMessageTool,
    ChatMessageUser,
    ContentReasoning,
    ContentText,
    GenerateConfig,
    Model,
    ModelOutput,
)
from inspect_ai.tool import ToolCall, ToolCallError, ToolInfo, ToolParams
from inspect_ai.util import LimitExceededError

from agent.policies.models import DEFAULT_MAX_TOKENS
from agent.session.policy import BudgetExhausted
from agent.session.tools import TOOL_SPECS

# Inspect's stop reasons -> the Messages API's, which the loop answers (session._act)
STOP_REASONS = {"stop": "end_turn", "tool_calls": "tool_use", "max_tokens": "max_tokens",
                "model_length": "model_context_window_exceeded",
                "content_filter": "refusal", "unknown": "end_turn"}
# Inspect's limits -> the budget the session names when one stops it
LIMIT_BUDGETS = {"token": "tokens", "message": "turns", "turn": "turns", "time": "wall",
                 "working": "wall", "cost": "dollars"}
TOOLS = [ToolInfo(name=t["name"], description=t["description"],
                  parameters=ToolParams.model_validate(t["input_schema"]))
         for t in TOOL_SPECS]


def _key(content: list[dict]) -> str:
    return json.dumps(content, sort_keys=True)


class InspectPolicy:
    name = "inspect"
    default_max_tokens = DEFAULT_MAX_TOKENS  # sent only below it (params)
    min_max_tokens = 1
    context_window = None  # the provider's own, which Inspect's model does not state

    def __init__(self, model: Model):
        self.inspect_model = model
        self.model = str(model)  # e.g. "openai/gpt-5": the record's entrant
        self._sent: dict[str, ChatMessageAssistant] = {}  # our content -> Inspect's message

    def params(self, max_tokens: int) -> dict:
        """max_tokens is sent only when a budget lowers it below the default: otherwise
        the provider's own limit applies (no single default suits every provider)."""
        return {"model": self.model,
                "max_tokens": max_tokens if max_tokens < self.default_max_tokens else None}

    def respond(self, messages: list[dict], max_tokens: int, *, turn: int,
                system: str) -> dict:
        config = GenerateConfig(max_tokens=self.params(max_tokens)["max_tokens"])
        chat = [ChatMessageSystem(content=system), *self.to_chat(messages)]

        async def generate() -> ModelOutput:
            return await self.inspect_model.generate(chat, tools=TOOLS, config=config)

        try:
            output = anyio.from_thread.run(generate)
        except LimitExceededError as e:
            raise BudgetExhausted(LIMIT_BUDGETS.get(e.type, e.type), e.message) from None
        response = self.to_response(output, turn)
        self._sent[_key(response["content"])] = output.message
        return response

    # ------------------------------------------------------------------ translation

    def to_chat(self, messages: list[dict]) -> list[ChatMessage]:
        chat: list[ChatMessage] = []
        names: dict[str, str] = {}  # tool_use id -> tool name
        for m in messages:
            content = m["content"]
            if m["role"] == "assistant":
                chat.append(self._sent.get(_key(content)) or _assistant(content))
                names.update({b["id"]: b["name"] for b in content if b["type"] == "tool_use"})
                continue
            if isinstance(content, str):
                chat.append(ChatMessageUser(content=content))
                continue
            for b in content:
                if b["type"] == "tool_result":
                    error = ToolCallError("unknown", b["content"]) if b.get("is_error") else None
                    chat.append(ChatMessageTool(content=b["content"], tool_call_id=b["tool_use_id"],
                                                function=names.get(b["tool_use_id"]),
                                                error=error))
                elif b["type"] == "text":
                    chat.append(ChatMessageUser(content=b["text"]))
        return chat

    def to_response(self, output: ModelOutput, turn: int) -> dict:
        message = output.message
        blocks: list[dict] = []
        parts = message.content if isinstance(message.content, list) else [
            ContentText(text=message.content)]
        for part in parts:
            if isinstance(part, ContentReasoning):
                blocks.append({"type": "thinking", "thinking": part.reasoning,
                               "signature": part.signature or ""})
            elif isinstance(part, ContentText) and part.text:
                blocks.append({"type": "text", "text": part.text})
        for call in message.tool_calls or []:
            blocks.append({"type": "tool_use", "id": call.id, "name": call.function,
                           "input": call.arguments})
        stop = "tool_use" if message.tool_calls else STOP_REASONS.get(output.stop_reason,
                                                                      "end_turn")
        use = output.usage
        usage = {"input_tokens": use.input_tokens if use else 0,
                 "output_tokens": use.output_tokens if use else 0,
                 "cache_creation_input_tokens": (use.input_tokens_cache_write or 0) if use
                 else 0,
                 "cache_read_input_tokens": (use.input_tokens_cache_read or 0) if use else 0}
        return {"id": f"inspect-{turn}", "type": "message", "role": "assistant",
                "model": output.model or self.model, "content": blocks, "stop_reason": stop,
                "stop_sequence": None, "usage": usage}


def _assistant(content: list[dict]) -> ChatMessageAssistant:
    """An assistant message this policy did not produce (none in practice: a session under
    Inspect starts fresh), rebuilt from its blocks."""
    text = "\n".join(b["text"] for b in content if b["type"] == "text")
    calls = [ToolCall(id=b["id"], function=b["name"], arguments=b.get("input") or {})
             for b in content if b["type"] == "tool_use"]
    return ChatMessageAssistant(content=text, tool_calls=calls or None)
