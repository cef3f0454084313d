"""bench.step_cost and bench.roofline: FLOPs checked against torch's own count, bytes by
their derivation, peaks only for devices named exactly in the datasheet table."""

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

import baseline
from bench import roofline, step_cost


def test_flops_per_step_match_torch_flop_counter_on_a_training_step(tiny_cfg, tiny_inputs):
    model = baseline.GPT.from_weights(tiny_cfg, tiny_inputs["init"])
    B, T = tiny_cfg["batch_size"], tiny_cfg["seq_len"]
    x = torch.randint(0, tiny_cfg["vocab_size"], (B, T))
    with FlopCounterMode(display=False) as counter:
        model.loss(x, x).backward()
    assert step_cost.flops_per_step(tiny_cfg) == counter.get_total_flops()


def test_param_count_is_the_canonical_weights(tiny_cfg, tiny_inputs):
    assert step_cost.param_count(tiny_cfg) == sum(v.numel() for v in tiny_inputs["init"].values())


def test_min_bytes_follow_the_docstring(tiny_cfg):
    P = step_cost.param_count(tiny_cfg)
    B, T, d, L = 8, 32, 32, 2  # the tiny preset
    assert step_cost.min_bytes_per_step(tiny_cfg) == 40 * P + 16 * B * T * d * L + 8 * B * (T + 1)
    doubled = {**tiny_cfg, "batch_size": 2 * B}  # weights' share does not grow with batch
    assert (step_cost.min_bytes_per_step(doubled) - step_cost.min_bytes_per_step(tiny_cfg)
            == 16 * B * T * d * L + 8 * B * (T + 1))


@pytest.mark.parametrize("name, bf16", [("NVIDIA H100 80GB HBM3", 989.5e12),
                                        ("NVIDIA H100 PCIe", 756.5e12),
                                        ("NVIDIA H200", 989.5e12)])
def test_datasheet_peaks_by_exact_name(name, bf16):
    peak = roofline.datasheet_peak(name)
    assert peak.bf16_flops == bf16 and "datasheet" in peak.source
    assert peak.to_dict()["kind"] == "datasheet"


@pytest.mark.parametrize("name", ["NVIDIA H100 NVL", "AMD EPYC", "NVIDIA H200 NVL", ""])
def test_no_peak_is_guessed_for_other_devices(name):
    assert roofline.datasheet_peak(name) is None


def test_achieved_against_a_given_ceiling(tiny_cfg):
    ceiling = {"kind": "measured", "flops_per_s": 1e10, "bytes_per_s": 1e9}
    r = roofline.achieved(tiny_cfg, 2.0, "cpu", ceiling)
    flops = step_cost.flops_per_step(tiny_cfg) * tiny_cfg["steps"]
    assert r["achieved_flops_per_s"] == pytest.approx(flops / 2.0)
    assert r["fraction_of_ceiling"] == pytest.approx(flops / 2.0 / 1e10)
    assert r["tokens_per_s"] == pytest.approx(8 * 32 * 150 / 2.0)
    bound = 150 * max(step_cost.flops_per_step(tiny_cfg) / 1e10,
                      step_cost.min_bytes_per_step(tiny_cfg) / 1e9)
    assert r["roofline_bound_s"] == pytest.approx(bound)


def test_cpu_without_a_measured_ceiling_has_no_fraction(tiny_cfg):
    r = roofline.achieved(tiny_cfg, 2.0, "cpu")
    assert r["ceiling"] is None and r["fraction_of_ceiling"] is None


def test_measured_ceiling_on_cpu_is_float32_and_counts_both_copy_directions():
    c = roofline.measure_ceiling("cpu", matmul_n=64, copy_bytes=1 << 16, repeats=2)
    assert c["kind"] == "measured" and c["matmul_dtype"] == "float32"
    assert c["copy_bytes"] == 2 * (1 << 16)
    assert c["flops_per_s"] > 0 and c["bytes_per_s"] > 0


def test_the_cpu_ceiling_is_measured_on_every_core_whatever_this_process_uses():
    """The timed runs get every core; a process limited to one thread (a test, a worker)
    must not cache a one-thread rate for them."""
    import os

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        c = roofline.measure_ceiling("cpu", matmul_n=64, copy_bytes=1 << 16, repeats=2)
        assert c["threads"] == len(os.sched_getaffinity(0))
        assert torch.get_num_threads() == 1  # restored
    finally:
        torch.set_num_threads(before)


@pytest.mark.skipif(len(__import__("os").sched_getaffinity(0)) < 2,
                    reason="one core: every measurement is on all of them")
def test_a_cached_cpu_ceiling_measured_on_fewer_threads_than_cores_is_measured_again():
    import json
    import os

    from correctness.provenance import device_name

    path = roofline.ceiling_path("cpu")
    path.parent.mkdir(parents=True, exist_ok=True)
    entry = {"kind": "measured", "device": device_name("cpu"), "torch": torch.__version__,
             "flops_per_s": 1e11, "bytes_per_s": 1e10, "threads": 1}
    path.write_text(json.dumps(entry))
    assert roofline.cached_ceiling("cpu") is None
    path.write_text(json.dumps({**entry, "threads": len(os.sched_getaffinity(0))}))
    assert roofline.cached_ceiling("cpu")["flops_per_s"] == 1e11


def test_rates_read_in_the_device_unit():
    assert roofline.format_rate(2.5e12, "cuda") == "2.5 TFLOP/s"
    assert roofline.format_rate(3.25e7, "cpu") == "0.0325 GFLOP/s"


def test_the_ceiling_is_measured_once_per_machine_and_cached(monkeypatch):
    """XDG_CACHE_HOME is a fresh directory (tests/bench/conftest.py)."""
    from correctness.provenance import device_name

    calls = []

    def fake_measure(device):
        calls.append(device)
        return {"kind": "measured", "device": device_name(device), "torch": torch.__version__,
                "flops_per_s": 1e11, "bytes_per_s": 1e10}

    monkeypatch.setattr(roofline, "measure_ceiling", fake_measure)
    assert roofline.cached_ceiling("cpu") is None
    first = roofline.ensure_ceiling("cpu")
    assert roofline.ensure_ceiling("cpu") == first and calls == ["cpu"]  # the cache answers
    assert roofline.ceiling_path("cpu").name.startswith("ceiling-")
    roofline.ensure_ceiling("cpu", refresh=True)
    assert calls == ["cpu", "cpu"]


def test_a_cached_ceiling_of_other_software_is_not_used(monkeypatch):
    import json

    from correctness.provenance import device_name

    path = roofline.ceiling_path("cpu")
    path.parent.mkdir(parents=True, exist_ok=True)
    stale = {"kind": "measured", "device": device_name("cpu"), "torch": "0.0.1",
             "flops_per_s": 1e11, "bytes_per_s": 1e10}
    path.write_text(json.dumps(stale))
    assert roofline.cached_ceiling("cpu") is None  # another torch: another BLAS
    path.write_text(json.dumps({**stale, "torch": torch.__version__}))
    assert roofline.cached_ceiling("cpu")["flops_per_s"] == 1e11


def test_records_of_a_cpu_take_the_cached_ceiling(monkeypatch, tiny_cfg):
    from bench.clock import Evaluation
    from correctness.provenance import device_name

    monkeypatch.setattr(roofline, "measure_ceiling", lambda device: {
        "kind": "measured", "device": device_name(device), "torch": torch.__version__,
        "flops_per_s": 1e11, "bytes_per_s": 1e10})
    roofline.ensure_ceiling("cpu")
    ev = Evaluation("sol", "tiny", "cpu", 1, False)
    ev.rounds = [{"baseline_s": 2.0, "candidate_s": 1.0}]
    r = roofline.for_evaluation(ev)
    assert r["candidate"]["ceiling"]["flops_per_s"] == 1e11
    assert r["candidate"]["fraction_of_ceiling"] is not None


ODD = {"vocab_size": 50, "d_model": 24, "n_layer": 3, "n_head": 3, "seq_len": 17,
       "batch_size": 5}  # a preset no table knows: the list is computed from any cfg


@pytest.mark.parametrize("preset", ["tiny", "cpu", "gpu", "odd"])
def test_the_step_matmuls_add_up_to_flops_per_step(preset):
    cfg = ODD if preset == "odd" else baseline.get_preset(preset).to_cfg("cpu")
    matmuls = step_cost.step_matmuls(cfg)
    assert sum(m.flops for m in matmuls) == step_cost.flops_per_step(cfg)
    # forward + two backward products of each of 5 linear layers, 2 + 4 attention products
    assert len(matmuls) == 5 * 3 + 6
    heads = cfg["batch_size"] * cfg["n_head"]
    assert {m.batch for m in matmuls if m.name.startswith("attention")} == {heads}


def test_a_linear_layers_three_products_have_its_shapes(tiny_cfg):
    N, d = tiny_cfg["batch_size"] * tiny_cfg["seq_len"], tiny_cfg["d_model"]
    fc = {m.name: (m.m, m.n, m.k, m.count) for m in step_cost.step_matmuls(tiny_cfg)
          if m.name.startswith("mlp.c_fc")}
    L = tiny_cfg["n_layer"]
    assert fc == {"mlp.c_fc forward": (N, 4 * d, d, L),  # x (N, d) @ W^T (d, 4d)
                  "mlp.c_fc grad input": (N, d, 4 * d, L),  # dy (N, 4d) @ W (4d, d)
                  "mlp.c_fc grad weight": (4 * d, d, N, L)}  # dy^T (4d, N) @ x (N, d)


def test_a_run_is_set_against_the_shape_aware_ceiling(tiny_cfg):
    from bench import shape_ceiling

    entry = {"matmuls": [{"m": 10, "n": 10, "k": 10, "batch": 2, "count": 3,
                          "flops_per_s": 1.2e6}], "step_bytes": 1e3, "bytes_per_s": 1e6}
    step_s = 2 * 10**3 * 2 * 3 / 1.2e6 + 1e3 / 1e6  # 0.01 s of matmul + 0.001 s of bytes
    assert shape_ceiling.step_seconds(entry) == pytest.approx(step_s)
    r = roofline.achieved(tiny_cfg, 2.0, "cpu", shapes=entry)
    assert r["shape_bound_s"] == pytest.approx(150 * step_s)
    assert r["fraction_of_shape_ceiling"] == pytest.approx(150 * step_s / 2.0)
    assert r["shape_ceiling"] is entry
    bare = roofline.achieved(tiny_cfg, 2.0, "cpu")
    assert bare["shape_ceiling"] is None and bare["fraction_of_shape_ceiling"] is None
