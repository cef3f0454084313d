"""The static scan: each rule fires on the construct it names, at the right line, and legal
solutions (the baseline, sibling modules, relative imports, torch/triton code) scan clean."""

from __future__ import annotations

import os

import pytest

from correctness.sandbox import BASELINE_DIR
from correctness.static_scan import declares_kernels, preimports, scan


def rules(root) -> list[tuple[str, int]]:
    return [(f.rule, f.line) for f in scan(root)]


def test_baseline_and_legal_code_scan_clean(write_solution):
    assert scan(BASELINE_DIR) == []
    root = write_solution("""
        from __future__ import annotations
        import math, functools, time
        import numpy as np
        import torch
        import torch.nn.functional as F
        import triton
        import triton.language as tl
        from baseline.train import lr_at
        from .model import Net
        import model
        from . import model as m2

        class Trainer:
            def __init__(self):
                self.step = 0
                self.model = Net()

        def train(cfg, init, tokens, batches):
            torch.backends.cuda.matmul.allow_tf32 = False
            fast = torch.compile(F.gelu)
            t = Trainer()
            t.model.weight = torch.zeros(3)
            with open("scratch.txt", "w") as f:
                f.write(str(time.perf_counter()))
            return {"state_dict": {}, "losses": [math.pi]}
        """, model="class Net:\n    weight = None\n")
    assert scan(root) == []


@pytest.mark.parametrize("line,rule", [
    ("import os", "import"),
    ("import subprocess", "import"),
    ("from socket import socket", "import"),
    ("import correctness.tolerances", "import"),
    ("from bench import clock", "import"),
    ("import kernels.native", "import"),
    ("from .. import x", "import"),
    ("x = eval('1')", "forbidden_call"),
    ("exec('x = 1')", "forbidden_call"),
    ("f = __import__", "forbidden_call"),
    ("c = compile('1', 'f', 'eval')", "forbidden_call"),
    ("import torch\nw = torch.load('w.pt')", "forbidden_call"),
    ("from torch import load", "forbidden_call"),
    ("import numpy as np\nw = np.load('w.npy', allow_pickle=True)", "forbidden_call"),
    ("import torch\nm = torch.hub.load('a', 'b')", "forbidden_call"),
    ("import torch.multiprocessing as mp", "forbidden_call"),
    ("import importlib\nm = importlib.import_module(name)", "dynamic_import"),
    ("import torch\nenv = torch.os.environ", "attribute"),
    ("import numpy as np\nm = np.sys.modules", "attribute"),
    ("def f(frame):\n    return frame.f_back", "attribute"),
    ("def f(fn):\n    return fn.__globals__", "attribute"),
    ("import torch\nx = getattr(torch, 'os')", "attribute"),
    ("g = globals()", "attribute"),
    ("def f(d):\n    return d['environ']", "attribute"),
    ("import time\ntime.perf_counter = lambda: 0.0", "timer_patch"),
    ("import time as t\nt.monotonic = None", "timer_patch"),
    ("import torch\ntorch.cuda.synchronize = lambda: None", "timer_patch"),
    ("from torch import cuda\ncuda.Event.elapsed_time = None", "timer_patch"),
    ("import torch\nsetattr(torch.cuda, 'synchronize', None)", "timer_patch"),
    ("import time\ndel time.sleep", "timer_patch"),
    ("import builtins\nbuiltins.open = None", "monkey_patch"),
    ("f = open('/etc/passwd')", "path"),
    ("f = open('../../correctness/tolerances.json', 'a')", "path"),
    ("import torch\np = torch.save(1, open(f'/proc/{1}/x', 'wb'))", "path"),
    ("def train(:\n    pass", "syntax"),
])
def test_each_rule_fires_at_its_line(line, rule, write_solution):
    root = write_solution("# header\n\n" + line + "\n")
    found = rules(root)
    last = 3 + line.count("\n")
    assert any(r == rule and 3 <= n <= last for r, n in found), found


def test_findings_name_file_rule_and_line(write_solution):
    root = write_solution("import torch\n", helper="x = 1\nimport socket\n")
    [finding] = scan(root)
    assert (finding.file, finding.line, finding.rule) == ("helper.py", 2, "import")
    assert str(finding).startswith("helper.py:2: [import] imports socket")


def test_kernel_library_only_with_allow_library(write_solution):
    root = write_solution("from kernels import native\n")
    assert [f.rule for f in scan(root)] == ["import"]
    assert scan(root, allow_library=True) == []


def test_symlinks_and_native_code_are_refused(write_solution):
    root = write_solution("import torch\n")
    (root / "fast.so").write_bytes(b"\x7fELF")
    os.symlink("/etc/passwd", root / "link.txt")
    assert sorted((f.file, f.rule) for f in scan(root)) == [("fast.so", "file"),
                                                              ("link.txt", "file")]


def test_declares_kernels_and_preimports(write_solution):
    root = write_solution("import triton.language as tl\nKERNELS = {}\n")
    assert declares_kernels(root) and preimports(root) == ["triton"]
    plain = write_solution("import torch\ndef f():\n    KERNELS = {}\n")
    assert not declares_kernels(plain) and preimports(plain) == []


@pytest.mark.parametrize("source", [
    "import torch\ndef train(p):\n    return torch.optim.AdamW(p)\n",
    "import torch\nstep = torch.compile(lambda x: x)\n",
    "from torch import optim\n",
    "import torch.optim\n",
])
def test_torch_optim_and_compile_get_dynamo_loaded_in_the_untimed_setup(write_solution, source):
    assert preimports(write_solution(source)) == ["torch._dynamo"]
