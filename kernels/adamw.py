"""AdamW over every parameter in ONE Triton launch, updating params and moments in place.

Per element, with gradient g scaled by the clipping coefficient k, step t (from 1):

    g = k g
    p = p (1 - lr wd)                              decoupled weight decay
    m = b1 m + (1 - b1) g,  v = b2 v + (1 - b2) g^2
    p = p - lr (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)

Memory: reads p, g, m, v and writes p, m, v: 28 bytes per float32 parameter for about 15
FLOPs, so the update is bandwidth-bound and the only thing worth saving is launches: the
naive loop costs about ten elementwise launches per tensor. Here the tensors stay where
they are (no flattening copy); a pointer table holds each tensor's four addresses, its
size and its weight decay, and a block table maps every program to (tensor, offset). The
tables are built on the host once per set of tensors and cached, so a training loop (or a
CUDA graph, which cannot copy host data while capturing) pays for them once.

lr, the two bias corrections and the clipping coefficient are read from a small device
tensor `hyper` = [lr, 1 - b1^t, 1 - b2^t, k], so a captured graph can change them between
replays without re-capturing, and clipping needs no host sync: k is computed on the device.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import triton
import triton.language as tl
from torch import Tensor

BLOCK = 1024


@triton.jit
def _adamw_kernel(
    addr_ptr,  # int64 (n_tensors, 4): addresses of p, g, m, v (float32, contiguous)
    numel_ptr,  # int64 (n_tensors,): elements per tensor
    decay_ptr,  # float32 (n_tensors,): weight decay per tensor
    block_ptr,  # int64 (n_blocks, 2): (tensor index, first element) per program
    hyper_ptr,  # float32 (4,): lr, 1 - beta1^step, 1 - beta2^step, gradient scale
    beta1,
    beta2,
    eps,
    BLOCK: tl.constexpr,
):
    pid = tl.program_id(0)
    tensor = tl.load(block_ptr + 2 * pid)
    offs = tl.load(block_ptr + 2 * pid + 1) + tl.arange(0, BLOCK)
    mask = offs < tl.load(numel_ptr + tensor)
    p_ptr = tl.load(addr_ptr + 4 * tensor).to(tl.pointer_type(tl.float32))
    g_ptr = tl.load(addr_ptr + 4 * tensor + 1).to(tl.pointer_type(tl.float32))
    m_ptr = tl.load(addr_ptr + 4 * tensor + 2).to(tl.pointer_type(tl.float32))
    v_ptr = tl.load(addr_ptr + 4 * tensor + 3).to(tl.pointer_type(tl.float32))
    lr = tl.load(hyper_ptr)
    bias1 = tl.load(hyper_ptr + 1)
    bias2 = tl.load(hyper_ptr + 2)
    g = tl.load(g_ptr + offs, mask=mask, other=0.0) * tl.load(hyper_ptr + 3)
    p = tl.load(p_ptr + offs, mask=mask, other=0.0) * (1.0 - lr * tl.load(decay_ptr + tensor))
    m = beta1 * tl.load(m_ptr + offs, mask=mask, other=0.0) + (1.0 - beta1) * g
    v = beta2 * tl.load(v_ptr + offs, mask=mask, other=0.0) + (1.0 - beta2) * g * g
    p = p - lr * (m / bias1) / (tl.sqrt(v / bias2) + eps)
    tl.store(p_ptr + offs, p, mask=mask)
    tl.store(m_ptr + offs, m, mask=mask)
    tl.store(v_ptr + offs, v, mask=mask)


@dataclass(frozen=True)
class AdamWTables:
    """Device-side tables for one set of tensors; holds addresses, so the tensors must
    outlive it (cached_tables keys it on the params' and moments' addresses)."""

    addrs: Tensor
    numels: Tensor
    decays: Tensor
    blocks: Tensor


def _check_layout(params: list[Tensor], *groups: list[Tensor]) -> None:
    """The kernel reads raw addresses: every tensor must be contiguous float32, shaped like
    its parameter and on the parameters' device."""
    device = params[0].device
    for group in (params, *groups):
        for p, t in zip(params, group):
            if t.dtype != torch.float32 or not t.is_contiguous() or t.shape != p.shape:
                raise ValueError("adamw needs contiguous float32 params, grads and moments "
                                 f"of matching shapes; got {t.dtype} {tuple(t.shape)}")
            if t.device != device:
                raise ValueError(f"adamw tensors on {t.device} and {device}")


def adamw_tables(params: list[Tensor], grads: list[Tensor], exp_avgs: list[Tensor],
                 exp_avg_sqs: list[Tensor], weight_decays: list[float]) -> AdamWTables:
    device = params[0].device
    _check_layout(params, grads, exp_avgs, exp_avg_sqs)
    addrs = [[t.data_ptr() for t in quad] for quad in zip(params, grads, exp_avgs, exp_avg_sqs)]
    numels = [p.numel() for p in params]
    blocks = [(i, start) for i, n in enumerate(numels) for start in range(0, n, BLOCK)]
    return AdamWTables(
        addrs=torch.tensor(addrs, dtype=torch.int64, device=device),
        numels=torch.tensor(numels, dtype=torch.int64, device=device),
        decays=torch.tensor(weight_decays, dtype=torch.float32, device=device),
        blocks=torch.tensor(blocks, dtype=torch.int64, device=device).view(-1, 2),
    )


def adamw_update(tables: AdamWTables, hyper: Tensor, *, beta1: float, beta2: float,
                 eps: float) -> None:
    """One launch over every tensor in `tables`; hyper = [lr, 1-b1^t, 1-b2^t, grad scale]
    as float32 on the device."""
    n_blocks = tables.blocks.shape[0]
    if n_blocks:
        _adamw_kernel[(n_blocks,)](tables.addrs, tables.numels, tables.decays, tables.blocks,
                                   hyper, beta1, beta2, eps, BLOCK=BLOCK)


_cache: dict[tuple, tuple[AdamWTables, list[int]]] = {}  # key -> (tables, grad addresses)
CACHED_SETS = 4  # the naive loop's two weight-decay groups alternate; room for two more


def cached_tables(params, grads, exp_avgs, exp_avg_sqs, weight_decays) -> AdamWTables:
    """Tables for these tensors: built on first use of a set of params and moments (which
    live as long as the training), reused while their addresses and sizes are the same. The
    gradients are often new tensors every step (the baseline loop sets p.grad = None), so
    their addresses are written into the cached table when they change (one small copy)
    rather than keyed: keyed, every call of the baseline loop rebuilt its tables. The last
    CACHED_SETS sets are kept (the oldest is dropped first, so stale addresses do not pile
    up)."""
    key = (tuple((p.data_ptr(), m.data_ptr(), v.data_ptr(), p.numel(), str(p.device))
                 for p, m, v in zip(params, exp_avgs, exp_avg_sqs)),
           tuple(weight_decays))
    grad_addrs = [g.data_ptr() for g in grads]
    if key not in _cache:
        if len(_cache) >= CACHED_SETS:
            del _cache[next(iter(_cache))]
        _cache[key] = (adamw_tables(params, grads, exp_avgs, exp_avg_sqs, weight_decays),
                       grad_addrs)
    tables, known = _cache[key]
    if grad_addrs != known:
        _check_layout(params, grads)
        tables.addrs[:, 1].copy_(torch.tensor(grad_addrs, dtype=torch.int64, device="cpu"))
        _cache[key] = (tables, grad_addrs)
    return tables


@torch.no_grad()
def adamw(params: list[Tensor], grads: list[Tensor], exp_avgs: list[Tensor],
          exp_avg_sqs: list[Tensor], *, step: int, lr: float, beta1: float, beta2: float,
          eps: float, weight_decay: float) -> None:
    if not params:
        return
    tables = cached_tables(params, grads, exp_avgs, exp_avg_sqs, [weight_decay] * len(params))
    hyper = torch.tensor([lr, 1.0 - beta1**step, 1.0 - beta2**step, 1.0], dtype=torch.float32,
                         device=params[0].device)
    adamw_update(tables, hyper, beta1=beta1, beta2=beta2, eps=eps)
