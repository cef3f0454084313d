"""`speedup train` as a user runs it: files written, and bad input refused in one line."""

import json
import subprocess
import sys

import pytest
import torch
from safetensors.torch import load_file

import baseline

pytestmark = pytest.mark.slow  # a long integration test (pyproject.toml)


def _speedup(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "speedup", *args], capture_output=True,
                          text=True, cwd=cwd, timeout=300)


def test_train_tiny_writes_weights_and_losses(tmp_path):
    r = _speedup("train", "--preset", "tiny", "--device", "cpu", "--seed", "3",
                 "--out", str(tmp_path / "run"))
    assert r.returncode == 0, r.stderr
    summary = json.loads((tmp_path / "run" / "losses.json").read_text())
    weights = load_file(tmp_path / "run" / "weights.safetensors")
    cfg = baseline.get_preset("tiny").to_cfg("cpu")
    assert {k: tuple(v.shape) for k, v in weights.items()} == baseline.param_shapes(cfg)
    assert len(summary["losses"]) == cfg["steps"]
    assert summary["entropy_floor"] < summary["heldout_loss"] < summary["unigram_entropy"]
    assert "held-out" in r.stdout and "tokens/s" in r.stdout


@pytest.mark.parametrize("args, needle", [
    (["--preset", "huge"], "invalid choice: 'huge'"),
    (["--seed", "-1"], "non-negative"),
    (["--seed", "x"], "non-negative"),
    (["--out", "/proc/forbidden/run"], "cannot write to /proc/forbidden/run"),
    (["--device", "tpu"], "invalid choice: 'tpu'"),
])
def test_bad_input_is_one_line_and_exit_2(args, needle):
    r = _speedup("train", *args)
    assert r.returncode == 2
    assert needle in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_cuda_without_a_gpu_is_refused():
    r = _speedup("train", "--device", "cuda")
    assert r.returncode == 2 and "no CUDA GPU" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_train_runs_the_tracks_own_reference_program(tmp_path, monkeypatch, capsys):
    """`range`'s reference is the NumPy draft: `speedup train` trains that program (cut to
    two steps here), and its losses are the draft's, not the torch baseline's."""
    import dataclasses

    from baseline.config import PRESETS
    from correctness.sandbox import reference_dir
    from correctness.trusted import import_solution
    from speedup.cli import main

    monkeypatch.setitem(PRESETS, "range", dataclasses.replace(PRESETS["range"], steps=2))
    assert main(["train", "--preset", "range", "--device", "cpu", "--seed", "5",
                 "--out", str(tmp_path / "run")]) == 0
    cfg = PRESETS["range"].to_cfg("cpu")
    draft = import_solution(reference_dir("range"), "draft_under_test").train(
        cfg, **baseline.make_inputs(cfg, 5))
    summary = json.loads((tmp_path / "run" / "losses.json").read_text())
    assert summary["losses"] == draft["losses"]
    assert summary["reference"] == "baseline/draft"
    assert "baseline/draft" in capsys.readouterr().out
