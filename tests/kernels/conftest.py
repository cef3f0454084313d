"""The kernel tests build their tensors without naming a device: on a GPU machine they are
made on CUDA (see kernelhelpers.DEVICE), on a CPU nothing changes."""

import pytest
import torch
from kernelhelpers import DEVICE


@pytest.fixture(autouse=True)
def tensors_on_the_kernels_device():
    if DEVICE == "cpu":  # the default already; no device mode on every torch call
        yield
        return
    with torch.device(DEVICE):
        yield
