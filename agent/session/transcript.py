"""The transcript: one JSON object per line, appended and fsync'ed the moment it happens,
so a run killed at any point loses nothing that it had done.

Events, in order (`turn` counts from 1):
    start       config, system prompt, tool schemas, the first user message, workspace hash
    compaction  turn, reason, messages (the conversation that replaces the one before)
    request     turn, params (model, max_tokens, thinking, output_config), n_messages sent
    response    turn, message (the Messages API response as JSON), cost, spend so far
    api_error   turn, error type, HTTP status, kind (api_errors.py), message
    tool_call   turn, id, name, input
    tool_result turn, id, name, content, is_error, device_s
    refused_attempt  turn, id, tool, check, detail: the judge refused what the call tried
                (tools.REFUSING_CHECKS: the static scan, a call the guards refused,
                the kernel's refusal)
    snapshot    turn, hash, path, passed?, ratio? (a state the judge or the clock saw)
    turn_end    turn, append (messages added after the response), spend, workspace hash
    resume      previous partial turn moved aside, spend it had used
    options     changes: {option: {from, to}} a resume made to request and budget options
    stop        reason, refusal category, spend
    evaluation  the official evaluation's summary, which state it scored, the outcome
The conversation sent at turn k is: the first user message, then for each earlier turn its
response message followed by that turn's `append`; a compaction replaces all of it. A turn
is complete once its turn_end is written; `--resume` continues after the last complete one.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

from agent.session import context
from agent.session.run_config import describe_change
from bench.records import describe_refused


class Transcript:
    def __init__(self, path: str | Path):
        self.path = Path(path)

    def append(self, event: dict) -> None:
        event = {**event, "time": datetime.now(timezone.utc).isoformat(timespec="seconds")}
        line = json.dumps(event, ensure_ascii=False, separators=(",", ":")) + "\n"
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(line)
            f.flush()
            os.fsync(f.fileno())

    def sha256(self) -> str:
        """'sha256:<hex>' of the file's bytes, as every hash in a record reads."""
        return "sha256:" + hashlib.sha256(self.path.read_bytes()).hexdigest()


def read_events(path: str | Path) -> list[dict]:
    """Every complete line; a torn last line (killed mid-write) is ignored."""
    events = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            try:
                events.append(json.loads(line))
            except json.JSONDecodeError:
                break
    return events


def refused_attempts(events: list[dict]) -> dict[str, int]:
    """How many refused_attempt events each check made, by check name."""
    counts: dict[str, int] = {}
    for e in events:
        if e["event"] == "refused_attempt":
            counts[e["check"]] = counts.get(e["check"], 0) + 1
    return dict(sorted(counts.items()))


def complete_prefix(events: list[dict]) -> int:
    """How many leading events are complete: through the last turn_end (or start, resume,
    options, or a failed request's api_error), plus a stop and evaluation that directly
    follow."""
    end = 0
    for i, e in enumerate(events):
        if e["event"] in ("start", "turn_end", "resume", "options", "api_error"):
            end = i + 1
        elif e["event"] in ("stop", "evaluation") and end == i:
            end = i + 1
    return end


def messages_from(events: list[dict]) -> list[dict]:
    """The conversation after the last complete turn, rebuilt from the events."""
    return conversation_from(events)[0]


def conversation_from(events: list[dict]) -> tuple[list[dict], tuple[int, int] | None]:
    """The conversation after the last complete turn, and what the API last counted of it
    (context.counted), as the live loop held them."""
    messages, response, count = [], None, None
    for e in events:
        if e["event"] == "start":
            messages = [{"role": "user", "content": e["first_message"]}]
        elif e["event"] == "compaction":
            messages, count = list(e["messages"]), None
        elif e["event"] == "response":
            response = e["message"]
        elif e["event"] == "turn_end":
            if e["kept_response"]:  # the live loop drops an empty assistant message
                messages.append({"role": "assistant", "content": response["content"]})
                count = context.counted(response.get("usage") or {}, len(messages))
            messages.extend(e["append"])
    return messages, count


# ---------------------------------------------------------------------------- show

def _short(text: str, limit: int = 600) -> str:
    text = text.rstrip()
    return text if len(text) <= limit else text[:limit] + f" … [{len(text) - limit:,} more]"


def _args(args: dict) -> str:
    parts = []
    for k, v in args.items():
        s = json.dumps(v, ensure_ascii=False)
        parts.append(f"{k}={s if len(s) <= 60 else s[:57] + '…'}")
    return ", ".join(parts)


def render(events: list[dict]) -> Iterator[str]:
    """The transcript as readable lines: turns, text, tool calls and results, what the judge
    refused, spend; last, the refused attempts counted by check."""
    for e in events:
        kind = e["event"]
        if kind == "start":
            c = e["config"]
            yield (f"run {c['run_id']}: policy {c['policy']}, model {c['model']}, preset "
                   f"{c['preset']} on {c['device']} (started {e['time']})")
        elif kind == "request":
            yield f"\n── turn {e['turn']} ──"
        elif kind == "response":
            msg, s = e["message"], e["spend"]
            for block in msg.get("content", []):
                if block.get("type") == "text" and block.get("text"):
                    yield "  " + _short(block["text"]).replace("\n", "\n  ")
                elif block.get("type") == "thinking" and block.get("thinking"):
                    yield "  (thinking) " + _short(block["thinking"], 200)
            prompt = s["input_tokens"] + s["cache_write_tokens"] + s["cache_read_tokens"]
            if not prompt and not s["output_tokens"]:  # an offline policy: nothing billed
                continue
            yield (f"  [{msg.get('stop_reason')}; ${e['cost']:.4f}, total ${s['dollars']:.4f}; "
                   f"tokens in {prompt:,} out {s['output_tokens']:,}]")
        elif kind == "api_error":
            yield f"  API error {e.get('status') or ''} {e['error']}: {_short(e['message'], 200)}"
        elif kind == "compaction":
            yield (f"  (context compacted: {e['replaced']} messages replaced by a digest; "
                   f"{e['reason']})")
        elif kind == "tool_call":
            yield f"  → {e['name']}({_args(e['input'])})"
        elif kind == "tool_result":
            mark = "✗" if e["is_error"] else "←"
            yield f"    {mark} " + _short(e["content"], 400).replace("\n", "\n      ")
        elif kind == "refused_attempt":
            yield (f"    ⛔ refused by the judge ({e['check']}) in {e['tool']}: "
                   + _short(e["detail"], 300).replace("\n", "\n      "))
        elif kind == "resume":
            aside = f"; a partial turn was set aside in {e['partial_file']}" \
                if e["partial_file"] else ""
            yield f"\n(resumed{aside})"
        elif kind == "options":
            yield "(options changed: " + ", ".join(
                describe_change(name, change) for name, change in e["changes"].items()) + ")"
        elif kind == "stop":
            s = e["spend"]
            why = f" ({e['refusal_category']})" if e.get("refusal_category") else ""
            yield (f"\nstopped: {e['reason']}{why} after {s['turns']} turns, "
                   f"${s['dollars']:.4f}, {s['wall_s']:.0f} s wall, {s['device_s']:.0f} device s")
        elif kind == "evaluation":
            ev = e["summary"]
            ratio = ev.get("median_ratio")
            verdict = "passed" if ev.get("passed") else f"rejected ({ev.get('rejected_by')})"
            state = e["hash"].removeprefix("sha256:")[:12]  # as its snapshot is named
            outcome = f" (outcome {e['outcome']})" if e.get("outcome") else ""
            yield (f"official evaluation of {e['source']} state {state}{outcome}: {verdict}, "
                   f"median speedup {ratio if ratio is None else f'{ratio:.3f}x'}")
    refused = refused_attempts(events)
    if refused:
        yield f"refused attempts: {sum(refused.values())} ({describe_refused(refused)})"
