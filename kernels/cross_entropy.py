"""Cross entropy (mean over rows) in Triton: fused softmax + loss, and fused softmax +
gradient, never materialising the probabilities.

N rows of V logits x, target t per row, upstream gradient g (a scalar):

    forward   M = max_j x_j,  S = log sum_j exp(x_j - M)   (one pass: online max and sum)
              loss = mean over rows of (M - x_t) + S                 (M, S saved per row)
    backward  dx_j = g / N * (exp((x_j - M) - S) - [j == t])

Memory: the forward reads the logits once (4NV bytes in float32) and writes 8N; the
backward reads them again and writes the gradient (8NV). That is the least traffic a
forward/backward split allows: the gradient cannot be written in the forward without
knowing g, and writing it into the logits in place (as some fused kernels do) would break
the slot's contract that inputs come back unchanged. About 5 FLOPs per logit each way:
bandwidth-bound. M and S are kept apart rather than as one lse = M + S, whose float32
rounding at large logits would cost relative precision in both the loss and the gradient.

The vocabulary is walked in chunks of at most MAX_BLOCK_V logits with a per-lane running
max and sum, reduced across lanes once at the end, so any V fits in registers; short rows
are packed several to a program instead.
"""

from __future__ import annotations

import torch
import triton
import triton.language as tl
from torch import Tensor

MAX_BLOCK_V = 4096


@triton.jit
def _cross_entropy_fwd_kernel(
    logits_ptr,  # (n_rows, n_cols), row stride `stride_row`, unit column stride
    targets_ptr,  # int64 (n_rows,)
    loss_ptr,  # float32 (n_rows,): lse - x_target per row
    max_ptr,  # float32 (n_rows,): max logit per row, saved for the backward
    log_sum_ptr,  # float32 (n_rows,): log sum exp(x - max) per row, saved for the backward
    n_rows,
    n_cols,
    stride_row,
    BLOCK_N: tl.constexpr,
    BLOCK_V: tl.constexpr,
):
    rows = tl.program_id(0) * BLOCK_N + tl.arange(0, BLOCK_N)
    row_mask = rows < n_rows
    base = logits_ptr + rows[:, None].to(tl.int64) * stride_row
    # Per-lane running max and sum. Lanes past the row's end hold a finite -3e38 rather
    # than -inf so that exp(m_old - m_new) never computes -inf - (-inf); they weigh
    # exp(-3e38 - max) = 0 in the final reduction.
    m = tl.full([BLOCK_N, BLOCK_V], -3.0e38, dtype=tl.float32)
    s = tl.zeros([BLOCK_N, BLOCK_V], dtype=tl.float32)
    for start in range(0, n_cols, BLOCK_V):
        cols = start + tl.arange(0, BLOCK_V)
        mask = row_mask[:, None] & (cols < n_cols)[None, :]
        x = tl.load(base + cols[None, :], mask=mask, other=-3.0e38).to(tl.float32)
        m_new = tl.maximum(m, x)
        s = s * tl.exp(m - m_new) + tl.exp(x - m_new)
        m = m_new
    row_max = tl.max(m, axis=1)
    log_sum = tl.log(tl.sum(s * tl.exp(m - row_max[:, None]), axis=1))
    targets = tl.load(targets_ptr + rows, mask=row_mask, other=0)
    x_target = tl.load(logits_ptr + rows.to(tl.int64) * stride_row + targets, mask=row_mask,
                       other=0.0).to(tl.float32)
    # (max - x_t) + log_sum, not lse - x_t: when the target dominates, the loss is tiny and
    # lse - x_t would cancel to ulp(lse) (6% error measured at logits ~25, loss ~3e-5).
    tl.store(loss_ptr + rows, (row_max - x_target) + log_sum, mask=row_mask)
    tl.store(max_ptr + rows, row_max, mask=row_mask)
    tl.store(log_sum_ptr + rows, log_sum, mask=row_mask)


@triton.jit
def _cross_entropy_bwd_kernel(
    logits_ptr,  # (n_rows, n_cols), row stride `stride_row`
    targets_ptr,  # int64 (n_rows,)
    max_ptr,  # float32 (n_rows,) from the forward
    log_sum_ptr,  # float32 (n_rows,) from the forward
    dloss_ptr,  # the upstream gradient of the mean loss: one value, read on the device
    dlogits_ptr,  # output, contiguous (n_rows, n_cols), the logits' dtype
    n_rows,
    n_cols,
    stride_row,
    BLOCK_N: tl.constexpr,
    BLOCK_V: tl.constexpr,
):
    rows = tl.program_id(0) * BLOCK_N + tl.arange(0, BLOCK_N)
    row_mask = rows < n_rows
    row_max = tl.load(max_ptr + rows, mask=row_mask, other=0.0)
    log_sum = tl.load(log_sum_ptr + rows, mask=row_mask, other=0.0)
    targets = tl.load(targets_ptr + rows, mask=row_mask, other=0)
    scale = tl.load(dloss_ptr).to(tl.float32) / n_rows
    for start in range(0, n_cols, BLOCK_V):
        cols = start + tl.arange(0, BLOCK_V)
        mask = row_mask[:, None] & (cols < n_cols)[None, :]
        x = tl.load(logits_ptr + rows[:, None].to(tl.int64) * stride_row + cols[None, :],
                    mask=mask, other=0.0).to(tl.float32)
        # exp((x - max) - log_sum), not exp(x - lse): a float32 lse of logits ~ 20 is off
        # by ulp(20) = 2e-6, which became the gradient's relative error (measured 2e-6;
        # 2.6e-7 this way, like the naive code).
        p = tl.exp((x - row_max[:, None]) - log_sum[:, None])
        d = (p - tl.where(cols[None, :] == targets[:, None], 1.0, 0.0)) * scale
        tl.store(dlogits_ptr + rows[:, None].to(tl.int64) * n_cols + cols[None, :],
                 d.to(dlogits_ptr.dtype.element_ty), mask=mask)


def _blocks(n_cols: int) -> tuple[int, int]:
    block_v = min(MAX_BLOCK_V, max(16, triton.next_power_of_2(n_cols)))
    return max(1, min(64, 4096 // block_v)), block_v


def _rows(logits: Tensor) -> Tensor:
    return logits if logits.stride(-1) == 1 else logits.contiguous()


def cross_entropy_forward(logits: Tensor, targets: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """(mean loss as a float32 scalar, float32 max and log-sum-exp(x - max) per row)."""
    logits, targets = _rows(logits), targets.contiguous()
    n_rows, n_cols = logits.shape
    losses = torch.empty(n_rows, device=logits.device, dtype=torch.float32)
    row_max, log_sum = (torch.empty(n_rows, device=logits.device, dtype=torch.float32)
                        for _ in range(2))
    block_n, block_v = _blocks(n_cols)
    _cross_entropy_fwd_kernel[(triton.cdiv(n_rows, block_n),)](
        logits, targets, losses, row_max, log_sum, n_rows, n_cols, logits.stride(0),
        BLOCK_N=block_n, BLOCK_V=block_v)
    return losses.mean(), row_max, log_sum


def cross_entropy_backward(logits: Tensor, targets: Tensor, row_max: Tensor, log_sum: Tensor,
                           dloss: Tensor) -> Tensor:
    logits, targets = _rows(logits), targets.contiguous()
    n_rows, n_cols = logits.shape
    dlogits = torch.empty(n_rows, n_cols, device=logits.device, dtype=logits.dtype)
    block_n, block_v = _blocks(n_cols)
    _cross_entropy_bwd_kernel[(triton.cdiv(n_rows, block_n),)](
        logits, targets, row_max, log_sum, dloss.contiguous(), dlogits, n_rows, n_cols,
        logits.stride(0), BLOCK_N=block_n, BLOCK_V=block_v)
    return dlogits


class CrossEntropyFunction(torch.autograd.Function):
    """Returns the mean loss in float32 whatever the logits' dtype: under bf16 autocast a
    bf16 loss would round the recorded loss curve to 3 significant digits."""

    @staticmethod
    def forward(ctx, logits: Tensor, targets: Tensor) -> Tensor:
        loss, row_max, log_sum = cross_entropy_forward(logits, targets)
        ctx.save_for_backward(logits, targets, row_max, log_sum)
        return loss

    @staticmethod
    def backward(ctx, dloss: Tensor):
        logits, targets, row_max, log_sum = ctx.saved_tensors
        return cross_entropy_backward(logits, targets, row_max, log_sum, dloss), None


def cross_entropy(logits: Tensor, targets: Tensor) -> Tensor:
    return CrossEntropyFunction.apply(logits, targets).to(logits.dtype)
