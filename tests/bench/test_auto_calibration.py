"""Auto-calibration on first use, for the agent's commands: `speedup agent` and `speedup run`
calibrate the session's track and, on a CPU, tiny/cpu (where run_check, the agent's quick
check, judges) before the session starts, into the tolerances source the command line names."""

from __future__ import annotations

from correctness import calibrate, tolerances
from speedup.cli import parse_args
from speedup.commands.agent import build_config, prepare


def test_an_agent_session_calibrates_its_track_and_the_quick_check_track(monkeypatch, tmp_path,
                                                                        quick_ceilings):
    calls = []

    def measure(preset, device, seeds, on_run=None, **kw):
        calls.append(f"{preset}/{device}")
        rows = lambda v: {m: [v] * len(seeds) for m in tolerances.METRICS}  # noqa: E731
        return {"legal": {"same_code": rows(0.0), "torch_native": rows(1e-4)},
                "illegal": {"skip_5pct": rows(1e-2)}, "skipped": {}, "runs": {}}

    monkeypatch.setattr(calibrate, "measure", measure)
    monkeypatch.setattr(calibrate, "estimate", lambda *a, **kw: {
        "reference_s": 1.0, "variant_s": 0.5, "wall_s": 4.0})
    file = tmp_path / "cal.json"
    args = parse_args(
        ["agent", "--policy", "library", "--preset", "cpu", "--device", "cpu",
         "--tolerances", str(file)])
    config = build_config(args)
    assert (config.preset, config.device) == ("cpu", "cpu")
    prepare(config, args)
    prepare(config, args)  # both found now: nothing calibrated twice
    assert calls == ["cpu/cpu", "tiny/cpu"]
    assert sorted(tolerances.read(file)["entries"]) == ["cpu/cpu", "tiny/cpu"]
