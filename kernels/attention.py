"""Causal attention in Triton, FlashAttention-style: the (T, T) scores never exist in
memory; forward and backward.

Per (batch, head), with scale c = 1/sqrt(hd) and queries i, keys j <= i:

    forward   S = c Q K^T,  P = softmax(S) row-wise over j <= i,  O = P V
              computed a block of keys at a time with a running row max m and sum l
              (online softmax); saves L = m + log l per row (in base-2 units, below)
    backward  D_i = sum_d dO_id O_id
              P = exp(c Q K^T - L),  dV = P^T dO,  dP = dO V^T,  dS = P * (dP - D)
              dQ = c dS K,  dK = c dS^T Q

Scores are kept in base-2 units (S * log2(e)) so the exponentials are exp2, the GPU's native
instruction. The causal mask skips whole key blocks above the diagonal: the forward and
dQ loops stop at the query block's diagonal, the dK/dV loop starts at the key block's.
dK/dV and dQ are two kernels (one over key blocks, one over query blocks) rather than one
kernel with atomic adds into dQ, which keeps the backward deterministic.

Work per (batch, head) for T tokens of width hd: forward 2 T^2 hd FLOPs (half of the dense
4 T^2 hd, causal), backward 5 T^2 hd (QK^T twice, then dV, dP, dK, dQ: 7 products over half
the blocks, counting the recomputed scores); memory: reads Q, K, V and writes O once in the
forward (16 T hd bytes in float32), reads Q, K, V, O, dO and writes dQ, dK, dV in the
backward, plus 8 T of row statistics. At T = 256, hd = 16..32 this is latency-bound rather
than FLOP- or bandwidth-bound: blocks are 64 x 64 at most.

float32 products use input_precision="tf32x3": the default, tf32, rounds inputs to 10
mantissa bits (a relative error of up to 2^-11 per input, far above the float32 kernel
check's tolerance); "ieee" is exact but runs on the FMA units, and tf32x3 (three tf32
products: big*big + big*small + small*big) keeps float32 accuracy on the tensor cores, so
it is chosen for accuracy; its speed against the other two has no committed measurement
(`speedup bench-kernels --device cuda` is where it would be timed). bfloat16 inputs (under
autocast) take the plain tensor-core path; accumulation is float32 always.
"""

from __future__ import annotations

import math

import torch
import triton
import triton.language as tl
from torch import Tensor

LOG2E = 1.4426950408889634


@triton.jit
def _attention_fwd_kernel(
    q_ptr,  # (B, H, T, hd) queries; q, k, v share strides (stride_b, stride_h, stride_t, 1)
    k_ptr,  # keys
    v_ptr,  # values
    o_ptr,  # output, contiguous (B, H, T, hd), q's dtype
    lse_ptr,  # float32 (B * H, T): m + log2(l) per query row, base 2, for the backward
    stride_b,
    stride_h,
    stride_t,
    n_heads,
    seq_len,
    head_dim,
    qk_scale,  # log2(e) / sqrt(hd): scores in base-2 units
    BLOCK_M: tl.constexpr,
    BLOCK_N: tl.constexpr,
    BLOCK_D: tl.constexpr,
    DOT_PRECISION: tl.constexpr,
):
    start_m = tl.program_id(0) * BLOCK_M
    bh = tl.program_id(1)
    in_base = (bh // n_heads).to(tl.int64) * stride_b + (bh % n_heads).to(tl.int64) * stride_h
    out_base = bh.to(tl.int64) * seq_len * head_dim
    rows = start_m + tl.arange(0, BLOCK_M)
    offs_n = tl.arange(0, BLOCK_N)
    dims = tl.arange(0, BLOCK_D)
    dim_mask = dims < head_dim
    row_mask = rows < seq_len
    q = tl.load(q_ptr + in_base + rows[:, None] * stride_t + dims[None, :],
                mask=row_mask[:, None] & dim_mask[None, :], other=0.0)
    m_i = tl.full([BLOCK_M], float("-inf"), dtype=tl.float32)
    l_i = tl.zeros([BLOCK_M], dtype=tl.float32)
    acc = tl.zeros([BLOCK_M, BLOCK_D], dtype=tl.float32)
    for start_n in range(0, start_m + BLOCK_M, BLOCK_N):  # key blocks up to the diagonal
        cols = start_n + offs_n
        kv_mask = (cols < seq_len)[:, None] & dim_mask[None, :]
        k = tl.load(k_ptr + in_base + cols[:, None] * stride_t + dims[None, :], mask=kv_mask,
                    other=0.0)
        v = tl.load(v_ptr + in_base + cols[:, None] * stride_t + dims[None, :], mask=kv_mask,
                    other=0.0)
        s = tl.dot(q, tl.trans(k), input_precision=DOT_PRECISION) * qk_scale
        visible = (cols[None, :] <= rows[:, None]) & (cols < seq_len)[None, :]
        s = tl.where(visible, s, float("-inf"))
        # Key 0 is visible to every row, so m_new is finite from the first block on and
        # exp2(m_i - m_new) never sees -inf - (-inf).
        m_new = tl.maximum(m_i, tl.max(s, axis=1))
        alpha = tl.exp2(m_i - m_new)
        p = tl.exp2(s - m_new[:, None])
        l_i = l_i * alpha + tl.sum(p, axis=1)
        acc = acc * alpha[:, None] + tl.dot(p.to(v.dtype), v, input_precision=DOT_PRECISION)
        m_i = m_new
    acc = acc / l_i[:, None]
    tl.store(o_ptr + out_base + rows[:, None] * head_dim + dims[None, :],
             acc.to(o_ptr.dtype.element_ty), mask=row_mask[:, None] & dim_mask[None, :])
    tl.store(lse_ptr + bh.to(tl.int64) * seq_len + rows, m_i + tl.log2(l_i), mask=row_mask)


@triton.jit
def _attention_bwd_dkdv_kernel(
    q_ptr,  # (B, H, T, hd), strides (stride_b, stride_h, stride_t, 1), shared with k and v
    k_ptr,
    v_ptr,
    do_ptr,  # upstream gradient, contiguous (B, H, T, hd)
    lse_ptr,  # float32 (B * H, T) from the forward, base 2
    delta_ptr,  # float32 (B * H, T): rowsum(dO * O)
    dk_ptr,  # output, contiguous (B, H, T, hd)
    dv_ptr,  # output, contiguous (B, H, T, hd)
    stride_b,
    stride_h,
    stride_t,
    n_heads,
    seq_len,
    head_dim,
    qk_scale,  # log2(e) / sqrt(hd)
    sm_scale,  # 1 / sqrt(hd)
    BLOCK_M: tl.constexpr,
    BLOCK_N: tl.constexpr,
    BLOCK_D: tl.constexpr,
    DOT_PRECISION: tl.constexpr,
):
    start_n = tl.program_id(0) * BLOCK_N
    bh = tl.program_id(1)
    in_base = (bh // n_heads).to(tl.int64) * stride_b + (bh % n_heads).to(tl.int64) * stride_h
    out_base = bh.to(tl.int64) * seq_len * head_dim
    row_base = bh.to(tl.int64) * seq_len
    cols = start_n + tl.arange(0, BLOCK_N)
    offs_m = tl.arange(0, BLOCK_M)
    dims = tl.arange(0, BLOCK_D)
    dim_mask = dims < head_dim
    kv_mask = (cols < seq_len)[:, None] & dim_mask[None, :]
    k = tl.load(k_ptr + in_base + cols[:, None] * stride_t + dims[None, :], mask=kv_mask,
                other=0.0)
    v = tl.load(v_ptr + in_base + cols[:, None] * stride_t + dims[None, :], mask=kv_mask,
                other=0.0)
    dk = tl.zeros([BLOCK_N, BLOCK_D], dtype=tl.float32)
    dv = tl.zeros([BLOCK_N, BLOCK_D], dtype=tl.float32)
    for start_m in range(start_n, seq_len, BLOCK_M):  # query blocks from the diagonal down
        rows = start_m + offs_m
        row_mask = rows < seq_len
        q_mask = row_mask[:, None] & dim_mask[None, :]
        q = tl.load(q_ptr + in_base + rows[:, None] * stride_t + dims[None, :], mask=q_mask,
                    other=0.0)
        do = tl.load(do_ptr + out_base + rows[:, None] * head_dim + dims[None, :], mask=q_mask,
                     other=0.0)
        lse = tl.load(lse_ptr + row_base + rows, mask=row_mask, other=0.0)
        delta = tl.load(delta_ptr + row_base + rows, mask=row_mask, other=0.0)
        s = tl.dot(q, tl.trans(k), input_precision=DOT_PRECISION) * qk_scale  # (M, N)
        visible = (cols[None, :] <= rows[:, None]) & row_mask[:, None] & (cols < seq_len)[None, :]
        p = tl.where(visible, tl.exp2(s - lse[:, None]), 0.0)
        dv += tl.dot(tl.trans(p).to(do.dtype), do, input_precision=DOT_PRECISION)
        dp = tl.dot(do, tl.trans(v).to(do.dtype), input_precision=DOT_PRECISION)
        ds = p * (dp - delta[:, None])
        dk += tl.dot(tl.trans(ds).to(q.dtype), q, input_precision=DOT_PRECISION)
    store_mask = (cols < seq_len)[:, None] & dim_mask[None, :]
    out = out_base + cols[:, None] * head_dim + dims[None, :]
    tl.store(dk_ptr + out, (dk * sm_scale).to(dk_ptr.dtype.element_ty), mask=store_mask)
    tl.store(dv_ptr + out, dv.to(dv_ptr.dtype.element_ty), mask=store_mask)


@triton.jit
def _attention_bwd_dq_kernel(
    q_ptr,  # (B, H, T, hd), strides (stride_b, stride_h, stride_t, 1), shared with k and v
    k_ptr,
    v_ptr,
    do_ptr,  # upstream gradient, contiguous (B, H, T, hd)
    lse_ptr,  # float32 (B * H, T) from the forward, base 2
    delta_ptr,  # float32 (B * H, T): rowsum(dO * O)
    dq_ptr,  # output, contiguous (B, H, T, hd)
    stride_b,
    stride_h,
    stride_t,
    n_heads,
    seq_len,
    head_dim,
    qk_scale,  # log2(e) / sqrt(hd)
    sm_scale,  # 1 / sqrt(hd)
    BLOCK_M: tl.constexpr,
    BLOCK_N: tl.constexpr,
    BLOCK_D: tl.constexpr,
    DOT_PRECISION: tl.constexpr,
):
    start_m = tl.program_id(0) * BLOCK_M
    bh = tl.program_id(1)
    in_base = (bh // n_heads).to(tl.int64) * stride_b + (bh % n_heads).to(tl.int64) * stride_h
    out_base = bh.to(tl.int64) * seq_len * head_dim
    row_base = bh.to(tl.int64) * seq_len
    rows = start_m + tl.arange(0, BLOCK_M)
    offs_n = tl.arange(0, BLOCK_N)
    dims = tl.arange(0, BLOCK_D)
    dim_mask = dims < head_dim
    row_mask = rows < seq_len
    q_mask = row_mask[:, None] & dim_mask[None, :]
    q = tl.load(q_ptr + in_base + rows[:, None] * stride_t + dims[None, :], mask=q_mask,
                other=0.0)
    do = tl.load(do_ptr + out_base + rows[:, None] * head_dim + dims[None, :], mask=q_mask,
                 other=0.0)
    lse = tl.load(lse_ptr + row_base + rows, mask=row_mask, other=0.0)
    delta = tl.load(delta_ptr + row_base + rows, mask=row_mask, other=0.0)
    dq = tl.zeros([BLOCK_M, BLOCK_D], dtype=tl.float32)
    for start_n in range(0, start_m + BLOCK_M, BLOCK_N):  # key blocks up to the diagonal
        cols = start_n + offs_n
        kv_mask = (cols < seq_len)[:, None] & dim_mask[None, :]
        k = tl.load(k_ptr + in_base + cols[:, None] * stride_t + dims[None, :], mask=kv_mask,
                    other=0.0)
        v = tl.load(v_ptr + in_base + cols[:, None] * stride_t + dims[None, :], mask=kv_mask,
                    other=0.0)
        s = tl.dot(q, tl.trans(k), input_precision=DOT_PRECISION) * qk_scale
        visible = (cols[None, :] <= rows[:, None]) & row_mask[:, None] & (cols < seq_len)[None, :]
        p = tl.where(visible, tl.exp2(s - lse[:, None]), 0.0)
        dp = tl.dot(do, tl.trans(v).to(do.dtype), input_precision=DOT_PRECISION)
        ds = p * (dp - delta[:, None])
        dq += tl.dot(ds.to(k.dtype), k, input_precision=DOT_PRECISION)
    tl.store(dq_ptr + out_base + rows[:, None] * head_dim + dims[None, :],
             (dq * sm_scale).to(dq_ptr.dtype.element_ty), mask=q_mask)


def _config(q: Tensor) -> dict:
    T, hd = q.shape[-2], q.shape[-1]
    # Square blocks: the loops' diagonal bounds assume BLOCK_M == BLOCK_N. 16 is the
    # smallest tl.dot operand on GPUs; head dims are padded up to a power of two.
    block = min(64, max(16, triton.next_power_of_2(T)))
    return {"BLOCK_M": block, "BLOCK_N": block, "BLOCK_D": max(16, triton.next_power_of_2(hd)),
            "DOT_PRECISION": "tf32x3" if q.dtype == torch.float32 else "tf32"}


def _shared_layout(q: Tensor, k: Tensor, v: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """q, k and v as views with one set of strides and unit last stride (the model's
    q, k, v are transposed views of one (B, T, 3C) tensor: no copy needed there)."""
    if q.stride(-1) == 1 and q.stride() == k.stride() == v.stride():
        return q, k, v
    return q.contiguous(), k.contiguous(), v.contiguous()


def attention_forward(q: Tensor, k: Tensor, v: Tensor) -> tuple[Tensor, Tensor]:
    """(o contiguous (B, H, T, hd), float32 base-2 lse (B * H, T))."""
    q, k, v = _shared_layout(q, k, v)
    B, H, T, hd = q.shape
    o = torch.empty(B, H, T, hd, device=q.device, dtype=q.dtype)
    lse = torch.empty(B * H, T, device=q.device, dtype=torch.float32)
    cfg = _config(q)
    grid = (triton.cdiv(T, cfg["BLOCK_M"]), B * H)
    _attention_fwd_kernel[grid](q, k, v, o, lse, q.stride(0), q.stride(1), q.stride(2), H, T, hd,
                                LOG2E / math.sqrt(hd), **cfg)
    return o, lse


def attention_backward(q: Tensor, k: Tensor, v: Tensor, o: Tensor, lse: Tensor,
                       do: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    q, k, v = _shared_layout(q, k, v)
    B, H, T, hd = q.shape
    do = do.contiguous()
    delta = (do.float() * o.float()).sum(-1).view(B * H, T)  # (B*H, T)
    dq, dk, dv = (torch.empty(B, H, T, hd, device=q.device, dtype=q.dtype) for _ in range(3))
    cfg = _config(q)
    strides = (q.stride(0), q.stride(1), q.stride(2), H, T, hd, LOG2E / math.sqrt(hd),
               1.0 / math.sqrt(hd))
    _attention_bwd_dkdv_kernel[(triton.cdiv(T, cfg["BLOCK_N"]), B * H)](
        q, k, v, do, lse, delta, dk, dv, *strides, **cfg)
    _attention_bwd_dq_kernel[(triton.cdiv(T, cfg["BLOCK_M"]), B * H)](
        q, k, v, do, lse, delta, dq, *strides, **cfg)
    return dq, dk, dv


class AttentionFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx, q: Tensor, k: Tensor, v: Tensor) -> Tensor:
        o, lse = attention_forward(q, k, v)
        ctx.save_for_backward(q, k, v, o, lse)
        return o

    @staticmethod
    def backward(ctx, do: Tensor):
        return attention_backward(*ctx.saved_tensors, do)


def attention(q: Tensor, k: Tensor, v: Tensor) -> Tensor:
    return AttentionFunction.apply(q, k, v)
