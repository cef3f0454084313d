"""bench.headroom and bench.shape_ceiling: the shape-aware ceiling priced from a fake table
of per-shape rates, the track's reachable ceiling taken from it (never from the big-GEMM
rate), the ladder, and a device with no shape measurement saying how to get one."""

import json

import pytest
from shapefakes import COPY_RATE, DEVICE, by_hand, fake_entry

from bench import headroom, roofline, shape_ceiling, step_cost


def record(cfg: dict, baseline_s: float, preset: str = "tiny", shapes: dict | None = None,
           path: str = "r.json") -> dict:
    steps = cfg["steps"]
    line = {"flops_per_step": step_cost.flops_per_step(cfg),
            "min_bytes_per_step": step_cost.min_bytes_per_step(cfg),
            "achieved_flops_per_s": step_cost.flops_per_step(cfg) * steps / baseline_s,
            "shape_ceiling": shapes}
    return {"preset": preset, "device": "cpu", "baseline_median_s": baseline_s,
            "environment": {"device_name": DEVICE}, "roofline": {"baseline": line},
            "_path": path}


@pytest.fixture
def measurements(tmp_path, monkeypatch):
    """A committed-measurements folder with a big-GEMM rate 100x the fake shape rates
    and one shape file, the name SHAPE_FILES lists."""
    directory = tmp_path / "measurements"
    directory.mkdir()
    big = [{"device": DEVICE, "flops_per_s": 4e12, "bytes_per_s": 1e12}]
    (directory / headroom.CEILING_FILES[0]).write_text(json.dumps({"runs": big}))
    monkeypatch.setattr(headroom, "SHAPE_FILES", ("shape-ceiling.json",))
    return directory


def write_shapes(directory, entries) -> None:
    (directory / "shape-ceiling.json").write_text(json.dumps({"runs": entries}))


def test_the_step_is_priced_shape_by_shape_from_the_table(tiny_cfg):
    entry = fake_entry(tiny_cfg)
    matmul_s, bytes_s = shape_ceiling.step_parts(entry)
    assert bytes_s == pytest.approx(step_cost.min_bytes_per_step(tiny_cfg) / COPY_RATE)
    assert matmul_s + bytes_s == pytest.approx(by_hand(tiny_cfg))
    slower = fake_entry(tiny_cfg, scale=0.5)  # every rate halved: the step takes twice as long
    assert shape_ceiling.step_seconds(slower) == pytest.approx(2 * by_hand(tiny_cfg))


def test_the_reachable_ceiling_comes_from_the_shape_rates_not_the_big_gemm_rate(
        tiny_cfg, measurements):
    write_shapes(measurements, [fake_entry(tiny_cfg)])
    refs = [("baseline", 1.0), ("cpu_expert", 2.2), ("torch_native", 2.0)]
    h = headroom.track_headroom([record(tiny_cfg, 2.0)], refs, measurements)
    steps = tiny_cfg["steps"]
    assert h.shape_step_s == pytest.approx(by_hand(tiny_cfg))
    assert h.shape_ceiling == pytest.approx(2.0 / (steps * by_hand(tiny_cfg)))
    # the big-GEMM rate gives a far higher number, and it stays apart as its own figure
    assert h.big_gemm == pytest.approx(
        2.0 / (steps * step_cost.flops_per_step(tiny_cfg) / 4e12))
    assert h.big_gemm > 10 * h.shape_ceiling
    assert h.best_reference_share == pytest.approx(2.2 / h.shape_ceiling)
    assert [(r.name, r.speedup) for r in h.ladder] == [
        ("baseline", 1.0), ("torch_native", 2.0), ("cpu_expert", 2.2)]  # climbing
    assert [r.share_of_ceiling for r in h.ladder] == pytest.approx(
        [s / h.shape_ceiling for s in (1.0, 2.0, 2.2)])


def test_the_fastest_measurement_gives_the_ceiling(tiny_cfg, measurements):
    write_shapes(measurements, [fake_entry(tiny_cfg, scale=s, date=f"2026-01-0{i}")
                                for i, s in enumerate((1.0, 0.5, 0.25), 1)])
    h = headroom.track_headroom([record(tiny_cfg, 3.0)], [], measurements)
    steps, best = tiny_cfg["steps"], by_hand(tiny_cfg)
    assert [m.step_s for m in h.shape_measurements] == pytest.approx([best, 2 * best, 4 * best])
    assert h.shape_ceiling == pytest.approx(3.0 / (steps * best))


def test_a_record_carries_its_shape_measurement_and_duplicates_count_once(
        tiny_cfg, measurements):
    entry = fake_entry(tiny_cfg)
    records = [record(tiny_cfg, 2.0, shapes=entry, path=f"{i}.json") for i in range(3)]
    h = headroom.track_headroom(records, [], measurements)
    assert len(h.shape_measurements) == 1 and h.shape_measurements[0].source == "0.json"
    assert h.shape_ceiling == pytest.approx(2.0 / (tiny_cfg["steps"] * by_hand(tiny_cfg)))


def test_measurements_of_other_shapes_presets_or_devices_are_not_used(tiny_cfg, measurements):
    wider = {**tiny_cfg, "d_model": 2 * tiny_cfg["d_model"]}  # the preset as it once was
    write_shapes(measurements, [fake_entry(wider), fake_entry(tiny_cfg, preset="cpu"),
                                fake_entry(tiny_cfg, device="another CPU")])
    h = headroom.track_headroom([record(tiny_cfg, 2.0)], [("cpu_expert", 2.2)], measurements)
    assert h.shape_ceiling is None and h.big_gemm is not None
    assert h.shape_note == (f"no measurement at this track's shapes on {DEVICE}: `speedup "
                            "bench --measure-ceiling --preset tiny --device cpu` on that "
                            "machine measures one")
    assert [r.share_of_ceiling for r in h.ladder] == [None]  # never a guessed fraction


def test_any_preset_is_priced_from_its_own_cfg(tiny_cfg, measurements):
    """A track of a preset the code has never heard of (an odd shape) gets its ceiling."""
    odd = {**tiny_cfg, "d_model": 24, "n_head": 3, "seq_len": 17, "vocab_size": 50,
           "batch_size": 5, "n_layer": 3, "steps": 7}
    write_shapes(measurements, [fake_entry(odd, preset="range")])
    h = headroom.track_headroom([record(odd, 1.0, preset="range")], [], measurements)
    assert h.steps == 7 and h.shape_ceiling == pytest.approx(1.0 / (7 * by_hand(odd)))


def test_this_machines_cached_measurement_is_read(tiny_cfg, tmp_path, monkeypatch):
    """XDG_CACHE_HOME is a fresh directory (tests/bench/conftest.py)."""
    path = shape_ceiling.shapes_path("cpu")
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"presets": {"tiny": fake_entry(tiny_cfg)}}))
    monkeypatch.setattr(headroom, "SHAPE_FILES", ())
    h = headroom.track_headroom([record(tiny_cfg, 2.0)], [], tmp_path)
    assert h.shape_measurements[0].source == "this machine's cache"
    assert h.shape_step_s == pytest.approx(by_hand(tiny_cfg))


# ---------------------------------------------------------------------------- measurement

@pytest.fixture
def small(tiny_cfg) -> dict:
    return {**tiny_cfg, "vocab_size": 16, "d_model": 8, "n_layer": 1, "n_head": 2,
            "seq_len": 4, "batch_size": 2, "steps": 3}


def test_every_product_and_the_copy_are_measured_on_the_device(small):
    entry = shape_ceiling.measure_shapes(small, "small", "cpu", seconds=0.002)
    names = [m.name for m in step_cost.step_matmuls(small)]
    assert [m["name"] for m in entry["matmuls"]] == names
    assert all(m["flops_per_s"] > 0 for m in entry["matmuls"]) and entry["bytes_per_s"] > 0
    # each shape timed with one thread and torch's threads; the faster counts
    assert all(m["flops_per_s"] == max(m["flops_per_s_by_threads"].values())
               and "1" in m["flops_per_s_by_threads"] for m in entry["matmuls"])
    assert entry["flops_per_step"] == step_cost.flops_per_step(small)
    assert entry["step_bytes"] == step_cost.min_bytes_per_step(small)
    assert entry["seconds_per_step"] == shape_ceiling.step_seconds(entry)
    assert (entry["dtype"], entry["preset"], entry["device_kind"]) == ("float32", "small", "cpu")
    same = {}  # products of one shape share one measurement
    for m in entry["matmuls"]:
        same.setdefault((m["batch"], m["m"], m["n"], m["k"]), set()).add(m["flops_per_s"])
    assert all(len(rates) == 1 for rates in same.values())


def test_shapes_are_measured_once_per_preset_and_cached(monkeypatch, small):
    import torch

    calls = []

    def fake_measure(cfg, preset, device):
        calls.append(preset)
        entry = fake_entry(cfg, preset=preset)
        from correctness.provenance import device_name

        return {**entry, "device": device_name(device), "torch": torch.__version__}

    monkeypatch.setattr(shape_ceiling, "measure_shapes", fake_measure)
    assert shape_ceiling.cached_shapes(small, "small", "cpu") is None
    first = shape_ceiling.ensure_shapes(small, "small", "cpu")
    assert shape_ceiling.ensure_shapes(small, "small", "cpu") == first and calls == ["small"]
    other = {**small, "d_model": 12}
    shape_ceiling.ensure_shapes(other, "other", "cpu")  # a second preset joins the first
    assert shape_ceiling.cached_shapes(small, "small", "cpu") == first
    # the preset's shapes changed: its old rates are not used
    assert shape_ceiling.cached_shapes({**small, "seq_len": 8}, "small", "cpu") is None
    shape_ceiling.ensure_shapes(small, "small", "cpu", refresh=True)
    assert calls == ["small", "other", "small"]
    assert shape_ceiling.shapes_path("cpu").parent == roofline.ceiling_path("cpu").parent


def test_a_cached_shape_measurement_of_other_software_is_not_used(tiny_cfg):
    import torch

    from correctness.provenance import device_name

    path = shape_ceiling.shapes_path("cpu")
    path.parent.mkdir(parents=True, exist_ok=True)
    entry = {**fake_entry(tiny_cfg), "device": device_name("cpu"), "torch": "0.0.1"}
    path.write_text(json.dumps({"presets": {"tiny": entry}}))
    assert shape_ceiling.cached_shapes(tiny_cfg, "tiny", "cpu") is None  # another BLAS
    path.write_text(json.dumps({"presets": {"tiny": {**entry, "torch": torch.__version__}}}))
    assert shape_ceiling.cached_shapes(tiny_cfg, "tiny", "cpu")["torch"] == torch.__version__


def test_records_take_the_cached_shape_measurement(tiny_cfg):
    import torch

    from bench.clock import Evaluation
    from correctness.provenance import device_name

    path = shape_ceiling.shapes_path("cpu")
    path.parent.mkdir(parents=True, exist_ok=True)
    entry = {**fake_entry(tiny_cfg), "device": device_name("cpu"), "torch": torch.__version__}
    path.write_text(json.dumps({"presets": {"tiny": entry}}))
    ev = Evaluation("sol", "tiny", "cpu", 1, False)
    ev.rounds = [{"baseline_s": 2.0, "candidate_s": 1.0}]
    r = roofline.for_evaluation(ev)
    bound_s = tiny_cfg["steps"] * by_hand(tiny_cfg)
    assert r["candidate"]["shape_bound_s"] == pytest.approx(bound_s)
    assert r["candidate"]["fraction_of_shape_ceiling"] == pytest.approx(bound_s / 1.0)
    assert r["baseline"]["shape_ceiling"] == entry


def test_bench_measure_ceiling_measures_the_presets_shapes_and_caches_them(
        monkeypatch, capsys, tiny_cfg):
    """`speedup bench --measure-ceiling` measures both ceilings (fakes here) and caches
    them; without the flag the cached shape measurement answers."""
    import torch

    from bench import roofline as roofline_module
    from correctness.provenance import device_name
    from speedup.cli import main

    calls = []

    def fake_shapes(cfg, preset, device):
        calls.append(preset)
        return {**fake_entry(cfg, preset=preset), "device": device_name(device),
                "torch": torch.__version__}

    monkeypatch.setattr(shape_ceiling, "measure_shapes", fake_shapes)
    monkeypatch.setattr(roofline_module, "measure_ceiling", lambda device: {
        "kind": "measured", "device": device_name(device), "torch": torch.__version__,
        "flops_per_s": 1e11, "bytes_per_s": 1e10, "matmul_dtype": "float32", "matmul_n": 8})
    args = ["bench", "--measure-ceiling", "--preset", "tiny", "--device", "cpu"]
    assert main(args) == 0 and calls == ["tiny"]
    out = capsys.readouterr().out
    assert (f"shape-aware ceiling of tiny on {device_name('cpu')} (measured): "
            f"{by_hand(tiny_cfg) * 1e3:.3g} ms a step") in out and "not a proof" in out
    assert shape_ceiling.cached_shapes(tiny_cfg, "tiny", "cpu")["preset"] == "tiny"
    assert main(args) == 0 and calls == ["tiny", "tiny"]  # the flag measures again
