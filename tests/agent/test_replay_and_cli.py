"""The replay policy replays a recorded session's tool calls; `speedup agent` refuses bad
input in one line (exit 2) and shows a transcript readably."""

from __future__ import annotations

import pytest
from test_session import _session_script

from agent.policies.replay import ReplayPolicy
from agent.session.loop import Session
from agent.session.run_config import RunConfig
from agent.session.transcript import read_events
from speedup.cli import main


def _tool_calls(run_dir) -> list[tuple]:
    return [(e["name"], e["input"]) for e in read_events(run_dir / "transcript.jsonl")
            if e["event"] == "tool_call"]


def test_replay_runs_the_recorded_tool_calls_again(start_claude, harness, clock, tmp_path):
    original, _ = start_claude(_session_script())
    recorded = original.run()
    transcript = original.dir / "transcript.jsonl"

    config = RunConfig(run_id="replayed", policy="replay", model="claude-sonnet-5-5",
                       preset="tiny", device="cpu", eval_rounds=1, replay_from=str(transcript),
                       results_dir=str(tmp_path / "results"))
    replay = Session.start(tmp_path / "runs", config, ReplayPolicy(transcript), harness,
                           clock=clock)
    outcome = replay.run()
    assert _tool_calls(replay.dir) == _tool_calls(original.dir)
    assert outcome.hash == recorded.hash and outcome.stop_reason == "submitted"
    assert outcome.spend.input_tokens == recorded.spend.input_tokens  # recorded usage replays


def test_replay_that_runs_out_stops_the_run(start_claude, harness, clock, tmp_path):
    original, _ = start_claude([])  # started, never run: a transcript with no responses
    config = RunConfig(run_id="empty", policy="replay", model="m", preset="tiny",
                       device="cpu", eval_rounds=1, results_dir=str(tmp_path / "results"))
    session = Session.start(tmp_path / "runs", config,
                            ReplayPolicy(original.dir / "transcript.jsonl"), harness, clock=clock)
    outcome = session.run()
    assert outcome.stop_reason == "policy_done" and outcome.source == "baseline"


def _one_line_error(capsys, needle: str) -> None:
    err = capsys.readouterr().err.strip()
    assert needle in err and len(err.splitlines()) == 1 and "Traceback" not in err


def test_claude_without_a_key_is_one_line_and_exit_2(capsys, monkeypatch, tmp_path):
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    assert main(["agent", "--device", "cpu", "--runs-dir", str(tmp_path)]) == 2
    _one_line_error(capsys, "needs ANTHROPIC_API_KEY")
    assert list(tmp_path.iterdir()) == []  # nothing was started


@pytest.mark.parametrize("args, needle", [
    (["--thinking", "500"], "at least 1024"),
    (["--thinking", "lots"], "--thinking wants"),
    (["--thinking", "9000", "--max-tokens", "8000", "--model", "claude-opus-4-5"],
     "must be below --max-tokens"),
    (["--thinking", "4000"], "claude-sonnet-5-5 takes no thinking budget"),
    (["--effort", "lots"], "argument --effort: invalid choice"),
    (["--effort", "low", "--model", "claude-haiku-4-5"], "takes no effort parameter"),
    (["--model", "claude-mythos-preview"], "--price"),
    (["--price", "1,2"], "four non-negative"),
    (["--max-tokens", "200000"], "between 1 and 128,000"),
    (["--max-dollars", "0"], "--max-dollars must be positive"),
    (["--max-wall-s", "nan"], "--max-wall-s must be positive"),
    (["--max-device-s", "lots"], "--max-device-s must be a number"),
    (["--eval-rounds", "0"], "--eval-rounds must be a positive integer"),
    (["--max-retries", "-1"], "--max-retries must be a non-negative integer"),
    (["--policy", "replay"], "needs --replay"),
    (["show"], "the following arguments are required: RUN"),
    (["--resume", "no-such-run"], "no run 'no-such-run'"),
])
def test_bad_input_is_one_line_and_exit_2(capsys, monkeypatch, tmp_path, args, needle):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "test")
    try:
        code = main(["agent", "--device", "cpu", "--runs-dir", str(tmp_path), *args])
    except SystemExit as e:  # argparse's own errors exit from inside parse_args
        code = e.code
    assert code == 2
    _one_line_error(capsys, needle)


def test_an_uncalibrated_track_is_refused_before_any_turn(capsys, monkeypatch, tmp_path):
    from correctness import tolerances

    monkeypatch.setenv("ANTHROPIC_API_KEY", "test")
    monkeypatch.setattr(tolerances, "PATH", tmp_path / "no-tolerances.json")
    code = main(["run", "--no-auto-calibrate", "--device", "cpu", "--runs-dir",
                 str(tmp_path / "runs")])
    assert code == 2
    _one_line_error(capsys, "speedup calibrate --preset tiny --device cpu")
    assert not (tmp_path / "runs").exists()  # no session was started


def test_show_prints_the_transcript_readably(start_claude, capsys):
    session, _ = start_claude(_session_script())
    session.run()
    capsys.readouterr()
    assert main(["agent", "show", session.dir.name, "--runs-dir", str(session.dir.parent)]) == 0
    text = capsys.readouterr().out
    assert "run r1: policy claude, model claude-sonnet-5-5, preset tiny on cpu" in text
    assert "── turn 3 ──" in text and '→ read_file(path="ops.py")' in text
    assert "speedup 1.500x" in text and "stopped: submitted after 5 turns" in text
    assert "official evaluation of submitted state" in text


def test_a_finished_run_is_not_resumed_from_the_cli(start_claude, capsys, monkeypatch):
    session, _ = start_claude(_session_script())
    session.run()
    monkeypatch.setenv("ANTHROPIC_API_KEY", "test")
    assert main(["agent", "--resume", str(session.dir)]) == 2
    _one_line_error(capsys, "is finished")
