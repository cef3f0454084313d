"""ExplicitDevice (tests/devicemode.py) refuses every tensor factory and generator that does
not name its device, and nothing that torch, Triton or a named device block decides."""

import pytest
import torch
from devicemode import ExplicitDevice, MissingDeviceError
from kernelhelpers import DEVICE

from baseline import ops
from kernels import registry

FACTORIES = {
    "randn": lambda **d: torch.randn(2, 3, **d),
    "rand": lambda **d: torch.rand(4, **d),
    "randint": lambda **d: torch.randint(0, 5, (3,), **d),
    "randperm": lambda **d: torch.randperm(4, **d),
    "zeros": lambda **d: torch.zeros(2, **d),
    "ones": lambda **d: torch.ones(2, **d),
    "full": lambda **d: torch.full((2,), 1.5, **d),
    "empty": lambda **d: torch.empty(2, **d),
    "empty_strided": lambda **d: torch.empty_strided((2, 2), (1, 2), **d),
    "arange": lambda **d: torch.arange(3, **d),
    "linspace": lambda **d: torch.linspace(0, 1, 5, **d),
    "eye": lambda **d: torch.eye(2, **d),
    "tensor": lambda **d: torch.tensor([1.0, 2.0], **d),
    "as_tensor": lambda **d: torch.as_tensor([1, 2], **d),
    "asarray": lambda **d: torch.asarray([1, 2], **d),
    "scalar_tensor": lambda **d: torch.scalar_tensor(1.0, **d),
}


def on_device(t: torch.Tensor) -> bool:
    return t.device.type == torch.device(DEVICE).type


@pytest.mark.parametrize("name", FACTORIES)
def test_a_factory_without_a_device_is_refused_with_its_call_site(name):
    with ExplicitDevice(), pytest.raises(MissingDeviceError) as refused:
        FACTORIES[name]()
    assert f"torch.{name}(...)" in str(refused.value)
    assert "test_devicemode.py:" in str(refused.value)  # where the call was made


@pytest.mark.parametrize("name", FACTORIES)
def test_a_factory_that_names_its_device_makes_its_tensor_there(name):
    with ExplicitDevice():
        assert on_device(FACTORIES[name](device=DEVICE))


def test_the_kernel_tests_run_under_the_mode():
    # No `with` here: the autouse fixture in tests/kernels/conftest.py is what refuses.
    with pytest.raises(MissingDeviceError):
        torch.zeros(3)


# ---------------------------------------------------------------------------- the CUDA bug

def test_a_generator_without_a_device_is_refused():
    with ExplicitDevice(), pytest.raises(MissingDeviceError, match=r"torch\.Generator\(\)"):
        torch.Generator()


def test_the_cpu_generator_draw_that_broke_on_cuda_fails_on_any_device():
    """The kernel tests' first failure on CUDA: a CPU generator handed to randn with no
    device. It worked on a CPU run; under the mode it fails there too."""
    cpu_gen = torch._C.Generator().manual_seed(0)  # made the way the mode cannot see
    with ExplicitDevice(), pytest.raises(MissingDeviceError, match=r"torch\.randn\(\.\.\.\)"):
        torch.randn(3, generator=cpu_gen)


def test_named_generators_draw_the_same_as_plain_ones_and_stay_generators():
    with ExplicitDevice():
        gen = torch.Generator(device="cpu").manual_seed(5)
        assert isinstance(gen, torch.Generator) and isinstance(torch.default_generator,
                                                               torch.Generator)
        drawn = torch.randn(4, generator=gen, device="cpu")
    plain = torch._C.Generator(device="cpu").manual_seed(5)
    assert torch.equal(drawn, torch.randn(4, generator=plain, device="cpu"))


def test_leaving_the_mode_restores_torch_generator_even_after_a_refusal():
    before = torch.Generator
    with pytest.raises(MissingDeviceError), ExplicitDevice():
        torch.ones(1)
    assert torch.Generator is before


# ---------------------------------------------------------------------------- allowed

def test_tensors_made_from_a_tensor_keep_its_device():
    x = torch.ones(3, device=DEVICE)
    with ExplicitDevice():
        made = [torch.zeros_like(x), x.new_empty(2), torch.as_tensor(x), torch.asarray(x),
                torch.randn_like(x), torch.empty(3, out=torch.empty(0, device=DEVICE))]
    assert all(on_device(t) for t in made)


def test_a_default_device_does_not_hide_a_missing_device():
    torch.set_default_device(DEVICE)
    try:
        with ExplicitDevice(), pytest.raises(MissingDeviceError):
            torch.zeros(2)
    finally:
        torch.set_default_device(None)


def test_a_device_block_names_the_device_of_factories_but_not_of_generators():
    # baseline.model builds its modules inside `with torch.device("meta")`
    with ExplicitDevice(), torch.device("meta"):
        assert torch.empty(3).is_meta
    # a device block leaves a generator on the CPU: the old conftest's CUDA failure
    with ExplicitDevice(), torch.device(DEVICE), pytest.raises(MissingDeviceError):
        torch.Generator()


def test_torch_internals_choose_their_own_devices():
    p = torch.nn.Parameter(torch.ones(3, device=DEVICE))
    with ExplicitDevice():
        optimizer = torch.optim.AdamW([p], capturable=False)
        p.grad = torch.ones(3, device=DEVICE)
        optimizer.step()  # its step counter: torch.tensor(0.0) from torch.optim, no device
        layer = torch.nn.Linear(3, 2)  # parameters from torch.empty(..., device=None)
        y = torch.nn.functional.layer_norm(p.detach(), (3,))
    assert optimizer.state[p]["step"].device.type == "cpu"
    assert layer.weight.device.type == "cpu" and on_device(y)


def test_a_triton_kernel_and_its_backward_run_under_the_mode():
    """On CPU Triton's interpreter copies the arguments to host tensors itself; autograd
    runs the kernel's backward."""
    x = torch.linspace(-3, 3, 37, device=DEVICE, requires_grad=True)
    with ExplicitDevice():
        y = registry.get("gelu", "triton")(x)
        (dx,) = torch.autograd.grad(y.sum(), x)
    x64 = x.detach().double().requires_grad_()
    (want,) = torch.autograd.grad(ops.gelu(x64).sum(), x64)
    # float32 against float64: measured 1.6e-7 and 4.8e-7 (interpreter); the erf form's
    # values and derivatives are 4.7e-4 and 8.7e-4 away
    assert (y.detach().double() - ops.gelu(x64).detach()).abs().max() < 1e-6
    assert (dx.double() - want).abs().max() < 1e-5
