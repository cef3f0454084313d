"""agent/launch/sweep_plan.py and `speedup sweep`'s refusals, without Ray: run ids the same request
always gives, each run's status read back from its directory and the results folder, and
one-line errors before anything starts."""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import sys

import pytest

from agent.launch import build
from agent.launch.lease import RESOURCE, task_options
from agent.launch.sweep_plan import SweepError, plan, sweep_run_id
from speedup.cli import main


def _config(tmp_path, policy="library", **kw):
    return build.build_config(policy, preset="tiny", device="cpu",
                              results_dir=str(tmp_path / "results"), **kw)


def test_run_ids_are_the_same_for_the_same_request():
    assert sweep_run_id("library", None, "tiny", "cpu", 2) == "sweep-library-tiny-cpu-02"
    assert (sweep_run_id("claude", "claude-sonnet-5-5", "cpu", "cpu", 10)
            == "sweep-claude-claude-sonnet-5-5-cpu-cpu-10")


def test_a_new_sweep_plans_every_model_and_run(tmp_path):
    a = _config(tmp_path, "claude", model="claude-sonnet-5-5")
    b = dataclasses.replace(a, model="claude-opus-4-6")
    planned = plan([a, b], 2, tmp_path / "runs")
    assert [(p.config.model, p.index, p.status) for p in planned] == [
        ("claude-sonnet-5-5", 1, "new"), ("claude-sonnet-5-5", 2, "new"),
        ("claude-opus-4-6", 1, "new"), ("claude-opus-4-6", 2, "new")]
    assert len({p.run_id for p in planned}) == 4
    with pytest.raises(SweepError, match="twice"):
        plan([a, a], 1, tmp_path / "runs")


def _started(runs, config, **changes):
    run_dir = runs / config.run_id
    run_dir.mkdir(parents=True)
    start = {"event": "start", "config": dataclasses.replace(config, **changes).to_dict(),
             "workspace_hash": "sha256:0"}
    (run_dir / "transcript.jsonl").write_text(json.dumps(start) + "\n")
    return run_dir


def test_status_is_read_back_from_the_runs_and_the_results(tmp_path):
    runs, results = tmp_path / "runs", tmp_path / "results"
    config = _config(tmp_path)
    one, two, three, four = plan([config], 4, runs)
    (_started(runs, one.config) / "record.json").write_text('{"record": "results/a.json"}')
    _started(runs, two.config)  # started, no record: resumed
    results.mkdir()  # scored, then killed before record.json: finished, never scored again
    (results / "b.json").write_text(json.dumps({"entrant": {"run_id": three.run_id}}))
    (runs / four.run_id).mkdir()  # killed before its first event: nothing to resume
    again = plan([config], 5, runs)
    assert [(p.status, p.record) for p in again] == [
        ("finished", "results/a.json"), ("resume", None), ("finished", str(results / "b.json")),
        ("new", None), ("new", None)]


def test_a_run_started_with_other_settings_is_refused(tmp_path):
    runs = tmp_path / "runs"
    config = _config(tmp_path)
    (first,) = plan([config], 1, runs)
    _started(runs, first.config, eval_rounds=7)
    with pytest.raises(SweepError, match="eval_rounds differ.*another --runs-dir"):
        plan([config], 1, runs)


def test_the_lease_is_one_gpu_or_the_cpu_resource():
    assert task_options("cuda") == {"num_gpus": 1, "num_cpus": 0}
    assert task_options("cpu") == {"resources": {RESOURCE: 1}, "num_cpus": 0}


def _one_line(capsys, needle):
    err = capsys.readouterr().err.strip()
    assert needle in err and len(err.splitlines()) == 1 and "Traceback" not in err


def test_without_ray_the_sweep_says_how_to_install_it(capsys, monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` raises ImportError
    assert main(["sweep", "--policy", "library", "--device", "cpu",
                 "--runs-dir", str(tmp_path)]) == 2
    _one_line(capsys, "pip install '.[sweep]'")


@pytest.mark.skipif(importlib.util.find_spec("ray") is None,
                    reason="speedup sweep asks for Ray before it reads its options: "
                           "pip install '.[sweep]'")
@pytest.mark.parametrize("args, needle", [
    (["--policy", "library", "--models", "a,b"], "--models is for --policy claude"),
    (["--policy", "claude", "--models", "a,,b"], "has an empty name"),
    (["--policy", "library", "--runs", "0"], "--runs must be a positive integer"),
    (["--policy", "library", "--address", "127.0.0.1:9"], "nothing answers there"),
    (["--policy", "library", "--address", "nohost"], "expected host:port"),
])
def test_bad_input_is_one_line_before_anything_runs(capsys, monkeypatch, tmp_path, args,
                                                    needle):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "test")
    try:
        code = main(["sweep", "--device", "cpu", "--preset", "tiny", "--runs-dir",
                     str(tmp_path / "runs"), "--results-dir", str(tmp_path / "results"),
                     *args])
    except SystemExit as e:  # argparse's own refusals
        code = e.code
    assert code == 2
    _one_line(capsys, needle)
    assert not list((tmp_path / "runs").glob("sweep-*"))


class _WaitingLease:
    """A lease that makes every call wait `wait_s` on the fake clock before it runs."""

    def __init__(self, clock, wait_s: float):
        self.clock, self.wait_s, self.last_wait_s, self.labels = clock, wait_s, 0.0, []

    def run(self, fn, *args, label: str, **kwargs):
        self.clock.now += self.wait_s
        self.last_wait_s = self.wait_s
        self.labels.append(label)
        return fn(*args, **kwargs)


@pytest.mark.parametrize("exclusive, leased", [(False, ["run_bench"]),
                                               (True, ["run_check", "run_bench"])])
def test_waiting_for_the_lease_is_not_charged_as_device_seconds(tmp_path, exclusive, leased):
    from agentfakes import BENCH_S, CHECK_S, FakeClock, FakeHarness

    from agent.launch.gate import GatedHarness
    from agent.session.budget import Budgets, Spend
    from agent.session.tools import Toolbox
    from agent.session.workspace import Workspace
    from correctness.sandbox import BASELINE_DIR

    clock = FakeClock()
    lease = _WaitingLease(clock, wait_s=500.0)
    spend = Spend()
    tools = Toolbox(Workspace.create(tmp_path / "ws", BASELINE_DIR),
                    GatedHarness(FakeHarness(clock), lease, exclusive), preset="tiny",
                    device="cpu", bench_rounds=1, budgets=Budgets(), spend=spend, clock=clock)
    tools.call("run_check", {})
    tools.call("run_bench", {})
    assert lease.labels == leased
    assert spend.device_s == pytest.approx(CHECK_S + BENCH_S)  # the waits are not in it
