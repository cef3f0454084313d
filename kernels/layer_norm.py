"""Layer norm over the last dimension in Triton: forward and backward.

Rows x of C values, gain w, bias b:

    forward   mu = mean(x),  rstd = 1 / sqrt(mean((x - mu)^2) + eps)
              x_hat = (x - mu) * rstd,  y = x_hat * w + b            (mu, rstd saved per row)
    backward  g = w * dy
              dx = rstd * (g - mean(g) - x_hat * mean(g * x_hat))
              dw = sum over rows of dy * x_hat,  db = sum over rows of dy

Memory for R rows in float32: forward reads x (4RC bytes) and writes y (4RC) plus 8R of
statistics; backward reads x and dy and writes dx (12RC). Everything else is a few FLOPs
per byte, so both kernels are bandwidth-bound. The variance is taken around the mean of
the row already in registers (two passes over registers, one over memory), which keeps the
cancellation error of inputs with a large offset down to that of the naive two-pass code.

dw and db are reductions over rows: each backward program sums its rows into one partial
row, and the partials are added up afterwards in a fixed order, so the result is
deterministic (no atomics).
"""

from __future__ import annotations

import torch
import triton
import triton.language as tl
from torch import Tensor

MAX_BWD_PROGRAMS = 256  # partial rows of dw/db; each program loops over the rows it owns


@triton.jit
def _layer_norm_fwd_kernel(
    x_ptr,  # input rows, contiguous (n_rows, n_cols)
    w_ptr,  # gain, (n_cols,)
    b_ptr,  # bias, (n_cols,)
    y_ptr,  # output, same dtype and layout as x
    mean_ptr,  # float32 (n_rows,), saved for the backward
    rstd_ptr,  # float32 (n_rows,), saved for the backward
    n_rows,
    n_cols,
    eps,
    BLOCK_R: tl.constexpr,
    BLOCK_C: tl.constexpr,
):
    rows = tl.program_id(0) * BLOCK_R + tl.arange(0, BLOCK_R)
    cols = tl.arange(0, BLOCK_C)
    row_mask, col_mask = rows < n_rows, cols < n_cols
    mask = row_mask[:, None] & col_mask[None, :]
    offs = rows[:, None].to(tl.int64) * n_cols + cols[None, :]
    x = tl.load(x_ptr + offs, mask=mask, other=0.0).to(tl.float32)
    mean = tl.sum(x, axis=1) / n_cols
    centered = tl.where(mask, x - mean[:, None], 0.0)
    rstd = 1.0 / tl.sqrt(tl.sum(centered * centered, axis=1) / n_cols + eps)
    w = tl.load(w_ptr + cols, mask=col_mask, other=0.0).to(tl.float32)
    b = tl.load(b_ptr + cols, mask=col_mask, other=0.0).to(tl.float32)
    y = centered * rstd[:, None] * w[None, :] + b[None, :]
    tl.store(y_ptr + offs, y.to(y_ptr.dtype.element_ty), mask=mask)
    tl.store(mean_ptr + rows, mean, mask=row_mask)
    tl.store(rstd_ptr + rows, rstd, mask=row_mask)


@triton.jit
def _layer_norm_bwd_kernel(
    x_ptr,  # the forward's input rows, contiguous (n_rows, n_cols)
    w_ptr,  # gain, (n_cols,)
    dy_ptr,  # upstream gradient, contiguous (n_rows, n_cols)
    mean_ptr,  # float32 (n_rows,) from the forward
    rstd_ptr,  # float32 (n_rows,) from the forward
    dx_ptr,  # output gradient, same dtype and layout as x
    dw_part_ptr,  # float32 (n_programs, n_cols): this program's sum of dy * x_hat
    db_part_ptr,  # float32 (n_programs, n_cols): this program's sum of dy
    n_rows,
    n_cols,
    BLOCK_R: tl.constexpr,
    BLOCK_C: tl.constexpr,
):
    pid = tl.program_id(0)
    cols = tl.arange(0, BLOCK_C)
    col_mask = cols < n_cols
    w = tl.load(w_ptr + cols, mask=col_mask, other=0.0).to(tl.float32)
    dw = tl.zeros([BLOCK_C], dtype=tl.float32)
    db = tl.zeros([BLOCK_C], dtype=tl.float32)
    for start in range(pid * BLOCK_R, n_rows, tl.num_programs(0) * BLOCK_R):
        rows = start + tl.arange(0, BLOCK_R)
        row_mask = rows < n_rows
        mask = row_mask[:, None] & col_mask[None, :]
        offs = rows[:, None].to(tl.int64) * n_cols + cols[None, :]
        x = tl.load(x_ptr + offs, mask=mask, other=0.0).to(tl.float32)
        dy = tl.load(dy_ptr + offs, mask=mask, other=0.0).to(tl.float32)
        mean = tl.load(mean_ptr + rows, mask=row_mask, other=0.0)
        rstd = tl.load(rstd_ptr + rows, mask=row_mask, other=0.0)
        x_hat = tl.where(mask, (x - mean[:, None]) * rstd[:, None], 0.0)
        g = w[None, :] * dy
        mean_g = tl.sum(g, axis=1) / n_cols
        mean_gx = tl.sum(g * x_hat, axis=1) / n_cols
        dx = (g - mean_g[:, None] - x_hat * mean_gx[:, None]) * rstd[:, None]
        tl.store(dx_ptr + offs, dx.to(dx_ptr.dtype.element_ty), mask=mask)
        dw += tl.sum(dy * x_hat, axis=0)
        db += tl.sum(dy, axis=0)
    tl.store(dw_part_ptr + pid * n_cols + cols, dw, mask=col_mask)
    tl.store(db_part_ptr + pid * n_cols + cols, db, mask=col_mask)


def _blocks(n_cols: int) -> tuple[int, int]:
    """(rows, columns) per program: a whole row in registers, about 4096 values at once
    (enough parallel work per program for short rows, few registers per thread for long)."""
    block_c = max(16, triton.next_power_of_2(n_cols))
    return max(1, min(64, 4096 // block_c)), block_c


def layer_norm_forward(x: Tensor, weight: Tensor, bias: Tensor, eps: float):
    """(y, mean, rstd) for x of shape (..., C); mean and rstd are float32 (rows,)."""
    x2 = x.reshape(-1, x.shape[-1]).contiguous()
    n_rows, n_cols = x2.shape
    y = torch.empty_like(x2)
    mean = torch.empty(n_rows, device=x.device, dtype=torch.float32)
    rstd = torch.empty(n_rows, device=x.device, dtype=torch.float32)
    block_r, block_c = _blocks(n_cols)
    if n_rows:
        _layer_norm_fwd_kernel[(triton.cdiv(n_rows, block_r),)](
            x2, weight.contiguous(), bias.contiguous(), y, mean, rstd, n_rows, n_cols, eps,
            BLOCK_R=block_r, BLOCK_C=block_c)
    return y.view(x.shape), mean, rstd


def layer_norm_backward(x: Tensor, weight: Tensor, mean: Tensor, rstd: Tensor, dy: Tensor):
    """(dx, dw, db)."""
    x2 = x.reshape(-1, x.shape[-1]).contiguous()
    dy2 = dy.reshape(x2.shape).contiguous()
    n_rows, n_cols = x2.shape
    block_r, block_c = _blocks(n_cols)
    n_programs = max(1, min(MAX_BWD_PROGRAMS, triton.cdiv(n_rows, block_r)))
    dx = torch.empty_like(x2)
    if not n_rows:
        return dx.view(x.shape), torch.zeros_like(weight), torch.zeros_like(weight)
    # every program writes its row of partial sums, so they need no zero fill
    dw_part = torch.empty(n_programs, n_cols, device=x.device, dtype=torch.float32)
    db_part = torch.empty(n_programs, n_cols, device=x.device, dtype=torch.float32)
    _layer_norm_bwd_kernel[(n_programs,)](
        x2, weight.contiguous(), dy2, mean, rstd, dx, dw_part, db_part, n_rows, n_cols,
        BLOCK_R=block_r, BLOCK_C=block_c)
    return (dx.view(x.shape), dw_part.sum(0).to(weight.dtype), db_part.sum(0).to(weight.dtype))


class LayerNormFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: Tensor, weight: Tensor, bias: Tensor, eps: float) -> Tensor:
        y, mean, rstd = layer_norm_forward(x, weight, bias, eps)
        ctx.save_for_backward(x, weight, mean, rstd)
        return y

    @staticmethod
    def backward(ctx, dy: Tensor):
        x, weight, mean, rstd = ctx.saved_tensors
        dx, dw, db = layer_norm_backward(x, weight, mean, rstd, dy)
        return dx, dw, db, None


def layer_norm(x: Tensor, weight: Tensor, bias: Tensor, eps: float = 1e-5) -> Tensor:
    return LayerNormFunction.apply(x, weight, bias, eps)
