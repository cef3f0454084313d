"""ExplicitDevice: a torch function mode that refuses a tensor, or a generator, whose device
the calling code does not name.

Why it exists: under a default-device mode such as `with torch.device("cuda")`, a factory
without a device lands on CUDA while a bare `torch.Generator()` stays on the CPU, so
`torch.randn(..., generator=<that generator>)` raises on CUDA only and a CPU run never sees
it. Under this mode the code must say where every tensor goes, on every device, so the same
mistake fails on a CPU run too.

Refused, unless the call names `device=` (not None) or `out=`:
- the factories `with torch.device(...)` would redirect (torch.utils._device's list: randn,
  rand, randint, randperm, zeros, ones, full, empty, empty_strided, arange, linspace, eye,
  tensor, as_tensor, scalar_tensor, ...), because those are the calls whose device depends on
  a default; `tensor`, `as_tensor` and `asarray` of a Tensor keep that tensor's device, like
  the `*_like` functions and `Tensor.new_*` methods, which are never refused;
- `torch.Generator()` built without a device. A Generator is a class, which no torch function
  mode sees: while the mode is active, `torch.Generator` is a subclass that checks its
  arguments (instances are still `torch._C.Generator`s, which every factory accepts, and
  `isinstance(g, torch.Generator)` still holds for generators made before or after).

Allowed without a device:
- calls made by torch's or Triton's own code (an optimizer's CPU step counter, a module's
  parameters built from its `device=None` argument): the mode judges this repository's code;
- factory calls inside a `with torch.device(...)` block entered under the mode (e.g. a model
  built on "meta"): the block is a mode pushed above this one, which fills in device= before
  this one sees the call. Not generators, which such a block leaves on the CPU; not a
  process-wide torch.set_default_device, whose mode torch keeps at the bottom of the stack;
- whatever runs inside another torch function (torch.nn.functional internals): torch pops a
  mode while its handler runs, so nested calls never reach it. `torch.autograd.grad` and
  `Tensor.backward` are torch functions too, so the backward of a kernel's autograd.Function
  is not judged, only its forward (pushing the mode again inside the handler would only hand
  the same call back to it, endlessly).
"""

from __future__ import annotations

import sys

import torch
import torch.utils._device  # _device_constructors: not imported by `import torch`
from torch.overrides import TorchFunctionMode

_FACTORIES = frozenset(torch.utils._device._device_constructors())
_FROM_DATA = frozenset({torch.tensor, torch.as_tensor, torch.asarray})
_TRUSTED = ("torch", "triton")  # top-level packages whose own calls choose their devices
_MACHINERY = frozenset({"torch.overrides", __name__})


class MissingDeviceError(RuntimeError):
    pass


def _caller():
    """The frame that called the hook that called _refuse, skipping torch's override
    machinery (handle_torch_function, for the factories written in Python) and this module
    (an outer ExplicitDevice sees the calls an inner one passes on)."""
    frame = sys._getframe(3)  # 0 _caller, 1 _refuse, 2 the hook
    while frame is not None and frame.f_globals.get("__name__") in _MACHINERY:
        frame = frame.f_back
    return frame


def _refuse(what: str, fix: str) -> None:
    """Raises unless a device is named for the call or torch's or Triton's code made it."""
    frame = _caller()
    module = frame.f_globals.get("__name__", "") if frame is not None else ""
    if module.split(".")[0] in _TRUSTED:
        return
    where = f"{frame.f_code.co_filename}:{frame.f_lineno}" if frame is not None else "?"
    raise MissingDeviceError(f"{what} at {where} does not name its device, so it depends on "
                             f"a default that differs between CPU and CUDA runs; {fix}")


class _GeneratorMeta(type(torch._C.Generator)):
    """Keeps `isinstance(g, torch.Generator)` true for generators not made through _Generator."""

    def __instancecheck__(cls, obj) -> bool:
        return isinstance(obj, torch._C.Generator)


class _Generator(torch._C.Generator, metaclass=_GeneratorMeta):
    def __new__(cls, device=None):
        if device is None:  # even in a `with torch.device(...)` block, which generators ignore
            _refuse("torch.Generator()", "name it: torch.Generator(device=DEVICE)")
        return super().__new__(cls, "cpu" if device is None else device)


class ExplicitDevice(TorchFunctionMode):
    """Refuses tensor factories and generators that do not name their device (module doc)."""

    def __enter__(self):
        self._previous_generator = torch.Generator
        torch.Generator = _Generator
        return super().__enter__()

    def __exit__(self, *exc):
        torch.Generator = self._previous_generator
        return super().__exit__(*exc)

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if (func in _FACTORIES and kwargs.get("device") is None and "out" not in kwargs
                and not (func in _FROM_DATA and args and isinstance(args[0], torch.Tensor))):
            _refuse(f"torch.{func.__name__}(...)",
                    "pass device=DEVICE (or device='cpu' for a draw moved afterwards)")
        return func(*args, **kwargs)
