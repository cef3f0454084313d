"""The suite's float32 noise on a loss curve: how far two runs of the same training may
drift apart per step when only float32 rounding differs.

Measured on tiny (seed 1234, CPU): perturbing the initial weights by 1e-7 relative (one
float32 rounding) moves the per-step losses by up to 9.5e-7; swapping a slot for its
torch-native twin moved them by 4.8e-7 to 9.5e-7; the whole-program rewrites in solutions/
reach torch_native 9.5e-7, cpu_expert 9.5e-7, triton (interpreter, 20 steps) 4.8e-7, and on
an H200 torch_native 4.8e-7, triton 1.2e-6 (bf16 autocast: 2.6e-3). 1e-5 is ten times that
noise; the negative control (erf GELU instead of tanh GELU, a change of at most 1e-3 in one
op) measured 3.1e-5.
"""

FLOAT32_NOISE = 1e-5


def max_loss_gap(a: dict, b: dict) -> float:
    """The largest per-step difference between two runs' losses (same number of steps)."""
    return max(abs(x - y) for x, y in zip(a["losses"], b["losses"], strict=True))
