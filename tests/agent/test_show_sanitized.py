"""`speedup agent show` prints a transcript, which holds what a model wrote and what its
tools returned (a run's output among them): text anyone may have shared, so untrusted. Its
terminal control sequences are removed before it reaches the terminal (a fake line over a
real one, concealed text, a window title), its words kept."""

from __future__ import annotations

import json

from speedup.cli import main

HOSTILE = "PASSED\x1b[8m REJECTED\x1b[0m\x1b]0;owned\x07\rover"


def _transcript(run_dir) -> None:
    spend = {"input_tokens": 0, "cache_write_tokens": 0, "cache_read_tokens": 0,
             "output_tokens": 0, "dollars": 0.0}
    events = [
        {"event": "start", "time": "t0", "config": {"run_id": run_dir.name, "policy": "replay",
                                                    "model": None, "preset": "tiny",
                                                    "device": "cpu"}},
        {"event": "request", "turn": 1},
        {"event": "response", "cost": 0.0, "spend": spend,
         "message": {"stop_reason": "tool_use", "content": [
             {"type": "text", "text": "model says " + HOSTILE},
             {"type": "thinking", "thinking": "thinks " + HOSTILE}]}},
        {"event": "tool_call", "name": "run_check", "input": {"path": "."}},
        {"event": "tool_result", "is_error": False, "content": "run says " + HOSTILE},
    ]
    run_dir.mkdir()
    (run_dir / "transcript.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events))


def test_show_strips_control_sequences_and_keeps_the_words(tmp_path, capsys):
    run_dir = tmp_path / "20260101T000000-replay-abcdef"
    _transcript(run_dir)
    assert main(["agent", "show", str(run_dir)]) == 0
    out = capsys.readouterr().out
    assert not {"\x1b", "\x07", "\r"} & set(out), repr(out)
    for who in ("model says", "thinks", "run says"):
        assert f"{who} PASSED REJECTEDover" in out, out
