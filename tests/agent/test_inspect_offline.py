"""The Inspect task with no network and no key: the project's offline policies are Inspect
model providers (`speedup/library`, `speedup/replay`), registered through the package's
`inspect_ai` entry point, so `inspect eval agent/launch/inspect_task.py --model
speedup/library` runs to a record. An API failure under Inspect (ModelGenerateError) ends the
session as one does under `speedup agent` (an api_error event, a stop, no record); a session
that fails otherwise leaves no run directory behind (Inspect cannot resume it).

The judge and the clock are faked (test_cli_outcomes.CLIHarness), the records real."""

from __future__ import annotations

import importlib.metadata
import json
import socket

import pytest

pytest.importorskip("inspect_ai")

from inspect_ai import eval as inspect_eval  # noqa: E402
from inspect_ai.model import GenerateConfig, ModelAPI, modelapi  # noqa: E402
from test_cli_outcomes import MARK, OLD, CLIHarness  # noqa: E402
from test_inspect_task import _calls  # noqa: E402

import agent.launch.project_harness  # noqa: E402
from agent.launch.inspect_task import speedup_bench  # noqa: E402
from agent.session import api_errors  # noqa: E402
from agent.session.transcript import read_events  # noqa: E402
from kernels.registry import Impl  # noqa: E402


class LibraryHarness(CLIHarness):
    """The fake judge and clock with one library implementation, which the fake clock
    times 1.5x faster once ops.py binds it."""

    def __init__(self, tolerances=None):
        super().__init__(tolerances)
        self.gains = {"import gelu  #": 0.5}
        self.impls = [Impl("gelu", "torch", False)]


@pytest.fixture
def offline(monkeypatch):
    """No connection leaves this process: Inspect, the providers and the session alike."""
    real = socket.socket.connect

    def connect(self, address):
        if self.family in (socket.AF_INET, socket.AF_INET6):
            raise OSError(f"the network is off in this test ({address})")
        return real(self, address)

    monkeypatch.setattr(socket.socket, "connect", connect)


def _eval(tmp_path, model: str, **kw):
    task = speedup_bench(eval_rounds=1, runs_dir=str(tmp_path / "runs"),
                         results_dir=str(tmp_path / "results"))
    (log,) = inspect_eval(task, model=model, log_dir=str(tmp_path / "logs"), display="none",
                          **kw)
    return log


def _runs(tmp_path) -> list:
    runs = tmp_path / "runs"
    return list(runs.iterdir()) if runs.exists() else []


def _run(tmp_path):
    (run,) = _runs(tmp_path)
    return run


def _tool_calls(run) -> list[str]:
    return [e["name"] for e in read_events(run / "transcript.jsonl") if e["event"] == "tool_call"]


def test_the_offline_providers_are_inspects_entry_point():
    found = {ep.value for ep in importlib.metadata.entry_points(group="inspect_ai")}
    assert "agent.launch.inspect_models" in found


@pytest.mark.slow
def test_the_library_policy_plays_the_inspect_task_offline_to_a_record(tmp_path, monkeypatch,
                                                                       offline):
    monkeypatch.setattr(agent.launch.project_harness, "ProjectHarness", LibraryHarness)
    log = _eval(tmp_path, "speedup/library")
    assert log.status == "success", log.error
    (sample,) = log.samples
    score = sample.scores["official_record"]
    assert score.answer == "submitted" and score.value == pytest.approx(1.5)
    record = json.loads(open(score.metadata["record"]).read())
    assert record["entrant"]["policy"] == "inspect"
    assert record["entrant"]["model"] == "speedup/library"
    assert record["agent"]["tokens"]["input"] == 0  # nothing counted, nothing downloaded
    calls = _tool_calls(_run(tmp_path))
    assert calls[0] == "read_file" and calls[-3:] == ["run_check", "run_bench", "submit"]
    assert sum(e.event == "model" for e in sample.events) == len(calls)  # Inspect saw each
    assert record["command"].startswith("inspect eval agent/launch/inspect_task.py --model "
                                        "speedup/library")


def test_the_replay_provider_answers_each_turn_by_its_number(tmp_path, monkeypatch, offline):
    """Turn 2 of the recording is empty (kept out of the conversation, as the loop keeps an
    empty response): a replay that counted the conversation's messages would answer turn 3
    with turn 2's."""
    monkeypatch.setattr(agent.launch.project_harness, "ProjectHarness", CLIHarness)

    def response(turn, content, stop="tool_use"):
        return {"event": "response", "turn": turn, "message": {
            "id": f"m{turn}", "type": "message", "role": "assistant", "model": "recorded",
            "content": content, "stop_reason": stop, "stop_sequence": None,
            "usage": {"input_tokens": 7, "output_tokens": 3}}}

    def call(name, **args):
        return [{"type": "tool_use", "id": f"t_{name}", "name": name, "input": args}]

    recorded = tmp_path / "recorded.jsonl"
    events = [{"event": "start", "config": {"model": "recorded"}},
              response(1, call("edit_file", path="ops.py", old_string=OLD,
                               new_string=OLD + MARK)),
              response(2, [], stop="end_turn"),
              response(3, call("run_check")), response(4, call("submit"))]
    recorded.write_text("".join(json.dumps(e) + "\n" for e in events))
    log = _eval(tmp_path, "speedup/replay", model_args={"transcript": str(recorded)})
    assert log.status == "success", log.error
    score = log.samples[0].scores["official_record"]
    assert score.answer == "submitted" and score.value == pytest.approx(1.5)
    assert _tool_calls(_run(tmp_path)) == ["edit_file", "run_check", "submit"]
    record = json.loads(open(score.metadata["record"]).read())
    assert record["agent"]["tokens"]["input"] == 4 * 7  # the recorded usage, replayed


class _Rejected(Exception):
    status_code = 400  # what Inspect reads as the provider's HTTP status


class _RejectingAPI(ModelAPI):
    """A provider whose every request the API rejects: Inspect raises ModelGenerateError."""

    def __init__(self, model_name: str, base_url=None, api_key=None,
                 config: GenerateConfig | None = None, **model_args):
        super().__init__(model_name, base_url, api_key, [], config or GenerateConfig())

    async def generate(self, input, tools, tool_choice, config):
        return _Rejected("max_tokens: 64001 > 64000, the model's limit")


@modelapi(name="rejecting")
def _rejecting():
    return _RejectingAPI


def test_an_api_failure_under_inspect_is_an_api_error_and_a_stop(tmp_path, monkeypatch):
    monkeypatch.setattr(agent.launch.project_harness, "ProjectHarness", CLIHarness)
    log = _eval(tmp_path, "rejecting/model")
    assert log.status == "error"
    events = read_events(_run(tmp_path) / "transcript.jsonl")
    error, stop = events[-2:]
    assert error["event"] == "api_error" and error["status"] == 400
    assert error["kind"] == "fatal" and "64000" in error["message"]
    assert stop["event"] == "stop" and stop["reason"] == "api_error"
    assert not (tmp_path / "results").exists()  # the setup's failure: no record
    assert "could not serve" in str(log.samples[0].error.message)


class _UnreachableAPI(_RejectingAPI):
    """A provider whose requests never reach an API: the connection is refused, so there
    is no HTTP status (the provider SDK's connection error, httpx's underneath)."""

    async def generate(self, input, tools, tool_choice, config):
        import httpx

        try:
            raise httpx.ConnectError("[Errno 111] Connection refused")
        except httpx.ConnectError as e:
            raise RuntimeError("Connection error.") from e


@modelapi(name="unreachable")
def _unreachable():
    return _UnreachableAPI


def test_a_connection_failure_under_inspect_is_a_transient_api_error(tmp_path, monkeypatch):
    """No status, as from a network that is down: the loop waits and asks again, as it does
    for the Messages API's connection errors, then stops with an api_error."""
    monkeypatch.setattr(agent.launch.project_harness, "ProjectHarness", CLIHarness)
    monkeypatch.setattr(api_errors, "API_PAUSE_S", 0.0)
    log = _eval(tmp_path, "unreachable/model")
    assert log.status == "error"
    events = read_events(_run(tmp_path) / "transcript.jsonl")
    errors = [e for e in events if e["event"] == "api_error"]
    assert [(e["status"], e["kind"]) for e in errors] == [(None, "transient")] * 3
    assert "Connection" in errors[0]["message"]
    assert events[-1]["event"] == "stop" and events[-1]["reason"] == "api_error"
    assert not (tmp_path / "results").exists()
    assert "could not serve" in str(log.samples[0].error.message)


@pytest.mark.slow
def test_a_session_that_fails_leaves_no_run_behind(tmp_path, monkeypatch):
    """mockllm runs out of answers at turn 2 (an error that is no API's): Inspect cannot
    resume the session, so nothing of it is left in runs/."""
    monkeypatch.setattr(agent.launch.project_harness, "ProjectHarness", CLIHarness)
    log = _eval(tmp_path, "mockllm/model", model_args={"custom_outputs": _calls(
        ("list_files", {}))})
    assert log.status == "error" and "ran out" in str(log.samples[0].error.message)
    assert _runs(tmp_path) == []


def test_a_session_that_cannot_start_leaves_no_run_behind(tmp_path, monkeypatch):
    class NoFacts(CLIHarness):
        def track_facts(self, preset, device, results_dir):
            raise RuntimeError("no facts about this machine")

    monkeypatch.setattr(agent.launch.project_harness, "ProjectHarness", NoFacts)
    log = _eval(tmp_path, "mockllm/model", model_args={"custom_outputs": _calls(
        ("submit", {}))})
    assert log.status == "error"
    assert _runs(tmp_path) == []
