"""A Messages API that enforces what the documentation states, answering 400 (or 404) with
the API's kind of message, behind the real SDK (httpx2.MockTransport). Its rules are
written here, from the documentation, not read from agent/policies/models.py: a request the loop
builds wrongly fails here as it would against the API.

Enforced (_FAMILIES: one row per family of models, with the pages that state its rules):
the model exists; max_tokens within the model's limit; the thinking type the model accepts
(budget_tokens >= 1024 and below max_tokens; display summarized|omitted; each type only up
to the effort the model allows it at); the effort levels it takes, and under the thinking
types that fix it, one effort through a conversation (told by the thinking blocks sent
back, which this API signed at the effort it answered); at most
four cache breakpoints, TTL 5m or 1h, 1h ones before 5m ones; every tool_use answered by a
tool_result in the next turn and every tool_result answering the previous turn (consecutive
messages of one role form one turn, as the API combines them); no assistant prefill;
thinking blocks sent back with the signature this API gave them and, on the models with
preserved thinking, under the same prefix; the prompt within the context window. A
response is cut at max_tokens ("max_tokens") when it needs more, and thinking text comes
back only with display "summarized" on the models that omit it by default.
"""

from __future__ import annotations

import copy
import hashlib
import json
from dataclasses import dataclass

import httpx2
from agentfakes import ScriptedAPI

EFFORTS = ("low", "medium", "high", "xhigh", "max")
ALL = frozenset(EFFORTS)
DOCS = "platform.claude.com/docs/en/"


@dataclass(frozen=True)
class Family:
    """What the documentation states one family of models accepts, and the page that says
    it (`source`, under DOCS). `effort_limits`: thinking.type -> the highest effort that type
    is accepted at; `fixed_effort`: the thinking types under which the effort of a
    conversation cannot change once it has an answer."""

    thinking: frozenset  # thinking.type values accepted besides omitting the field
    efforts: frozenset  # output_config.effort values accepted
    max_output: int
    context_window: int
    preserved: bool  # thinking blocks bound to the conversation before them
    omits_thinking: bool  # thinking text only with display "summarized"
    source: str
    effort_limits: tuple = ()  # ((thinking type, highest effort), ...)
    fixed_effort: frozenset = frozenset()


def _family(thinking: set, efforts, max_output: int, window: int, preserved: bool,
            omits: bool, source: str, **kw) -> Family:
    return Family(frozenset(thinking), frozenset(efforts), max_output, window, preserved,
                  omits, source, **kw)


_FAMILIES = {
    "fable-5.1+": _family(
        {"adaptive"}, ALL, 128_000, 1_000_000, True, True,
        "models/fable-5-1/overview (Adaptive, always on); build-with-claude/preserved-"
        "thinking; build-with-claude/prompt-engineering/prompting-claude-fable-5-1 (five "
        "effort levels)"),
    "fable-5": _family(
        {"adaptive"}, ALL, 128_000, 1_000_000, False, True,
        "models/fable-5/migration-guide (disabled and enabled rejected); build-with-claude/"
        "effort"),
    "opus-5-5": _family(
        {"adaptive"}, ALL, 128_000, 1_000_000, True, True,
        "models/opus-5-5/whats-new-opus-5-5 (thinking cannot be disabled); build-with-"
        "claude/preserved-thinking"),
    "opus-5": _family(
        {"adaptive", "disabled"}, ALL, 128_000, 1_000_000, False, True,
        "models/opus-5/overview (disabled only at effort high or lower)",
        effort_limits=(("disabled", "high"),)),
    "sonnet-5-5": _family(
        {"adaptive", "between_tools"}, ALL, 128_000, 1_000_000, True, True,
        "models/sonnet-5-5/whats-new-sonnet-5-5 (disabled returns 400, between_tools "
        "instead; between_tools at low, medium and high effort only, 400 at xhigh or max; "
        "with between_tools the effort cannot change mid-conversation)",
        effort_limits=(("between_tools", "high"),), fixed_effort=frozenset({"between_tools"})),
    "sonnet-5": _family(
        {"adaptive", "disabled"}, ALL, 128_000, 1_000_000, False, True,
        "models/sonnet-5/overview (manual extended thinking returns 400); build-with-claude/"
        "effort"),
    "haiku-5-5": _family(
        {"adaptive", "disabled"}, ALL, 128_000, 1_000_000, True, True,
        "models/haiku-5-5/whats-new-haiku-5-5 (manual extended thinking returns 400); "
        "secondary: openrouter.ai/anthropic/claude-haiku-5.5 (thinking can be turned off at "
        "low, medium and high effort)", effort_limits=(("disabled", "high"),)),
    "opus-4-7+": _family(
        {"adaptive", "disabled"}, ALL, 128_000, 1_000_000, False, True,
        "build-with-claude/thinking-troubleshooting (enabled rejected on Opus 4.7 and 4.8); "
        "build-with-claude/effort"),
    "4-6": _family(
        {"adaptive", "enabled", "disabled"}, ALL - {"xhigh"}, 128_000, 1_000_000, False,
        False, "build-with-claude/thinking-troubleshooting (enabled deprecated but "
        "accepted); build-with-claude/effort (max, no xhigh)"),
    "opus-4-5": _family(
        {"enabled", "disabled"}, {"low", "medium", "high"}, 64_000, 200_000, False, False,
        "build-with-claude/thinking-troubleshooting (enabled the only mode); build-with-"
        "claude/effort (no max)"),
    "haiku-4-5": _family(
        {"enabled", "disabled"}, set(), 64_000, 200_000, False, False,
        "models/haiku-4-5/overview; build-with-claude/effort (no effort parameter)"),
    "mythos-preview": _family(
        {"adaptive", "enabled"}, ALL - {"xhigh"}, 32_000, 200_000, False, True,
        "build-with-claude/thinking-troubleshooting (both modes); build-with-claude/effort"),
}
MODELS = {
    "claude-fable-5-1": "fable-5.1+", "claude-mythos-5-1": "fable-5.1+",
    "claude-fable-5-2": "fable-5.1+", "claude-mythos-5-2": "fable-5.1+",
    "claude-fable-5": "fable-5", "claude-mythos-5": "fable-5", "claude-opus-5-5": "opus-5-5",
    "claude-opus-5": "opus-5", "claude-sonnet-5-5": "sonnet-5-5", "claude-sonnet-5": "sonnet-5",
    "claude-haiku-5-5": "haiku-5-5", "claude-opus-4-8": "opus-4-7+",
    "claude-opus-4-7": "opus-4-7+", "claude-opus-4-6": "4-6", "claude-sonnet-4-6": "4-6",
    "claude-opus-4-5": "opus-4-5", "claude-haiku-4-5": "haiku-4-5",
    "claude-mythos-preview": "mythos-preview",
}


def family(model: str) -> Family:
    return _FAMILIES[MODELS[model]]


def _above(effort: str | None, limit: str | None) -> bool:
    return bool(effort and limit) and EFFORTS.index(effort) > EFFORTS.index(limit)


def _bad(message: str, status: int = 400, kind: str = "invalid_request_error"):
    return status, {"type": "error", "error": {"type": kind, "message": message}}


def _strip_cache(value):
    """The request without its cache_control markers (the prefix check ignores them)."""
    if isinstance(value, dict):
        return {k: _strip_cache(v) for k, v in value.items() if k != "cache_control"}
    if isinstance(value, list):
        return [_strip_cache(v) for v in value]
    return value


def _digest(value) -> str:
    return hashlib.sha256(json.dumps(_strip_cache(value), sort_keys=True).encode()).hexdigest()


def prompt_tokens(body: dict) -> int:
    """This API's count of a request's prompt: its JSON at four characters a token."""
    return len(json.dumps({k: body.get(k) for k in ("system", "tools", "messages")})) // 4


class DocumentedAPI(ScriptedAPI):
    """ScriptedAPI whose requests must follow the documented rules. Scripted answers may
    say how many output tokens they need (`needs`); thinking blocks get this API's
    signatures; usage.input_tokens is this API's count of the prompt."""

    def __init__(self, script: list, models: dict | None = None):
        super().__init__(script, models)
        # signature -> (text, prefix, thinking type, effort) of the request it answered
        self.issued: dict[str, tuple[str, str, str | None, str | None]] = {}
        self.rejected: list[str] = []

    def handler(self, request: httpx2.Request) -> httpx2.Response:
        if request.method == "POST":
            body = json.loads(request.content)
            problem = self.check(body)
            if problem is not None:
                self.bodies.append(body)
                status, payload = problem
                self.rejected.append(payload["error"]["message"])
                return httpx2.Response(status, json=payload)
            answer = self.script[0]
            if isinstance(answer, dict):
                self.script[0] = self.answer(body, answer)
        return super().handler(request)

    # ------------------------------------------------------------------ the rules

    def check(self, body: dict):
        model = body.get("model")
        if model not in MODELS:
            return _bad(f"model: {model}", 404, "not_found_error")
        rules = family(model)
        if not 1 <= body.get("max_tokens", 0) <= rules.max_output:
            return _bad(f"max_tokens: {body.get('max_tokens')} > {rules.max_output}, which is "
                        f"the maximum allowed number of output tokens for {model}")
        effort = (body.get("output_config") or {}).get("effort")
        if effort is not None and effort not in rules.efforts:
            return _bad(f"output_config.effort: {effort!r} is not supported for this model")
        for problem in (self._thinking(body, rules, effort), self._cache(body),
                        self._turns(body), self._signatures(body, rules, effort)):
            if problem is not None:
                return problem
        if prompt_tokens(body) > rules.context_window:
            return _bad(f"prompt is too long: {prompt_tokens(body)} tokens > "
                        f"{rules.context_window} maximum")
        return None

    def _thinking(self, body: dict, rules: Family, effort: str | None):
        thinking = body.get("thinking")
        if thinking is None:
            return None
        kind = thinking.get("type")
        if kind not in rules.thinking:
            return _bad(f'"thinking.type.{kind}" is not supported for this model. Use '
                        f'"thinking.type.adaptive" and "output_config.effort" to control '
                        f'thinking behavior.')
        if thinking.get("display") not in (None, "summarized", "omitted"):
            return _bad(f"thinking.display: {thinking.get('display')!r}")
        if kind == "enabled" and not 1024 <= thinking.get("budget_tokens", 0) \
                < body["max_tokens"]:
            return _bad("thinking.budget_tokens must be >= 1024 and less than max_tokens")
        if _above(effort, dict(rules.effort_limits).get(kind)):
            return _bad(f'"thinking.type.{kind}" is not supported at effort {effort}')
        return None

    def _cache(self, body: dict):
        marks = [b["cache_control"] for part in ("tools", "system")
                 for b in (body.get(part) or []) if "cache_control" in b]
        marks += [b["cache_control"] for m in body["messages"]
                  if isinstance(m["content"], list) for b in m["content"]
                  if "cache_control" in b]
        if len(marks) > 4:
            return _bad(f"A maximum of 4 blocks with cache_control may be provided. Found "
                        f"{len(marks)}.")
        ttls = [m.get("ttl", "5m") for m in marks]
        if any(t not in ("5m", "1h") for t in ttls):
            return _bad("cache_control.ttl: must be '5m' or '1h'")
        if "1h" in ttls and "5m" in ttls and ttls.index("5m") < len(ttls) - 1 - \
                ttls[::-1].index("1h"):
            return _bad("a ttl='1h' cache_control block must not come after a ttl='5m' one")
        return None

    def _turns(self, body: dict):
        messages = body["messages"]
        if not messages or messages[0]["role"] != "user" or messages[-1]["role"] != "user":
            return _bad("This model does not support assistant message prefill. The "
                        "conversation must end with a user message.")
        turns: list[tuple[str, list]] = []  # consecutive same-role messages form one turn
        for m in messages:
            blocks = m["content"] if isinstance(m["content"], list) else [
                {"type": "text", "text": m["content"]}]
            if turns and turns[-1][0] == m["role"]:
                turns[-1][1].extend(blocks)
            else:
                turns.append((m["role"], list(blocks)))
        for (_, prev), (role, blocks) in zip(turns, turns[1:]):
            asked = {b["id"] for b in prev if b.get("type") == "tool_use"}
            answered = {b["tool_use_id"] for b in blocks if b.get("type") == "tool_result"}
            if role == "user" and asked != answered:
                return _bad("messages: tool_use ids were found without tool_result blocks "
                            "immediately after, or a tool_result answers no tool_use of the "
                            "previous message")
        return None

    def _signatures(self, body: dict, rules: Family, effort: str | None):
        kind = (body.get("thinking") or {}).get("type")
        for i, m in enumerate(body["messages"]):
            if m["role"] != "assistant" or not isinstance(m["content"], list):
                continue
            for block in m["content"]:
                if block.get("type") != "thinking":
                    continue
                issued = self.issued.get(block.get("signature"))
                if issued is None or issued[0] != block.get("thinking"):
                    return _bad("Invalid `signature` in `thinking` block")
                prefix = _digest([body.get("system"), body.get("tools"),
                                  body["messages"][:i]])
                if rules.preserved and issued[1] != prefix:
                    return _bad("The thinking block is bound to a different conversation: "
                                "the messages before it changed")
                if {kind, issued[2]} & rules.fixed_effort and issued[3] != effort:
                    return _bad(f"output_config.effort cannot change mid-conversation with "
                                f"thinking.type {' or '.join(sorted(rules.fixed_effort))}: "
                                f"this conversation was answered at {issued[3]}")
        return None

    # ------------------------------------------------------------------ the answer

    def answer(self, body: dict, message: dict) -> dict:
        """The scripted message as this API would send it for this request."""
        message = copy.deepcopy(message)
        model, thinking = body["model"], body.get("thinking") or {}
        effort = (body.get("output_config") or {}).get("effort")
        prefix = _digest([body.get("system"), body.get("tools"), body["messages"]])
        for block in message["content"]:
            if block.get("type") == "thinking":
                if family(model).omits_thinking and thinking.get("display") != "summarized":
                    block["thinking"] = ""
                block["signature"] = f"sig-{len(self.issued)}"
                self.issued[block["signature"]] = (block["thinking"], prefix,
                                                   thinking.get("type"), effort)
        needs = message.pop("needs", 0)
        use = message.setdefault("usage", {})
        use["input_tokens"] = prompt_tokens(body)
        if needs > body["max_tokens"]:  # the reply runs out before its last block is whole
            message["content"] = [b for b in message["content"] if b["type"] != "tool_use"]
            message["stop_reason"] = "max_tokens"
            use["output_tokens"] = body["max_tokens"]
        return message

    def model_info(self, model: str) -> dict:
        """The Models API's answer for a documented model."""
        rules = family(model)
        return {"type": "model", "id": model, "display_name": model,
                "created_at": "2026-01-01T00:00:00Z", "lifecycle": "active",
                "max_tokens": rules.max_output, "max_input_tokens": rules.context_window,
                "capabilities": {
                    "thinking": {"supported": True, "types": {
                        t: {"supported": t in rules.thinking}
                        for t in ("adaptive", "enabled", "disabled", "between_tools")}},
                    "effort": {"supported": bool(rules.efforts),
                               **{e: {"supported": e in rules.efforts} for e in EFFORTS}}}}
