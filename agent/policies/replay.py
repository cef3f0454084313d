"""The replay policy: answers turn k with the response recorded at turn k of another run's
transcript, so its tool calls run again, here, on a fresh workspace. No API, no key.

Turns are matched by number, never by counting the conversation's messages: an empty
response is not kept in the conversation and a compaction replaces it, so a count would
fall out of step with the recording."""

from __future__ import annotations

from pathlib import Path

from agent.policies.models import DEFAULT_MAX_TOKENS
from agent.session.policy import PolicyFinished
from agent.session.transcript import read_events


class ReplayPolicy:
    name = "replay"
    default_max_tokens = DEFAULT_MAX_TOKENS  # recorded, never used: responses are replayed
    min_max_tokens = 1
    context_window = None  # nothing is sent: there is no window to fit

    def __init__(self, transcript: str | Path):
        events = read_events(transcript)
        starts = [e for e in events if e["event"] == "start"]
        if not starts:
            raise ValueError(f"{transcript} has no start event: not a transcript")
        self.model = starts[0]["config"]["model"]
        self.responses = {e["turn"]: e["message"] for e in events if e["event"] == "response"}

    def params(self, max_tokens: int) -> dict:
        return {"model": self.model, "max_tokens": max_tokens}

    def respond(self, messages: list[dict], max_tokens: int, *, turn: int,
                system: str = "") -> dict:
        if turn not in self.responses:
            raise PolicyFinished(f"replay exhausted: the transcript has no response for "
                                 f"turn {turn} ({len(self.responses)} recorded)")
        return self.responses[turn]
