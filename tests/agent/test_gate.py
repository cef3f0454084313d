"""One timing gate: the same calls of a harness pass a sweep's lease and the Inspect task's
process gate (the timed sections; the untimed runs of a solution too when exclusive), and
the process gate lets one of them through at a time."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from agentfakes import FakeClock, FakeHarness

from agent.launch.gate import SOLUTION_RUNS, TIMED_SECTIONS, GatedHarness, ProcessGate


class RecordingGate:
    """Lets everything through at once, noting each section's label."""

    def __init__(self):
        self.labels, self.last_wait_s = [], 0.0

    def run(self, fn, *args, label: str, **kwargs):
        self.labels.append(label)
        return fn(*args, **kwargs)


def _every_call(harness, solution: Path) -> None:
    """Every method of the Harness protocol once."""
    harness.prepare("tiny", "cpu")
    harness.check(solution, "tiny", "cpu")
    harness.bench(solution, "tiny", "cpu", 1)
    harness.profile(solution, "tiny", "cpu")
    harness.run_python(solution, "probe.py", [], "cpu", 10.0)
    harness.track_facts("tiny", "cpu", "results")
    ev = harness.official_evaluation(solution, "tiny", "cpu", 1)
    harness.baseline_evaluation(solution, "tiny", "cpu", "refusal")
    harness.write_record(ev, {"kind": "agent"}, {}, str(solution.parent / "results"),
                         transcript=solution / "probe.py", command="speedup test")
    harness.library("cpu")


@pytest.mark.parametrize("exclusive, gated", [
    (False, ["calibration and ceilings", "run_bench", "the baseline's time",
             "official evaluation"]),
    (True, ["calibration and ceilings", "run_check", "run_bench", "profile", "run_python",
            "the baseline's time", "official evaluation"])])
def test_the_timed_sections_pass_the_gate_and_solution_runs_when_exclusive(tmp_path, exclusive,
                                                                             gated):
    (tmp_path / "probe.py").write_text("print(1)\n")
    gate = RecordingGate()
    _every_call(GatedHarness(FakeHarness(FakeClock()), gate, exclusive), tmp_path)
    assert gate.labels == gated


def test_the_wait_at_the_gate_is_handed_over_once(tmp_path):
    gate = RecordingGate()
    harness = GatedHarness(FakeHarness(FakeClock()), gate)
    gate.last_wait_s = 7.0
    harness.bench(tmp_path, "tiny", "cpu", 1)
    harness.check(tmp_path, "tiny", "cpu")  # not gated: adds no wait
    assert harness.take_wait_s() == 7.0 and harness.take_wait_s() == 0.0


def test_the_inspect_task_gates_every_run_of_a_solution(tmp_path, monkeypatch):
    pytest.importorskip("inspect_ai")
    from agent.launch import inspect_task, project_harness
    from correctness.tolerances import Source

    monkeypatch.setattr(project_harness, "ProjectHarness",
                        lambda tolerances: FakeHarness(FakeClock()))
    harness = inspect_task.gated_harness(Source())
    assert isinstance(harness.gate, ProcessGate)
    assert harness.gated == {**TIMED_SECTIONS, **SOLUTION_RUNS}


class _Held:
    """A harness whose bench holds the device until told, noting when each call ran."""

    def __init__(self, log: list, release: threading.Event, entered: threading.Event):
        self.log, self.release, self.entered = log, release, entered

    def bench(self, name: str) -> str:
        self.log.append(f"{name} starts")
        self.entered.set()
        self.release.wait(timeout=30)
        self.log.append(f"{name} ends")
        return name


def test_a_process_gate_lets_one_section_through_at_a_time():
    log, release, entered = [], threading.Event(), threading.Event()
    first = GatedHarness(_Held(log, release, entered), ProcessGate())
    second = GatedHarness(_Held(log, release, threading.Event()), ProcessGate())
    a = threading.Thread(target=first.bench, args=("a",))
    a.start()
    entered.wait(timeout=30)
    b = threading.Thread(target=second.bench, args=("b",))
    b.start()
    b.join(timeout=0.2)  # b is at the gate: it must not start while a holds it
    assert log == ["a starts"]
    release.set()
    a.join()
    b.join()
    assert log == ["a starts", "a ends", "b starts", "b ends"]
