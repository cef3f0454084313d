"""The static scan: each rule fires on the construct it names, at the right line, and legal
solutions (the baseline, sibling modules, relative imports, torch/triton code) scan clean."""

from __future__ import annotations

import keyword
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from correctness.sandbox import BASELINE_DIR
from correctness.scan_resolve import FORBIDDEN_HOMES
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


# ---------------------------------------------------------------------------- what names refer to

@pytest.mark.parametrize("source,rule,words", [
    # private aliases of forbidden modules, resolved in the judge's own process
    ("import random\nm = random._os", "attribute", "random._os is the module os"),
    ("import random\nr = random\nm = r._os", "attribute", "random._os is the module os"),
    ("import torch\nF = torch.nn.functional\nm = F.torch.save", "forbidden_call", "torch.save"),
    ("import collections\nm = collections._sys.modules", "attribute",
     "collections._sys is the module sys"),
    ("import enum\nb = enum.bltns", "attribute", "enum.bltns is the module builtins"),
    ("from random import _os as o\no.mkfifo('f')", "import", "random._os is the module os"),
    ("import torch\nmp = torch.cuda.tunable.mp", "attribute", "is the module multiprocessing"),
    # forbidden functions under any spelling
    ("import torch\ns = torch.UntypedStorage.from_file('f', True, 5)", "forbidden_call",
     "torch.UntypedStorage.from_file"),
    ("import torch\ns = torch.storage.UntypedStorage.from_file('f', True, 5)", "forbidden_call",
     "torch.UntypedStorage.from_file"),
    ("import torch\ns = torch.ByteStorage.from_file('f', True, 5)", "forbidden_call",
     "torch.TypedStorage.from_file"),
    ("import torch\ntorch.save({}, 'f')", "forbidden_call", "torch.save"),
    ("from torch import serialization as s\ns.save({}, 'f')", "forbidden_call", "torch.save"),
    ("import torch\ntorch.jit.save(m, 'f')", "forbidden_call", "torch.jit.save"),
    ("import torch\ntorch.export.save(p, 'f')", "forbidden_call", "torch.export.save"),
    ("import torch\ntorch.cuda.tunable.set_filename('f')", "forbidden_call", "set_filename"),
    ("import torch\nh = torch.profiler.tensorboard_trace_handler('d')", "forbidden_call",
     "tensorboard_trace_handler"),
    ("from torch.utils import collect_env", "forbidden_call", "torch.utils.collect_env"),
    ("import torch.utils.collect_env", "forbidden_call", "torch.utils.collect_env"),
    ("import torch\nw = torch._C.PyTorchFileWriter('f')", "forbidden_call", "torch._C"),
    ("import torch\nx = torch.package.PackageExporter('f')", "forbidden_call", "torch.package"),
    ("import numpy as np\nc = np.ctypeslib.load_library('x', '.')", "forbidden_call",
     "numpy.ctypeslib"),
    ("import typing\nh = typing.get_type_hints(C)", "forbidden_call", "evaluates"),
    # chains through values: the name rules stand behind resolution
    ("def f(x):\n    return x.untyped_storage().from_file('f', True, 5)", "forbidden_call",
     "from_file"),
    ("def f(m):\n    m.save('f')", "forbidden_call", "save"),
    ("def f(p):\n    p.export_chrome_trace('f')", "forbidden_call", "export_chrome_trace"),
    ("import random\ndef lib():\n    return random\nlib()._os.mkfifo('f')", "attribute", "'_os'"),
    ("import ops\nops.random._os.mknod('f')", "attribute", "'_os'"),
    ("def f(m):\n    m.mkfifo('f')", "attribute", "'mkfifo'"),
    # every way to refer to a reflection builtin but calling it by name
    ("import torch\ng = getattr\nm = g(torch, 'nn')", "attribute", "getattr used as a value"),
    ("import functools, torch\nf = functools.partial(getattr, torch)", "attribute",
     "getattr used as a value"),
    ("import torch\nm = list(map(getattr, [torch], ['nn']))", "attribute",
     "getattr used as a value"),
    ("import operator\nget = operator.attrgetter", "attribute", "attrgetter used as a value"),
    ("import torch\nm = [getattr][0](torch, 'nn')", "attribute", "getattr used as a value"),
    # run-time names still refused where the scan cannot read them
    ("import torch\ndef f(name):\n    return getattr(torch, name)", "attribute",
     "built at run time"),
    ("import torch\nSLOTS = ('nn',)\nSLOTS = ('o' + 's',)\nt = [getattr(torch, s) for s in SLOTS]",
     "attribute", "built at run time"),
    ("from . import ops\ndef f(name):\n    return getattr(ops, name)", "attribute",
     "built at run time"),
    ("from . import ops\nfor s in ('gelu',):\n    f = getattr(ops, s)\n    s = '__builtins__'",
     "attribute", "built at run time"),
    ("import torch\nt = [getattr(torch, s) for s in ('nn', '__dict__')]", "attribute",
     "'__dict__'"),
    ("import random\nt = [getattr(random, s) for s in ('_os',)]", "attribute",
     "random._os is the module os"),
    ("class C:\n    __annotations__ = {'x': int}", "attribute", "__annotations__"),
])
def test_the_scan_reads_what_a_name_refers_to(source, rule, words, write_solution):
    root = write_solution(source + "\n", ops="def gelu(x):\n    return x\n")
    found = [f for f in scan(root) if f.rule == rule]
    assert any(words in f.message for f in found), scan(root)


@pytest.mark.parametrize("source", [
    "from baseline.ops import SLOTS\nfrom . import ops\n"
    "TABLE = {s: getattr(ops, s) for s in SLOTS}",
    "from baseline.ops import SLOTS\nimport ops\nTABLE = {s: getattr(ops, s) for s in SLOTS}",
    "from baseline import ops as reference\nimport ops\nTABLE = {}\n"
    "for s in reference.SLOTS:\n    TABLE[s] = getattr(ops, s, None)",
    "import ops\nNAMES = ('gelu', 'attention')\nfns = [getattr(ops, n) for n in NAMES]",
    "import ops\nfns = {n: getattr(ops, n) for n in ['gelu', 'adamw'] if hasattr(ops, n)}",
    "import numpy as np\nnp.save('w.npy', np.zeros(3))\na = np.load('w.npy')",
    "import torch\nx = torch.zeros(3)\nctx_saved = x.untyped_storage().nbytes()",
    "import random\nr = random.Random(0)\nv = r.random()",
])
def test_honest_reflection_and_library_use_scan_clean(source, write_solution):
    root = write_solution(source + "\n", ops="def gelu(x):\n    return x\n"
                                             "def attention(q):\n    return q\n")
    assert scan(root) == []


def _forbidden_aliases() -> list[tuple[str, str, str]]:
    """(module, attribute, what it is) for every attribute of a loaded library module on
    the allowlist that is a module off it: the spellings a name rule would have to list."""
    import functools
    import sys
    import types

    import numpy  # noqa: F401
    import torch  # noqa: F401

    from correctness.scan_resolve import FORBIDDEN_MODULES
    from correctness.static_scan import ALLOWED_MODULES

    found = []
    for name, module in sorted(sys.modules.items()):
        if module is None or name.partition(".")[0] not in ALLOWED_MODULES - {"baseline"} \
                or any(name == p or name.startswith(p + ".") for p in FORBIDDEN_MODULES) \
                or not all(part.isidentifier() for part in name.split(".")) \
                or functools.reduce(lambda m, a: getattr(m, a, None), name.split(".")[1:],
                                    sys.modules[name.partition(".")[0]]) is not module:
            continue  # `import a.b as x` binds a's attribute b, which may not be the module
        for attr, value in sorted(vars(module).items()):
            if isinstance(value, types.ModuleType) and attr.isidentifier() and \
                    value.__name__.partition(".")[0] not in ALLOWED_MODULES:
                found.append((name, attr, value.__name__))
    return found


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(alias=st.sampled_from(_forbidden_aliases()),
       local=st.from_regex(r"\A[a-z][a-z0-9]{0,8}\Z").filter(
           lambda s: not keyword.iskeyword(s) and s not in ("ops", "solution")))
def test_every_library_alias_of_a_forbidden_module_is_refused(alias, local, write_solution):
    """Whatever the library calls it and whatever the solution calls the library."""
    module, attr, target = alias
    root = write_solution(f"import {module} as {local}\nm = {local}.{attr}\n")
    assert any(f.rule == "attribute" and f"is the module {target}" in f.message
               for f in scan(root)), (alias, scan(root))


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(alias=st.sampled_from([a for a in _forbidden_aliases()
                              if a[2].partition(".")[0] in FORBIDDEN_HOMES | {"builtins"}]))
def test_every_such_alias_is_refused_on_a_value_too(alias, write_solution):
    """Where the scan cannot follow the chain (a module returned by a function, or reached
    through a sibling module), the alias's name is the backstop."""
    module, attr, target = alias
    root = write_solution(f"def f(m):\n    return m.{attr}\n")
    assert any(f.rule == "attribute" and repr(attr) in f.message for f in scan(root)), alias
