"""An agent session shows where its tools are: every sandboxed run a tool starts (run_check,
run_bench's rounds, run_python, profile) reports its phase and the time since the call
began, on a terminal as one live line, elsewhere (CI, a log) as a line per phase.

The CLI tests run `speedup run` (the offline library policy) on the project's harness with
its judge faked (a passing quick check, at once) and its clock real down to the sandbox,
where tests/officialfakes.py fakes the runs: run_bench's phases are bench.clock's own."""

from __future__ import annotations

import io
import re

import pytest
from agentfakes import FakeClock, FakeHarness, facts
from officialfakes import use_fake_clock
from rich.console import Console

import agent.launch.project_harness
import speedup.ui
from agent.session.budget import Budgets, Spend
from agent.session.harness import CheckOutcome, CheckRow
from agent.session.tools import Toolbox
from agent.session.workspace import Workspace
from correctness.sandbox import reference_dir
from kernels.registry import Impl
from speedup.cli import main

REAL_HARNESS = agent.launch.project_harness.ProjectHarness
# A line per phase off a terminal: "    <tool>: <phase>", then "  (<done>/<total>, <s> s
# elapsed)" on every line after the call's first.
PHASE = re.compile(r"^    (run_check|run_bench): (.+?)(?:  \((\d+)/(\d+), (\d+\.\d) s elapsed\))?$")


class JudgedAtOnce(REAL_HARNESS):
    """The project's harness, its quick check a passing verdict given at once, its library
    one torch-native implementation, its prompt's facts fixed."""

    def check(self, solution_dir, preset, device) -> CheckOutcome:
        return CheckOutcome(passed=True, checks=[CheckRow("heldout_loss", True, 0.0, 0.02)])

    def library(self, device) -> list[Impl]:
        return [Impl("adamw", "torch", False)]

    def track_facts(self, preset, device, results_dir):
        return facts()


def speedup_run(tmp_path, monkeypatch) -> int:
    use_fake_clock(monkeypatch)
    monkeypatch.setattr(agent.launch.project_harness, "ProjectHarness", JudgedAtOnce)
    return main(["run", "--device", "cpu", "--bench-rounds", "1", "--eval-rounds", "1",
                 "--runs-dir", str(tmp_path / "runs"), "--results-dir",
                 str(tmp_path / "results"), "--out", str(tmp_path)])


def tool_calls(err: str, tool: str) -> list[list[re.Match]]:
    """The phase lines of each call of `tool`, in order; every line of stderr between the
    call's announcement ("turn N: tool()") and its result ("→" or "✗") is one."""
    calls, lines = [], err.splitlines()
    for i, line in enumerate(lines):
        if re.fullmatch(rf"turn \d+: {tool}\(\)", line):
            end = next(j for j in range(i + 1, len(lines)) if lines[j].startswith("    →")
                       or lines[j].startswith("    ✗"))
            calls.append([PHASE.match(text) for text in lines[i + 1:end]])
    return calls


def test_off_a_terminal_each_phase_of_run_check_and_run_bench_is_a_line(tmp_path, monkeypatch,
                                                                         capsys):
    assert speedup_run(tmp_path, monkeypatch) == 0
    err = capsys.readouterr().err
    assert "\x1b" not in err  # plain lines: no live display
    checks, benches = tool_calls(err, "run_check"), tool_calls(err, "run_bench")
    assert checks and benches
    for phases in checks + benches:
        assert phases and all(phases), phases  # nothing else between a call and its result
        first, *steps = phases
        assert first[3] is None  # the call's start: what runs, before any time passed
        # then every step, counted up to the call's end, the last saying it finished
        assert [int(m[3]) for m in steps] == list(range(1, len(steps) + 1))
        assert all(int(m[4]) == len(steps) for m in steps)
        assert steps[-1][2] == "finished"
        elapsed = [float(m[5]) for m in steps]
        assert elapsed == sorted(elapsed)
    for first, *_ in checks:
        assert first[1] == "run_check" and "quick check" in first[2]
    for first, *steps in benches:
        # bench.clock's phases, one per sandboxed run: the warm-up's and round 1's, each of
        # the baseline and of the workspace
        assert "1 round" in first[2]
        runs = [m[2] for m in steps[:-1]]
        assert len(runs) == 4
        assert sum(r.startswith("warm-up: ") for r in runs) == 2
        assert sum(r.startswith("round 1: ") for r in runs) == 2
        assert sum("reference baseline" in r for r in runs) == 2


def test_on_a_terminal_the_phases_are_one_live_line(tmp_path, monkeypatch):
    screen = io.StringIO()
    terminal = Console(file=screen, force_terminal=True, width=120, highlight=False,
                       soft_wrap=True)
    monkeypatch.setattr(speedup.ui, "console", terminal)
    assert speedup_run(tmp_path, monkeypatch) == 0
    text = screen.getvalue()
    assert "\x1b[?25l" in text  # rich's live display hides the cursor while it draws
    assert "run_bench: round 1: " in text and "run_check: quick check" in text
    assert "\x1b[2K" in text  # the line is redrawn in place and erased at the call's end
    assert not re.search(r"\(\d+/\d+, \d+\.\d s elapsed\)", text)  # no line per phase
    # each call's live display has ended (the cursor shown again) before its result
    for last_frame, result in (("run_check: finished", "    → PASSED (quick check"),
                               ("run_bench: finished", "    → speedup ")):
        drawn = text.rindex(last_frame, 0, text.index(result))
        assert "\x1b[?25h" in text[drawn:text.index(result)]


# ---------------------------------------------------------------------------- the toolbox

@pytest.fixture
def toolbox(tmp_path):
    told: list[tuple[int, int, str]] = []

    def make(harness=None) -> Toolbox:
        ws = Workspace.create(tmp_path / "ws", reference_dir("tiny"))
        (ws.root / "probe.py").write_text("print('hi')\n")
        return Toolbox(ws, harness or FakeHarness(FakeClock()), preset="tiny", device="cpu",
                       bench_rounds=2, budgets=Budgets(), spend=Spend(),
                       on_progress=lambda *step: told.append(step))

    return make, told


def test_run_python_and_profile_report_their_run_from_start_to_end(toolbox):
    make, told = toolbox
    tools = make()
    assert not tools.call("run_python", {"path": "probe.py"}).is_error
    assert not tools.call("profile", {}).is_error
    assert told == [(0, 1, "run_python: 'probe.py' in the sandbox"),
                    (1, 1, "run_python: finished"),
                    (0, 1, "profile: one training run under the torch profiler"),
                    (1, 1, "profile: finished")]


def test_run_bench_counts_the_harness_steps_one_short_of_its_end(toolbox):
    """The harness's steps (bench.clock's: one per run) are the call's, its end one more:
    done reaches total only when the call ends, where a display closes its line."""
    class Stepping(FakeHarness):
        def bench(self, solution_dir, preset, device, rounds, on_progress=None):
            on_progress(1, 2, "warm-up: reference baseline 1.00 s")
            on_progress(2, 2, "warm-up: workspace 1.00 s")
            return super().bench(solution_dir, preset, device, rounds)

    make, told = toolbox
    make(Stepping(FakeClock())).call("run_bench", {})
    assert told == [(0, 1, "run_bench: 2 rounds against the baseline, after a warm-up"),
                    (1, 3, "run_bench: warm-up: reference baseline 1.00 s"),
                    (2, 3, "run_bench: warm-up: workspace 1.00 s"),
                    (3, 3, "run_bench: finished")]


def test_a_failing_harness_still_ends_the_calls_progress(toolbox):
    class Broken(FakeHarness):
        def check(self, solution_dir, preset, device):
            raise RuntimeError("the sandbox is gone")

    make, told = toolbox
    result = make(Broken(FakeClock())).call("run_check", {})
    assert result.is_error and "the sandbox is gone" in result.content
    assert told[-1] == (1, 1, "run_check: failed")
