"""A session's record goes to the user's records folder ($XDG_DATA_HOME/speedup-bench/results,
bench.records.user_results_dir) unless its caller names another, whoever starts it: the CLI
(its --results-dir default), build_config, a bare RunConfig, and the Inspect task. Never to
results/ under the working directory, the shipped reference records of a checkout."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agent.launch.build import build_config
from agent.session.run_config import RunConfig
from bench.records import user_results_dir


def test_a_run_config_and_build_config_default_to_the_users_folder():
    bare = RunConfig(run_id="r", policy="library", model=None, preset="tiny", device="cpu")
    built = build_config("library", preset="tiny", device="cpu")
    assert bare.results_dir == built.results_dir == str(user_results_dir())


def test_the_inspect_task_writes_its_record_to_the_users_folder(tmp_path, monkeypatch):
    pytest.importorskip("inspect_ai")
    from inspect_ai import eval as inspect_eval
    from test_cli_outcomes import CLIHarness
    from test_inspect_task import _calls

    import agent.launch.project_harness
    from agent.launch.inspect_task import speedup_bench

    monkeypatch.setattr(agent.launch.project_harness, "ProjectHarness", CLIHarness)
    monkeypatch.chdir(tmp_path)  # where a relative results/ would land
    task = speedup_bench(eval_rounds=1, runs_dir=str(tmp_path / "runs"))
    (log,) = inspect_eval(task, model="mockllm/model", log_dir=str(tmp_path / "logs"),
                          display="none", message_limit=4,
                          model_args={"custom_outputs": _calls(("submit", {}))})
    assert log.status == "success", log.error
    record = Path(log.samples[0].scores["official_record"].metadata["record"])
    assert record.parent == user_results_dir()
    assert json.loads(record.read_text())["entrant"]["policy"] == "inspect"
    assert not (tmp_path / "results").exists()
