"""GELU, tanh form, in Triton: forward and backward, elementwise over any shape.

    u  = sqrt(2/pi) * (x + 0.044715 x^3)
    y  = 0.5 x (1 + tanh(u)) = x * s,          s = sigmoid(2u) = 1 / (1 + exp(-2u))
    dx = dy * (s + x * 2 s (1 - s) * du/dx),   du/dx = sqrt(2/pi) (1 + 3 * 0.044715 x^2)

The sigmoid form needs one exp and no tanh (which Triton's interpreter and older Triton
versions spell differently), and it saturates cleanly: exp(-2u) -> inf gives s = 0 and
exp(-2u) -> 0 gives s = 1, never inf/inf.

Memory: forward reads x and writes y, backward reads x and dy and writes dx: 8 and 12 bytes
per float32 element (half in bf16) for about 10 and 20 FLOPs, so both are bandwidth-bound;
s is recomputed in the backward rather than stored, which saves a 4-byte write and read.
"""

from __future__ import annotations

import torch
import triton
import triton.language as tl
from torch import Tensor

BLOCK = 1024


@triton.jit
def _gelu_fwd_kernel(
    x_ptr,  # input, contiguous, n elements (float32 or bfloat16)
    y_ptr,  # output, same dtype and layout as x
    n,
    BLOCK: tl.constexpr,
):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < n
    x = tl.load(x_ptr + offs, mask=mask, other=0.0).to(tl.float32)
    u = 0.7978845608028654 * (x + 0.044715 * x * x * x)  # sqrt(2/pi) (x + 0.044715 x^3)
    s = 1.0 / (1.0 + tl.exp(-2.0 * u))
    tl.store(y_ptr + offs, (x * s).to(y_ptr.dtype.element_ty), mask=mask)


@triton.jit
def _gelu_bwd_kernel(
    x_ptr,  # the forward's input, contiguous, n elements
    dy_ptr,  # upstream gradient, contiguous, same shape
    dx_ptr,  # output gradient, same dtype as x
    n,
    BLOCK: tl.constexpr,
):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < n
    x = tl.load(x_ptr + offs, mask=mask, other=0.0).to(tl.float32)
    dy = tl.load(dy_ptr + offs, mask=mask, other=0.0).to(tl.float32)
    u = 0.7978845608028654 * (x + 0.044715 * x * x * x)
    s = 1.0 / (1.0 + tl.exp(-2.0 * u))
    du = 0.7978845608028654 * (1.0 + 0.134145 * x * x)  # 0.134145 = 3 * 0.044715
    dx = dy * (s + 2.0 * x * s * (1.0 - s) * du)
    tl.store(dx_ptr + offs, dx.to(dx_ptr.dtype.element_ty), mask=mask)


def gelu_forward(x: Tensor) -> Tensor:
    x = x.contiguous()
    y = torch.empty_like(x)
    if x.numel():
        _gelu_fwd_kernel[(triton.cdiv(x.numel(), BLOCK),)](x, y, x.numel(), BLOCK=BLOCK)
    return y


def gelu_backward(x: Tensor, dy: Tensor) -> Tensor:
    x, dy = x.contiguous(), dy.contiguous()
    dx = torch.empty_like(x)
    if x.numel():
        _gelu_bwd_kernel[(triton.cdiv(x.numel(), BLOCK),)](x, dy, dx, x.numel(), BLOCK=BLOCK)
    return dx


class GeluFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: Tensor) -> Tensor:
        ctx.save_for_backward(x)
        return gelu_forward(x)

    @staticmethod
    def backward(ctx, dy: Tensor) -> Tensor:
        (x,) = ctx.saved_tensors
        return gelu_backward(x, dy)


def gelu(x: Tensor) -> Tensor:
    return GeluFunction.apply(x)
