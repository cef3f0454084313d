"""The registry lists every slot's implementations and loads them lazily: listing needs no
Triton, and the package imports on a machine without it."""

import subprocess
import sys

import pytest

from baseline.ops import SLOTS
from kernels import registry


def test_every_slot_has_naive_torch_and_triton():
    impls = registry.implementations()
    assert {(i.slot, i.name) for i in impls} == {(s, n) for s in SLOTS for n in registry.NAMES}
    assert all(i.needs_triton == (i.name == "triton") for i in impls)
    assert [i.name for i in registry.implementations("gelu")] == ["naive", "torch", "triton"]


def test_get_returns_the_slot_function():
    from baseline import ops
    from kernels import native

    assert registry.get("attention", "naive") is ops.attention
    assert registry.get("attention", "torch") is native.attention
    assert registry.get("attention", "triton").__module__ == "kernels.attention"


@pytest.mark.parametrize("slot,name", [("softmax", "naive"), ("gelu", "cuda")])
def test_unknown_names_are_refused(slot, name):
    with pytest.raises(ValueError, match="unknown"):
        registry.get(slot, name)


def test_imports_without_triton():
    code = ("import sys; sys.modules['triton'] = None\n"
            "import kernels, kernels.registry, kernels.native\n"
            "print(len(kernels.registry.implementations()), kernels.registry.get('gelu', 'torch'))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.startswith("15 ")
