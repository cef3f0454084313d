"""What the loop asks of a policy: given the conversation, the next assistant message."""

from __future__ import annotations

from typing import Protocol


class PolicyFinished(Exception):
    """The policy has nothing more to say (a replay ran out, a plan completed)."""


class BudgetExhausted(PolicyFinished):
    """A limit the policy's own runtime enforces was reached (an Inspect limit): the
    session stops as it does on its own budgets, with stop reason 'budget:<budget>'."""

    def __init__(self, budget: str, message: str):
        super().__init__(message)
        self.budget = budget


class Policy(Protocol):
    name: str  # "claude", "library", "replay", "inspect"
    model: str | None
    default_max_tokens: int  # a response's max_tokens unless the run sets one
    min_max_tokens: int  # the least a request may ask for (above a thinking budget)
    context_window: int | None  # tokens; the loop compacts the conversation before it fills
    # it. None: the window is not known here (the provider enforces its own), no compaction

    def params(self, max_tokens: int) -> dict:
        """The request parameters besides the conversation, for the transcript."""

    def respond(self, messages: list[dict], max_tokens: int, *, turn: int,
                system: str) -> dict:
        """The next assistant message (turn `turn`, counted from 1), as the Messages API's
        response JSON, for the conversation `messages` under the task text `system`."""
