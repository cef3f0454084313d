"""What `speedup bench` shows on a terminal: its progress bar is drawn on stderr while its
results go to stdout, and on a terminal both land on one screen. Each result line must start
on a line of its own, above the bar, never at the end of the bar's line. The reporter's
consoles (speedup.ui) are pointed at one terminal-like buffer; the clock is faked
(officialfakes), every path from the command down to bench.clock real."""

import io
import re

import pytest
from officialfakes import use_fake_clock
from rich.console import Console

from correctness.solution import SHIPPED_DIR
from speedup import ui
from speedup.cli import main

SOLUTION = SHIPPED_DIR / "torch_native"  # a reference entry; never run here (faked clock)
CSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")  # cursor moves, erases, colours


def _screen(monkeypatch) -> io.StringIO:
    """ui.console (stderr) and ui.out (stdout) writing to one terminal, as they do when a
    user runs the command in one."""
    screen = io.StringIO()
    for name, stderr in (("console", True), ("out", False)):
        monkeypatch.setattr(ui, name, Console(file=screen, force_terminal=True, width=120,
                                              stderr=stderr, highlight=False, soft_wrap=True))
    return screen


def _text_before_on_its_line(screen: str, at: int) -> str:
    """The visible characters written on the cursor's line before position `at`: what is
    left after the last newline or carriage return, control sequences removed."""
    start = max(screen.rfind("\n", 0, at), screen.rfind("\r", 0, at)) + 1
    return CSI.sub("", screen[start:at])


def test_the_wrote_line_starts_on_its_own_line_above_the_progress_bar(monkeypatch, tmp_path,
                                                                      quick_ceilings):
    use_fake_clock(monkeypatch)
    screen = _screen(monkeypatch)
    results = tmp_path / "results"
    assert main(["bench", str(SOLUTION), "--preset", "tiny", "--device",
                 "cpu", "--rounds", "1", "--results-dir", str(results)]) == 0
    text = screen.getvalue()
    (record,) = results.glob("*.json")
    assert "bench on tiny/cpu" in text[:text.index("verdict: PASS")]  # the bar came first
    # which line meets the bar depends on when the bar redraws: every one is checked
    for line in (f"{SOLUTION} on tiny/cpu\n", "speedup 1.000x", "verdict: PASS",
                 f"wrote {record}"):
        assert _text_before_on_its_line(text, text.index(line)) == "", line


@pytest.mark.parametrize("stdout_is_a_terminal", [True, False])
def test_results_go_to_stdout_unless_it_shares_the_terminal_of_the_bar(
        monkeypatch, stdout_is_a_terminal):
    """Redirected (`speedup bench DIR > log`), the results stay in the redirected stdout."""
    screen, log = io.StringIO(), io.StringIO()
    monkeypatch.setattr(ui, "console", Console(file=screen, force_terminal=True, stderr=True))
    monkeypatch.setattr(ui, "out", Console(file=screen if stdout_is_a_terminal else log,
                                           force_terminal=stdout_is_a_terminal))
    with ui.progress("bench", 2) as advance:
        advance(status="round 1")
        ui.result_console().print("wrote results/x.json", markup=False)
    where = screen if stdout_is_a_terminal else log
    assert "wrote results/x.json" in where.getvalue()
    if not stdout_is_a_terminal:
        assert "wrote" not in screen.getvalue()
