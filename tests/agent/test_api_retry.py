"""Retrying a failed request, as a user sees it: `speedup agent --policy claude` through the
real SDK (the real make_client, a scripted transport), the judge faked. Each wait between
turns is said on the terminal with its reason and the try it leads to, and is recorded here
instead of slept. A refused connection to a base URL of the user's own (a proxy, a local
gateway: ANTHROPIC_BASE_URL) gives up after one retry; one to the API's own host, like a 529,
gets every try."""

from __future__ import annotations

import errno
import socket

import anthropic
import httpx2
import pytest
from agentfakes import FakeClock, FakeHarness, ScriptedAPI, error

import agent.launch.build
import agent.launch.project_harness
import agent.policies.claude
from agent.session import api_errors
from agent.session.loop import Session
from speedup.cli import main

OWN_URL = "http://localhost:9999"


def refused(body: dict):
    """A script answer: the connection refused, raised as httpx2's transport raises it."""
    cause = ConnectionRefusedError(errno.ECONNREFUSED, "Connection refused")
    raise httpx2.ConnectError("[Errno 111] Connection refused") from cause


@pytest.fixture
def agent_cli(tmp_path, monkeypatch):
    """agent_cli(api) -> (exit code, the waits the loop asked for) of `speedup agent` whose
    client the real make_client builds over `api`'s transport; no SDK retries of its own
    (--max-retries 0), so every failure reaches the loop."""
    monkeypatch.setenv("ANTHROPIC_API_KEY", "test")
    monkeypatch.setattr(agent.launch.project_harness, "ProjectHarness",
                        lambda *args, **kw: FakeHarness(FakeClock()))
    waits: list[float] = []

    class Waiting(Session):  # sleeps nothing: records what it was asked to wait
        def __init__(self, *args, **kw):
            super().__init__(*args, **{**kw, "sleep": waits.append})

    monkeypatch.setattr(agent.launch.build, "Session", Waiting)
    make_client = agent.policies.claude.make_client

    def run(api: ScriptedAPI) -> tuple[int, list[float]]:
        def client(key, max_retries, http_client=None):
            transport = httpx2.Client(transport=httpx2.MockTransport(api.handler))
            return make_client(key, max_retries, transport)

        monkeypatch.setattr(agent.policies.claude, "make_client", client)
        code = main(["agent", "--device", "cpu", "--runs-dir", str(tmp_path / "runs"),
                     "--results-dir", str(tmp_path / "results"), "--max-retries", "0"])
        return code, waits

    return run


def test_an_overloaded_api_says_what_each_wait_is_for(agent_cli, monkeypatch, capsys):
    monkeypatch.delenv("ANTHROPIC_BASE_URL", raising=False)
    api = ScriptedAPI([error(529, "overloaded_error")] * 3)
    code, waits = agent_cli(api)
    err = capsys.readouterr().err
    assert code == 1 and len(api.bodies) == 3 and waits == [30.0, 60.0]
    assert "API overloaded (529), retrying in 30 s (2/3)" in err
    assert "API overloaded (529), retrying in 60 s (3/3)" in err


def test_a_refused_connection_to_a_base_url_of_ones_own_gives_up_after_one_retry(
        agent_cli, monkeypatch, capsys):
    monkeypatch.setenv("ANTHROPIC_BASE_URL", OWN_URL)
    api = ScriptedAPI([refused] * 3)
    code, waits = agent_cli(api)
    err = capsys.readouterr().err
    assert code == 1 and len(api.bodies) == 2 and waits == [30.0]
    assert "connection refused by localhost:9999, retrying in 30 s (2/2)" in err
    assert "no record" in err


def test_a_refused_connection_to_the_apis_own_host_gets_every_try(agent_cli, monkeypatch,
                                                                  capsys):
    monkeypatch.delenv("ANTHROPIC_BASE_URL", raising=False)
    api = ScriptedAPI([refused] * 3)
    code, waits = agent_cli(api)
    err = capsys.readouterr().err
    assert code == 1 and len(api.bodies) == 3 and waits == [30.0, 60.0]
    assert "connection refused by api.anthropic.com, retrying in 30 s (2/3)" in err


def test_a_real_refused_connection_is_told_apart_from_other_failures():
    """Over a real socket: a port nothing listens on refuses the connection."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed when the block ends: nothing listens there
    client = anthropic.Anthropic(api_key="test", base_url=f"http://127.0.0.1:{port}",
                                 max_retries=0)
    with pytest.raises(anthropic.APIConnectionError) as refused_error:
        client.messages.create(model="claude-sonnet-5-5", max_tokens=1,
                               messages=[{"role": "user", "content": "hi"}])
    assert api_errors.retry_reason(refused_error.value) == \
        f"connection refused by 127.0.0.1:{port}"
    assert api_errors.tries(refused_error.value) == 2
    overloaded = anthropic.APIStatusError(
        "overloaded", response=httpx2.Response(529, request=refused_error.value.request),
        body=None)
    assert api_errors.retry_reason(overloaded) == "API overloaded (529)"
    assert api_errors.tries(overloaded) == api_errors.MAX_API_FAILURES


def test_a_refused_connection_wrapped_by_a_policy_names_the_host_its_cause_went_to():
    """Under Inspect the session sees the policy's PolicyAPIError, the provider's connection
    error its cause: the host is the cause's request's, so the API's own host refusing gets
    every try there too."""
    import httpx

    request = httpx.Request("POST", f"https://{api_errors.API_HOST}/v1/messages")
    try:
        try:
            try:
                raise ConnectionRefusedError(errno.ECONNREFUSED, "Connection refused")
            except ConnectionRefusedError as e:
                raise httpx.ConnectError("Connection refused", request=request) from e
        except httpx.ConnectError as e:
            raise api_errors.PolicyAPIError("Connection error.", None) from e
    except api_errors.PolicyAPIError as e:
        wrapped = e
    assert api_errors.retry_reason(wrapped) == f"connection refused by {api_errors.API_HOST}"
    assert api_errors.tries(wrapped) == api_errors.MAX_API_FAILURES
