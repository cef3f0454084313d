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

Each request's system message carries the session's turn in its metadata (TURN), which no
provider sends: the project's own offline providers (agent/launch/inspect_models.py) answer
by it, and translate the other way with `conversation` and `model_output`. A failure that
Inspect's model call reports with the provider's HTTP status (its ModelGenerateError, or a
provider SDK's status error), or a request that got no answer (a connection refused or timed
out: api_errors.unanswered), is the session's API failure (api_errors.PolicyAPIError), which
the loop records and answers as it does the Messages API's own.
"""

from __future__ import annotations

import json

import anyio.from_thread
from inspect_ai.model import (
    ChatCompletionChoice,
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
    ModelUsage,
)
from inspect_ai.tool import ToolCall, ToolCallError, ToolInfo, ToolParams
from inspect_ai.util import LimitExceededError

from agent.policies.models import DEFAULT_MAX_TOKENS
from agent.session import api_errors
from agent.session.api_errors import PolicyAPIError
from agent.session.policy import BudgetExhausted
from agent.session.tools import TOOL_SPECS

# Inspect's stop reasons -> the Messages API's, which the loop answers (session._act)
STOP_REASONS = {"stop": "end_turn", "tool_calls": "tool_use", "max_tokens": "max_tokens",
                "model_length": "model_context_window_exceeded",
                "content_filter": "refusal", "unknown": "end_turn"}
# Inspect's limits -> the budget the session names when one stops it
LIMIT_BUDGETS = {"token": "tokens", "message": "turns", "turn": "turns", "time": "wall",
                 "working": "wall", "cost": "dollars"}
# the Messages API's stop reasons -> Inspect's, for the offline providers' outputs
INSPECT_STOPS = {api: inspect for inspect, api in STOP_REASONS.items() if inspect != "unknown"}
TURN = "speedup_turn"  # the system message's metadata key for the session's turn
TOOLS = [ToolInfo(name=t["name"], description=t["description"],
                  parameters=ToolParams.model_validate(t["input_schema"]))
         for t in TOOL_SPECS]


def _messages(error: BaseException) -> str:
    """The error's message and its cause's ("Connection error. ([Errno 111] Connection
    refused)"): a provider SDK's own message alone rarely says what failed."""
    cause = error.__cause__
    return f"{error} ({cause})" if cause is not None and str(cause) else str(error)


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
        chat = [ChatMessageSystem(content=system, metadata={TURN: turn}),
                *self.to_chat(messages)]

        async def generate() -> ModelOutput:
            return await self.inspect_model.generate(chat, tools=TOOLS, config=config)

        try:
            output = anyio.from_thread.run(generate)
        except LimitExceededError as e:
            raise BudgetExhausted(LIMIT_BUDGETS.get(e.type, e.type), e.message) from None
        except Exception as e:
            status = getattr(e, "status_code", None)
            if status is None and not api_errors.unanswered(e):  # a fault of ours, no API's
                raise
            message = getattr(e, "provider_message", None) or _messages(e)
            raise PolicyAPIError(message, status) from e
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
        blocks = _blocks(message)
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


# ---------------------------------------------------------------------------- providers

def conversation(chat: list[ChatMessage]) -> tuple[str, int | None, list[dict]]:
    """An offline provider's request back in the session's form: the task text, the turn
    (TURN; None when the request is not a session's), the messages (InspectPolicy.to_chat's
    inverse)."""
    system, turn, messages = "", None, []
    for m in chat:
        if isinstance(m, ChatMessageSystem):
            system, turn = m.text, (m.metadata or {}).get(TURN)
        elif isinstance(m, ChatMessageTool):
            block = {"type": "tool_result", "tool_use_id": m.tool_call_id, "content": m.text}
            if m.error is not None:
                block["is_error"] = True
            if messages and messages[-1]["role"] == "user" and isinstance(
                    messages[-1]["content"], list):
                messages[-1]["content"].append(block)  # one tool message per result
            else:
                messages.append({"role": "user", "content": [block]})
        elif isinstance(m, ChatMessageAssistant):
            messages.append({"role": "assistant", "content": _blocks(m)})
        else:
            messages.append({"role": "user", "content": m.text})
    return system, turn, messages


def _blocks(message: ChatMessageAssistant) -> list[dict]:
    """An assistant message's content as the Messages API's blocks: thinking, text (empty
    text left out), tool_use."""
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
    return blocks


def model_output(response: dict, model: str) -> ModelOutput:
    """A session policy's response (the Messages API's form) as Inspect's output, with the
    usage it states (to_response's inverse)."""
    content: list = []
    for b in response.get("content", []):
        if b["type"] == "text":
            content.append(ContentText(text=b["text"]))
        elif b["type"] == "thinking":
            content.append(ContentReasoning(reasoning=b["thinking"],
                                            signature=b.get("signature") or None))
    calls = [ToolCall(id=b["id"], function=b["name"], arguments=b.get("input") or {})
             for b in response.get("content", []) if b["type"] == "tool_use"]
    message = ChatMessageAssistant(content=content, tool_calls=calls or None, model=model,
                                   source="generate")
    use = response.get("usage") or {}
    write, read = (use.get("cache_creation_input_tokens") or 0,
                   use.get("cache_read_input_tokens") or 0)
    usage = ModelUsage(input_tokens=use.get("input_tokens", 0),
                       output_tokens=use.get("output_tokens", 0),
                       total_tokens=sum(use.get(k) or 0 for k in (
                           "input_tokens", "output_tokens", "cache_creation_input_tokens",
                           "cache_read_input_tokens")),
                       input_tokens_cache_write=write or None,
                       input_tokens_cache_read=read or None)
    stop = INSPECT_STOPS.get(response.get("stop_reason"), "unknown")
    return ModelOutput(model=model, usage=usage,
                       choices=[ChatCompletionChoice(message=message, stop_reason=stop)])


def _assistant(content: list[dict]) -> ChatMessageAssistant:
    """An assistant message this policy did not produce (none in practice: a session under
    Inspect starts fresh), rebuilt from its blocks."""
    text = "\n".join(b["text"] for b in content if b["type"] == "text")
    calls = [ToolCall(id=b["id"], function=b["name"], arguments=b.get("input") or {})
             for b in content if b["type"] == "tool_use"]
    return ChatMessageAssistant(content=text, tool_calls=calls or None)
