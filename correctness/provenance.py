"""Where a measurement was made: the machine's name and the software's versions, in one
place for everything that records provenance (calibrations, official records, the
roofline's datasheet lookup, kernel benchmarks, the GPU check's environment)."""

from __future__ import annotations

import contextlib
import os
import platform


def device_name(device: str) -> str:
    """The GPU's name on CUDA, the processor's model on CPU: what calibrations, records and
    the roofline's datasheet table name a machine by."""
    if device == "cuda":
        import torch

        return torch.cuda.get_device_name()
    with contextlib.suppress(OSError), open("/proc/cpuinfo") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def environment(device: str) -> dict:
    """Software versions and the hardware a measurement was made on."""
    import numpy
    import torch

    try:
        import triton
        triton_version = triton.__version__
    except ImportError:
        triton_version = None
    return {
        "device_name": device_name(device), "cpu_model": device_name("cpu"),
        "cpu_count": os.cpu_count(), "platform": platform.platform(),
        "python": platform.python_version(), "torch": torch.__version__,
        "triton": triton_version, "numpy": numpy.__version__,
        "cuda": torch.version.cuda, "cuda_available": torch.cuda.is_available(),
        # thread settings change CPU timings; the sandbox passes OMP_NUM_THREADS through
        "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
        "torch_threads": torch.get_num_threads(),
    }
