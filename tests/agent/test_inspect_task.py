"""The Inspect AI task offline: Inspect's mockllm model plays a scripted tool sequence
through the same session, tools and budgets as `speedup agent`, and the scorer's official
evaluation writes the same record (the judge and the clock faked, the records and the
leaderboard real), with Inspect's limits as the session's budgets."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("inspect_ai")

from inspect_ai import eval as inspect_eval  # noqa: E402
from inspect_ai.model import ModelOutput, ModelUsage  # noqa: E402
from test_cli_outcomes import MARK, OLD, REAL_HARNESS, CLIHarness  # noqa: E402

import agent.launch.project_harness  # noqa: E402
from agent.launch.inspect_task import speedup_bench  # noqa: E402
from bench import records  # noqa: E402
from bench.leaderboard import build  # noqa: E402


def _calls(*calls, tokens: int = 100) -> list[ModelOutput]:
    outputs = []
    for name, args in calls:
        out = ModelOutput.for_tool_call("mockllm/model", name, args)
        # usage given, so mockllm need not count tokens (its tokenizer would download)
        out.usage = ModelUsage(input_tokens=tokens, output_tokens=10, total_tokens=tokens + 10)
        outputs.append(out)
    return outputs


def _eval(tmp_path, monkeypatch, outputs, **limits):
    monkeypatch.setattr(agent.launch.project_harness, "ProjectHarness", CLIHarness)
    task = speedup_bench(eval_rounds=1, runs_dir=str(tmp_path / "runs"),
                         results_dir=str(tmp_path / "results"))
    (log,) = inspect_eval(task, model="mockllm/model", model_args={"custom_outputs": outputs},
                          log_dir=str(tmp_path / "logs"), display="none", **limits)
    assert log.status == "success", log.error
    (sample,) = log.samples
    score = sample.scores["official_record"]
    record = json.loads(open(score.metadata["record"]).read())
    return sample, score, record


def test_an_inspect_run_ends_in_the_same_record_and_a_leaderboard_row(tmp_path, monkeypatch):
    outputs = _calls(("edit_file", {"path": "ops.py", "old_string": OLD,
                                    "new_string": OLD + MARK}),
                     ("run_check", {}), ("submit", {"note": "gelu"}))
    sample, score, record = _eval(tmp_path, monkeypatch, outputs, message_limit=40,
                                  token_limit=1_000_000)
    assert score.value == pytest.approx(1.5) and score.answer == "submitted"
    assert record["entrant"]["policy"] == "inspect"
    assert record["entrant"]["model"] == "mockllm/model"
    extra = record["agent"]
    assert extra["outcome"] == "submitted" and extra["turns"] == 3
    assert extra["budgets"]["max_turns"] == 20  # --message-limit 40: two messages a turn
    assert extra["budgets"]["max_input_tokens"] == 1_000_000
    assert extra["tokens"] == {"input": 300, "output": 30, "cache_write": 0, "cache_read": 0}
    assert sum(e.event == "model" for e in sample.events) == 3  # Inspect saw every call
    (track,) = build(records.load_records(tmp_path / "results"))
    assert [row.label for row in track.rows] == ["inspect / mockllm/model"]
    transcript = tmp_path / "runs" / record["entrant"]["run_id"] / "transcript.jsonl"
    events = [json.loads(line) for line in transcript.read_text().splitlines()]
    results = [e for e in events if e["event"] == "tool_result"]
    assert results[1]["content"].startswith("PASSED")  # the real tool text, under Inspect


def test_inspects_token_limit_stops_the_session_as_a_budget(tmp_path, monkeypatch):
    outputs = _calls(*[("list_files", {})] * 5, tokens=600_000)
    _, score, record = _eval(tmp_path, monkeypatch, outputs, token_limit=1_000_000)
    assert record["agent"]["stop_reason"] == "budget:tokens"  # Inspect's count, at turn 2
    assert record["agent"]["outcome"] == "no_passing_state" and score.value == 1.0
    assert record["median_ratio"] == 1.0 and record["rounds"] == []  # the baseline, not run


def test_an_inspect_run_calibrates_its_track_first(tmp_path, monkeypatch):
    """The track (tiny/cpu here) has no thresholds in the file the task argument
    `tolerances` names: the task calibrates it there before the session starts, as
    `speedup agent` does (calibration's runs faked; tests/correctness has them), through
    the project harness's real `prepare`."""
    from correctness import calibrate, tolerances

    def measure(preset, device, seeds, on_run=None, **kw):
        rows = lambda v: {m: [v] * len(seeds) for m in tolerances.METRICS}  # noqa: E731
        return {"legal": {"same_code": rows(0.0), "torch_native": rows(1e-4)},
                "illegal": {"skip_5pct": rows(1e-2)}, "skipped": {}, "runs": {}}

    class Preparing(CLIHarness):
        def prepare(self, *args, **kwargs):
            return REAL_HARNESS(tolerances=self.tolerances).prepare(*args, **kwargs)

    monkeypatch.setattr(calibrate, "measure", measure)
    monkeypatch.setattr(calibrate, "estimate", lambda *a, **kw: {
        "reference_s": 1.0, "variant_s": 0.5, "wall_s": 4.0})
    monkeypatch.setattr(agent.launch.project_harness, "ProjectHarness", Preparing)
    file = tmp_path / "cal.json"
    task = speedup_bench(eval_rounds=1, runs_dir=str(tmp_path / "runs"),
                         results_dir=str(tmp_path / "results"), tolerances=str(file))
    (log,) = inspect_eval(task, model="mockllm/model", log_dir=str(tmp_path / "logs"),
                          display="none", message_limit=4,
                          model_args={"custom_outputs": _calls(("submit", {}))})
    assert log.status == "success", log.error
    assert sorted(tolerances.read(file)["entries"]) == ["tiny/cpu"]
