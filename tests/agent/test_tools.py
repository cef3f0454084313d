"""Tool confinement: the file tools reach the workspace and nothing else; every refusal is
an error result with a message the model can act on."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from agentfakes import FakeClock, FakeHarness

import agent
from agent.session.budget import Budgets, Spend
from agent.session.tools import Toolbox
from agent.session.workspace import MAX_FILE_BYTES, Workspace
from correctness.sandbox import BASELINE_DIR

REPO = Path(agent.__file__).resolve().parent.parent
HARNESS_FILE = REPO / "agent" / "session" / "loop.py"  # a file of the harness, not the workspace


@pytest.fixture
def tools(tmp_path) -> Toolbox:
    ws = Workspace.create(tmp_path / "ws", BASELINE_DIR)
    clock = FakeClock()
    return Toolbox(ws, FakeHarness(clock), preset="tiny", device="cpu", bench_rounds=1,
                   budgets=Budgets(), spend=Spend(), clock=clock)


def _text(result) -> str:
    """A result's text without the budgets line every result ends with."""
    return Toolbox.without_budgets(result.content)


def _refused(result, *needles):
    assert result.is_error, result.content
    for needle in needles:
        assert needle in result.content


def test_workspace_starts_as_the_baseline(tools):
    listing = tools.call("list_files", {}).content
    for name in ("solution.py", "ops.py", "model.py", "train.py"):
        assert name in listing
    assert _text(tools.call("read_file", {"path": "ops.py"})) == \
        (BASELINE_DIR / "ops.py").read_text()


@pytest.mark.parametrize("path", ["../ws/ops.py", "sub/../../x.py", "..", "./../ops.py"])
def test_dot_dot_is_refused(tools, path):
    _refused(tools.call("read_file", {"path": path}), "'..'")
    _refused(tools.call("write_file", {"path": path, "content": "x"}), "'..'")


@pytest.mark.parametrize("path", [str(HARNESS_FILE), "/etc/passwd", "~/x.py"])
def test_absolute_paths_are_refused(tools, path):
    _refused(tools.call("read_file", {"path": path}), "absolute path")


def test_reads_of_the_harness_are_refused(tools):
    _refused(tools.call("read_file", {"path": "../../correctness/sandbox.py"}), "'..'")
    _refused(tools.call("read_file", {"path": os.path.relpath(HARNESS_FILE,
                                                               tools.ws.root)}), "'..'")


def test_symlinks_out_of_the_workspace_are_refused(tools):
    (tools.ws.root / "harness").symlink_to(REPO / "agent")  # a directory link
    (tools.ws.root / "secret.py").symlink_to(HARNESS_FILE)  # a file link
    _refused(tools.call("read_file", {"path": "harness/session/loop.py"}), "outside the workspace")
    _refused(tools.call("read_file", {"path": "secret.py"}), "outside the workspace")
    _refused(tools.call("write_file", {"path": "secret.py", "content": "x"}),
             "outside the workspace")
    _refused(tools.call("edit_file", {"path": "harness/session/loop.py", "old_string": "a",
                                      "new_string": "b"}), "outside the workspace")
    assert "Session" in HARNESS_FILE.read_text()  # untouched


def test_symlinks_inside_the_workspace_are_followed(tools):
    (tools.ws.root / "alias.py").symlink_to(tools.ws.root / "ops.py")
    assert "def gelu" in tools.call("read_file", {"path": "alias.py"}).content


def test_writes_over_one_megabyte_are_refused(tools):
    _refused(tools.call("write_file", {"path": "big.py", "content": "x" * (MAX_FILE_BYTES + 1)}),
             "limit")
    assert not (tools.ws.root / "big.py").exists()
    ok = tools.call("write_file", {"path": "pkg/ok.py", "content": "x" * 1000})
    assert not ok.is_error and (tools.ws.root / "pkg" / "ok.py").stat().st_size == 1000


def test_an_edit_that_would_grow_a_file_past_the_limit_is_refused(tools):
    tools.call("write_file", {"path": "a.py", "content": "AB"})
    _refused(tools.call("edit_file", {"path": "a.py", "old_string": "A",
                                      "new_string": "y" * MAX_FILE_BYTES}), "limit")


def test_edit_must_match_exactly_once(tools):
    tools.call("write_file", {"path": "a.py", "content": "x = 1\nx = 1\ny = 2\n"})
    _refused(tools.call("edit_file", {"path": "a.py", "old_string": "x = 1",
                                      "new_string": "x = 3"}), "found 2 times")
    _refused(tools.call("edit_file", {"path": "a.py", "old_string": "z", "new_string": ""}),
             "not found")
    assert not tools.call("edit_file", {"path": "a.py", "old_string": "y = 2",
                                        "new_string": "y = 5"}).is_error
    assert (tools.ws.root / "a.py").read_text() == "x = 1\nx = 1\ny = 5\n"


def test_read_line_ranges_and_missing_files(tools):
    text = _text(tools.call("read_file", {"path": "ops.py", "start_line": 2, "end_line": 3}))
    assert text == "".join((BASELINE_DIR / "ops.py").read_text().splitlines(True)[1:3])
    _refused(tools.call("read_file", {"path": "nope.py"}), "does not exist")


def test_bad_tool_names_and_arguments_are_errors(tools):
    _refused(tools.call("shell", {"cmd": "ls"}), "unknown tool")
    _refused(tools.call("read_file", {"file": "ops.py"}), "bad arguments", "missing ['path']")
    _refused(tools.call("write_file", {"path": "a.py", "content": 3}), "content must be a string")
    _refused(tools.call("read_file", {"path": "ops.py", "start_line": "2"}),
             "start_line must be an integer")
    _refused(tools.call("list_files", []), "must be a JSON object")


def test_filesystem_errors_are_tool_errors(tools):
    tools.call("write_file", {"path": "a.py", "content": "x"})
    _refused(tools.call("write_file", {"path": "a.py/b.py", "content": "x"}), "write_file failed")
    tools.call("write_file", {"path": "pkg/b.py", "content": "x"})
    _refused(tools.call("read_file", {"path": "pkg"}), "is a directory")


def test_check_reports_each_value_against_its_threshold(tools):
    tools.call("write_file", {"path": "bad.py", "content": "BROKEN"})
    result = tools.call("run_check", {})
    assert result.content.startswith("FAILED: 1 of 1 checks failed")
    assert "heldout_loss" in result.content and "FAIL" in result.content
    assert "0.5" in result.content and "0.02" in result.content
    assert result.facts == {"kind": "check", "passed": False, "hash": tools.ws.solution_hash()}


def test_a_harness_crash_is_a_tool_error_not_a_dead_run(tools):
    def crash(*a):
        raise RuntimeError("judge exploded")

    tools.harness.check = crash
    _refused(tools.call("run_check", {}), "the harness failed", "judge exploded")


def test_run_python_runs_a_workspace_script_and_charges_device_seconds(tools):
    tools.call("write_file", {"path": "exp.py", "content": "print(ARGS)\n"})
    result = tools.call("run_python", {"path": "exp.py", "args": ["64", "fp32"]})
    assert not result.is_error and "ran exp.py with ['64', 'fp32']" in result.content
    assert result.device_s == tools.spend.device_s > 0
    (call,) = [c for c in tools.harness.calls if c[0] == "run_python"]
    assert call[1:] == ("exp.py", ["64", "fp32"], 300.0)  # its time limit


def test_run_python_failures_and_refusals_come_back_as_errors(tools):
    _refused(tools.call("run_python", {"path": "nope.py"}), "does not exist")
    _refused(tools.call("run_python", {"path": "../x.py"}), "'..'")
    _refused(tools.call("run_python", {"path": "a.py", "args": "64"}), "args must be an array")
    _refused(tools.call("run_python", {"path": "a.py", "args": [64]}), "list of strings")
    tools.call("write_file", {"path": "boom.py", "content": "raise ValueError('boom')\n"})
    _refused(tools.call("run_python", {"path": "boom.py"}), "FAILED: boom.py stopped by crash",
             "ValueError: boom")


def test_run_python_gets_at_most_the_device_seconds_left(tools):
    tools.spend.device_s = tools.budgets.max_device_s - 42
    tools.call("write_file", {"path": "exp.py", "content": "X = 1\n"})
    tools.call("run_python", {"path": "exp.py"})
    assert tools.harness.calls[-1][-1] == 42
    tools.spend.device_s = tools.budgets.max_device_s
    _refused(tools.call("run_python", {"path": "exp.py"}), "device budget")


def test_every_result_ends_with_the_budgets_left(tools):
    tools.spend.turns, tools.spend.dollars = 3, 1.5
    for result in (tools.call("list_files", {}), tools.call("read_file", {"path": "x"})):
        assert result.content.splitlines()[-1] == \
            "[budgets left: 97 turns, $23.50, 3600 device s, 14400 wall s]"
