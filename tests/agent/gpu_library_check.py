"""Device check for the library policy's workspaces (not collected by pytest): on CUDA,
build the two workspaces the library policy can produce (every slot bound to the copied
torch-native module, or to the copied Triton modules), import each the way the sandbox
does, train it next to the baseline on the same inputs, and print time and distance.

    PYTHONPATH=. python tests/agent/gpu_library_check.py [preset ...]
"""

from __future__ import annotations

import importlib
import shutil
import sys
import tempfile
import time
import types
from pathlib import Path

import torch

import baseline
from agent.harness import LibraryImpl
from agent.library import _with_bindings, binding, library_files
from baseline.ops import SLOTS

BASE = Path(baseline.__file__).parent


def build(name: str) -> Path:
    root = Path(tempfile.mkdtemp()) / f"ws_{name}"
    shutil.copytree(BASE, root, ignore=shutil.ignore_patterns("__pycache__"))
    bindings = {}
    for slot in SLOTS:
        module = "kernels.native" if name == "torch" else f"kernels.{slot}"
        for path, text in library_files(module).items():
            (root / path).write_text(text)
        bindings[slot] = binding(LibraryImpl(slot, name, name == "triton", module, slot))
    (root / "ops.py").write_text(_with_bindings((root / "ops.py").read_text(), bindings))
    return root


def load(root: Path, name: str):
    package = types.ModuleType(name)
    package.__path__ = [str(root)]
    sys.modules[name] = package
    return importlib.import_module(f"{name}.solution").train


def timed(train, cfg, inputs) -> tuple[float, dict]:
    warm = {**cfg, "steps": 3}
    train(warm, **{**inputs, "batches": inputs["batches"][:3]})
    torch.cuda.synchronize()
    start = time.perf_counter()
    result = train(cfg, **inputs)
    torch.cuda.synchronize()
    return time.perf_counter() - start, result


def distance(a: dict, b: dict) -> float:
    names = sorted(a)
    x = torch.cat([a[n].double().reshape(-1) for n in names])
    y = torch.cat([b[n].double().reshape(-1) for n in names])
    return float((x - y).norm() / y.norm())


def main(presets: list[str]) -> None:
    print(torch.cuda.get_device_name(), "torch", torch.__version__)
    trains = {"baseline": baseline.train, "torch": load(build("torch"), "ws_torch"),
              "triton": load(build("triton"), "ws_triton")}
    for preset in presets:
        cfg = baseline.get_preset(preset).to_cfg("cuda")
        inputs = baseline.make_inputs(cfg, 7)
        ref_s, ref = timed(trains["baseline"], cfg, inputs)
        print(f"{preset}: baseline {ref_s:.2f} s, last loss {ref['losses'][-1]:.4f}")
        for name in ("torch", "triton"):
            seconds, got = timed(trains[name], cfg, inputs)
            traj = max(abs(p - q) for p, q in zip(got["losses"], ref["losses"]))
            print(f"{preset}: {name} {seconds:.2f} s ({ref_s / seconds:.2f}x), last loss "
                  f"{got['losses'][-1]:.4f}, max loss diff {traj:.2e}, relative weight "
                  f"distance {distance(got['state_dict'], ref['state_dict']):.2e}")


if __name__ == "__main__":
    main(sys.argv[1:] or ["tiny", "gpu"])
