"""Keeping the conversation inside the model's context window: compaction.

Before each request the conversation's size is estimated: the last response's prompt and
output tokens as the API counted them, plus what was appended since at CHARS_PER_TOKEN
(everything at that rate when no response has counted it yet). When that and the
request's max_tokens pass COMPACT_AT of the model's window, the conversation is replaced by
one user message: the task, a digest of the session (each earlier turn's notes and tool
calls with the first line of each result), where the work stands, and the last turn's tool
results in full. The transcript logs every compaction with the messages that replace the
conversation, so a resumed or replayed session sends what this one sent.

Why a fresh conversation and not old tool results cleared in place: on the models with
preserved thinking (docs: build-with-claude/preserved-thinking) every thinking block is
checked against all that was sent before it, so editing an earlier turn invalidates every
later thinking block and the request fails; a new conversation holds no earlier blocks to
check. Every model is treated alike, so the task stays the same for all of them.
"""

from __future__ import annotations

import json

COMPACT_AT = 0.8  # of the context window: room left for the tool results still to come
# Fewer characters per token than text and code average, so the estimate runs high and
# compaction comes early rather than late.
CHARS_PER_TOKEN = 3
DIGEST_CHARS = 40_000  # the digest keeps the latest turns that fit
NOTE_CHARS = 300  # of each text block the model wrote
RESULT_LINE_CHARS = 160  # the first line of each tool result
LAST_RESULT_CHARS = 20_000  # each of the last turn's results, kept in full up to this


def _chars(value) -> int:
    return len(value) if isinstance(value, str) else len(json.dumps(value, ensure_ascii=False))


def counted(usage: dict, covered: int) -> tuple[int, int] | None:
    """What the API counted for a response (its prompt and its output), with the number of
    messages that count covers; None when it counted nothing (an offline policy)."""
    tokens = sum(usage.get(k) or 0 for k in ("input_tokens", "output_tokens",
                                             "cache_creation_input_tokens",
                                             "cache_read_input_tokens"))
    return (tokens, covered) if tokens else None


def estimate_tokens(messages: list[dict], counted: tuple[int, int] | None,
                    fixed_chars: int) -> int:
    """The conversation's tokens: `counted` = (tokens the API counted for the last
    response's prompt and output, the messages they cover), plus the rest at
    CHARS_PER_TOKEN; without `counted`, the messages and the `fixed_chars` of the system
    prompt and the tool schemas at that rate."""
    if counted is None:
        return (fixed_chars + _chars(messages)) // CHARS_PER_TOKEN
    tokens, covered = counted
    return tokens + _chars(messages[covered:]) // CHARS_PER_TOKEN


def needs_compaction(estimate: int, max_tokens: int, window: int | None) -> bool:
    return bool(window) and estimate + max_tokens > COMPACT_AT * window


def _short(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _call(block: dict) -> str:
    args = ", ".join(f"{k}={_short(json.dumps(v, ensure_ascii=False), 60)}"
                     for k, v in (block.get("input") or {}).items())
    return f"{block['name']}({args})"


def _result_text(block: dict) -> str:
    content = block.get("content", "")
    if isinstance(content, list):
        content = "\n".join(c.get("text", "") for c in content if isinstance(c, dict))
    return content


def _turn_lines(messages: list[dict]) -> list[list[str]]:
    """One list of lines per assistant turn: its notes, its calls, their results' first
    lines."""
    turns: list[list[str]] = []
    for m in messages:
        blocks = m["content"] if isinstance(m["content"], list) else []
        if m["role"] == "assistant":
            lines = [f"you wrote: {_short(b['text'], NOTE_CHARS)}"
                     for b in blocks if b.get("type") == "text" and b.get("text")]
            lines += [f"you called {_call(b)}" for b in blocks if b.get("type") == "tool_use"]
            turns.append(lines)
        elif turns:
            for b in blocks:
                if b.get("type") == "tool_result":
                    first = (_result_text(b).strip().splitlines() or [""])[0]
                    mark = "error" if b.get("is_error") else "result"
                    turns[-1].append(f"  {mark}: {_short(first, RESULT_LINE_CHARS)}")
    return turns


def digest(messages: list[dict]) -> str:
    """The session so far, latest turns first to be kept, in the order they happened."""
    kept: list[str] = []
    used = 0
    turns = _turn_lines(messages)
    for n, lines in reversed(list(enumerate(turns, 1))):
        block = "\n".join([f"turn {n}:"] + lines)
        if used + len(block) > DIGEST_CHARS:
            kept.append(f"(turns 1 to {n} left out)")
            break
        kept.append(block)
        used += len(block)
    return "\n".join(reversed(kept))


def compacted(first_message: str, messages: list[dict], state: str) -> list[dict]:
    """The one user message that replaces the conversation."""
    last = messages[-1] if messages and messages[-1]["role"] == "user" else None
    results = [b for b in (last["content"] if last and isinstance(last["content"], list)
                           else []) if b.get("type") == "tool_result"]
    parts = [first_message,
             "The conversation so far was compacted to fit the context window. Your "
             "workspace is unchanged (list_files and read_file show it). What happened:",
             digest(messages[:-1] if results else messages), state]
    if results:
        parts.append("The results of your last tool calls:")
        parts += [_result_text(b)[:LAST_RESULT_CHARS] for b in results]
    elif last is not None and isinstance(last["content"], str):
        parts.append(last["content"])
    return [{"role": "user", "content": "\n\n".join(p for p in parts if p)}]
