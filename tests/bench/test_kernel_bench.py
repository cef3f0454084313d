"""bench.kernel_bench and `speedup bench-kernels`: cases, work models, and rows; times are
faked where a number is asserted."""

import json

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from baseline import get_preset
from baseline import ops as naive
from bench import kernel_bench as kb
from speedup.cli import main


def test_cpu_cases_skip_triton_and_adamw_backward_with_reasons():
    cases = kb.cases("cpu", ("tiny",))
    assert {c.impl for c in cases} == {"naive", "torch", "triton"}
    reasons = {c.name: kb.skip_reason(c, "cpu") for c in cases}
    assert reasons["gelu-triton-tiny-fwd"] == kb.TRITON_ON_CPU
    assert reasons["adamw-torch-tiny-fwd+bwd"] == kb.ADAMW_HAS_NO_BACKWARD
    assert reasons["gelu-torch-tiny-fwd+bwd"] is None
    assert kb.skip_reason(kb.Case("gelu", "triton", "gpu", "fwd", True), "cuda") is None


def test_slot_filter_and_default_presets():
    assert {c.slot for c in kb.cases("cpu", slots=("gelu",))} == {"gelu"}
    assert {c.preset for c in kb.cases("cpu")} == {"tiny", "cpu"}
    assert {c.preset for c in kb.cases("cuda")} == {"gpu"}


def test_attention_flops_are_the_causal_half_of_the_full_products():
    cfg = get_preset("tiny").to_cfg("cpu")
    (q, k, v), _ = kb._inputs("attention", cfg, "cpu")
    with FlopCounterMode(display=False) as counter:
        naive.attention(q, k, v)  # computes the full T x T scores
    assert counter.get_total_flops() == 2 * kb.work("attention", cfg, "fwd")[0]


@pytest.mark.parametrize("slot, n_grads", [("layer_norm", 3), ("attention", 3), ("gelu", 1),
                                           ("cross_entropy", 1)])
def test_forward_backward_returns_a_gradient_per_float_input(slot, n_grads):
    fn = kb.make_fn(kb.Case(slot, "torch", "tiny", "fwd+bwd", False), "cpu")
    grads = fn()
    assert len(grads) == n_grads and all(torch.isfinite(g).all() for g in grads)


def test_adamw_case_updates_parameters_in_place():
    args, kwargs = kb._inputs("adamw", get_preset("tiny").to_cfg("cpu"), "cpu")
    before = args[0][0].clone()
    naive.adamw(*args, **kwargs)
    assert not torch.equal(before, args[0][0])


def test_row_rates_come_from_the_work_model(monkeypatch):
    monkeypatch.setattr(kb, "median_seconds", lambda fn, device, min_run_time: 2e-3)
    row = kb.bench_case(kb.Case("gelu", "naive", "tiny", "fwd", False), "cpu")
    flops, nbytes = kb.work("gelu", get_preset("tiny").to_cfg("cpu"), "fwd")
    assert row.median_ms == pytest.approx(2.0)
    assert row.gb_per_s == pytest.approx(nbytes / 2e-3 / 1e9)
    assert row.tflop_per_s == pytest.approx(flops / 2e-3 / 1e12)


def test_a_failing_kernel_is_a_row_with_its_error(monkeypatch):
    def broken(fn, device, min_run_time):
        raise RuntimeError("kernel launch failed")

    monkeypatch.setattr(kb, "median_seconds", broken)
    row = kb.bench_case(kb.Case("gelu", "naive", "tiny", "fwd", False), "cpu")
    assert row.error == "RuntimeError: kernel launch failed" and row.median_ms is None


def test_cli_writes_json_rows_for_timed_and_skipped_cases(tmp_path, capsys):
    path = tmp_path / "k.json"
    assert main(["bench-kernels", "--device", "cpu", "--preset", "tiny", "--slots", "gelu",
                 "--json", str(path), "--min-run-time", "0.01"]) == 0
    stdout = capsys.readouterr().out
    doc = json.loads(path.read_text())
    assert doc["timer"].startswith("torch.utils.benchmark")
    assert doc["environment"]["torch"] == torch.__version__
    by_impl = {(row["impl"], row["mode"]): row for row in doc["rows"]}
    assert len(by_impl) == 6
    assert by_impl[("torch", "fwd")]["median_ms"] > 0
    assert by_impl[("triton", "fwd")]["skipped"] == kb.TRITON_ON_CPU
    assert "skipped 2: Triton runs on a CPU" in stdout
