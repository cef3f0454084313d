"""One way to start a session and one to resume it (agent.launch.build): the policy the
config names and the project's harness unless the caller gives its own (a sweep's gated
harness, an Inspect model), and a resume continues with the policy and task text its run
started with."""

from __future__ import annotations

import pytest
from agentfakes import FakeClock, FakeHarness

from agent.launch import build, project_harness
from agent.session.resume import ResumeError
from agent.session.run_config import RunConfig
from agent.session.run_dir import RunDir


class _Named:
    """A policy that only has a name (the session never asks it for a turn here)."""

    model = None
    default_max_tokens, min_max_tokens, context_window = 64_000, 1, None

    def __init__(self, name: str):
        self.name = name


@pytest.fixture
def project(monkeypatch) -> list:
    """The project's harness, faked: every harness it makes is noted."""
    made = []

    def make():
        made.append(FakeHarness(FakeClock()))
        return made[-1]

    monkeypatch.setattr(project_harness, "ProjectHarness", make)
    return made


def _library(run_id: str = "r1") -> RunConfig:
    return RunConfig(run_id=run_id, policy="library", model=None, preset="tiny",
                     device="cpu")


def test_a_start_takes_the_configs_policy_and_the_projects_harness(tmp_path, project):
    session = build.start_session(tmp_path, _library())
    assert session.policy.name == "library" and session.harness is project[-1]
    assert session.run_dir.path == tmp_path / "r1" and session.run_dir.transcript.is_file()


def test_a_start_takes_the_policy_and_harness_it_is_given(tmp_path, project):
    mine = FakeHarness(FakeClock())
    session = build.start_session(tmp_path, _library(), policy=_Named("inspect"),
                                  harness=mine)
    assert session.policy.name == "inspect" and session.harness is mine
    assert project == []  # the project's harness was never made


def test_a_resume_continues_the_run_with_its_own_config_and_policy(tmp_path, project):
    started = build.start_session(tmp_path, _library())
    mine = FakeHarness(FakeClock())
    events = []
    resumed = build.resume_session(RunDir(started.dir), harness=mine, on_event=events.append)
    assert resumed.config == started.config and resumed.policy.name == "library"
    assert resumed.system == started.system and resumed.harness is mine
    assert [e["event"] for e in events] == ["resume"]
    again = build.resume_session(started.dir)  # a plain path does too, on the project's
    assert again.harness is project[-1]


def test_an_inspect_run_is_continued_in_inspect_not_here(tmp_path, project):
    config = RunConfig(run_id="r2", policy="inspect", model="mockllm/model", preset="tiny",
                       device="cpu")
    build.start_session(tmp_path, config, policy=_Named("inspect"))
    with pytest.raises(ResumeError, match="ran under Inspect AI"):
        build.resume_session(tmp_path / "r2")
