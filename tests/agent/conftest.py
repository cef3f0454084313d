"""Fixtures for the agent tests: a fake clock and harness, and a session factory that runs
the real loop (and, for the Claude policy, the real SDK over a scripted transport)."""

from __future__ import annotations

import pytest
from agentfakes import FakeClock, FakeHarness, ScriptedAPI

from agent.policies import models
from agent.policies.claude import ClaudePolicy
from agent.session.budget import Budgets, Price
from agent.session.loop import Session
from agent.session.run_config import RunConfig

# $1 per million input tokens and $10 per million output tokens: round numbers, so a
# test's expected dollars can be read off its token counts.
TEST_PRICE = Price(input=1.0, output=10.0, cache_write=1.25, cache_read=0.1)


@pytest.fixture(autouse=True)
def _small_ceilings(quick_ceilings):
    """Records written here are priced against small measured ceilings (tests/conftest.py)."""


@pytest.fixture(autouse=True)
def _fresh_capabilities():
    """Each test's mock Models API answers for itself: nothing cached from another test."""
    models.clear_cache()
    yield
    models.clear_cache()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def harness(clock) -> FakeHarness:
    return FakeHarness(clock, gains={"(inner))  # fast": 0.5})


def claude_config(run_id: str = "r1", results_dir: str = "results", **kw) -> RunConfig:
    kw = {"budgets": Budgets(), "max_tokens": 4000, "model": "claude-sonnet-5-5",
          "price": TEST_PRICE, **kw}
    return RunConfig(run_id=run_id, policy="claude", preset="tiny", device="cpu",
                     eval_rounds=1, results_dir=results_dir, **kw)


@pytest.fixture
def start_claude(tmp_path, clock, harness):
    """start_claude(script, **config) -> (session, api): a fresh run under tmp_path."""

    def make(script: list, max_retries: int = 0, api=None, **kw):
        api = api or ScriptedAPI(script)
        config = claude_config(results_dir=str(tmp_path / "results"), **kw)
        policy = ClaudePolicy(api.client(max_retries), config.model, config.thinking,
                              config.effort, config.cache_ttl)
        session = Session.start(tmp_path / "runs", config, policy, harness, clock=clock,
                                sleep=lambda s: None)
        return session, api

    return make
