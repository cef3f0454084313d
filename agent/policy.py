"""What the loop asks of a policy: given the conversation, the next assistant message."""

from __future__ import annotations

from typing import Protocol


class PolicyFinished(Exception):
    """The policy has nothing more to say (a replay ran out, a plan completed)."""


class Policy(Protocol):
    name: str  # "claude", "library", "replay"
    model: str | None

    def params(self, max_tokens: int) -> dict:
        """The request parameters besides the conversation, for the transcript."""

    def respond(self, messages: list[dict], max_tokens: int) -> dict:
        """The next assistant message, as the Messages API's response JSON."""
