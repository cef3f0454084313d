"""The GPT of baseline/model.py (pre-LN blocks, learned positions, tied embeddings, tanh
GELU MLP, no dropout), forward and backward by hand in NumPy float32, the whole batch at
once: activations are (N, C) rows over the N = B * T tokens, attention is batched matmuls
over (B, H) pairs.

    loss, caches = gpt_forward(p, cfg, idx, targets)
    gpt_backward(p, g, cfg, caches)   # writes every gradient into g (name -> array)

NumPy runs one pass over memory per operation, so the design counts passes:
- sums over a short last axis (layer norm's C, a row's keys) are matrix-vector products
  with a ones vector: BLAS reads the rows once, where `ndarray.sum(-1)` iterates per row;
- temporaries are updated in place (`out=`, `*=`) instead of allocated per operation;
- attention's softmax backward uses rowsum(dP * P) = rowsum(dY * Y) per query (the
  FlashAttention identity), a pass over (B, H, T, hd) instead of (B, H, T, T);
- 1/sqrt(hd) is folded into q, and 1/N into the softmax's normaliser in the loss.
Every scalar in an array expression is a Python float, so NumPy keeps float32.
"""

from __future__ import annotations

import math

import numpy as np

F32 = np.float32
GELU_C = math.sqrt(2 / math.pi)
GELU_A = 0.044715


def row_mean(x):
    """(N, K) -> (N,): the mean of each row, as one matrix-vector product."""
    return x @ np.full(x.shape[-1], 1 / x.shape[-1], F32)


def col_sum(x, out=None):
    """(N, K) -> (K,): the sum of each column, as one vector-matrix product."""
    return np.matmul(np.ones(x.shape[0], F32), x, out=out)


# ---------------------------------------------------------------------------- layers

def linear_forward(x, w, b):
    """x (N, D_in), w (D_out, D_in), b (D_out,) -> (N, D_out)."""
    out = x @ w.T
    out += b
    return out


def linear_backward(dout, x, w, gw, gb):
    """Writes dL/dw into gw and dL/db into gb; returns dL/dx (N, D_in)."""
    np.matmul(dout.T, x, out=gw)
    col_sum(dout, out=gb)
    return dout @ w


def layer_norm_forward(x, w, b, eps):
    """x (N, C) -> (out, (xhat, rstd))."""
    xhat = x - row_mean(x)[:, None]  # (N, C), centred
    rstd = row_mean(xhat * xhat)  # (N,), biased variance
    rstd += eps
    np.sqrt(rstd, out=rstd)
    np.divide(1.0, rstd, out=rstd)
    xhat *= rstd[:, None]
    out = xhat * w
    out += b
    return out, (xhat, rstd)


def layer_norm_backward(dout, cache, w, gw, gb):
    """dx = rstd * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat)), dxhat = dout * w."""
    xhat, rstd = cache
    dxhat = dout * w  # (N, C)
    col_sum(dout, out=gb)
    prod = dout * xhat
    col_sum(prod, out=gw)
    np.multiply(dxhat, xhat, out=prod)
    dx = xhat * row_mean(prod)[:, None]
    np.subtract(dxhat, dx, out=dx)
    dx -= row_mean(dxhat)[:, None]
    dx *= rstd[:, None]
    return dx


def gelu_forward(h):
    """0.5 h (1 + tanh(u)), u = sqrt(2/pi) (h + 0.044715 h^3); keeps tanh(u) for the
    backward. h (N, 4C) -> (out, (h, t))."""
    t = h * h
    t *= GELU_A * GELU_C
    t += GELU_C
    t *= h  # u
    np.tanh(t, out=t)
    out = t + 1.0
    out *= h
    out *= 0.5
    return out, (h, t)


def gelu_backward(dout, cache):
    """d/dh = 0.5 (1 + t + h (1 - t^2) du/dh), du/dh = sqrt(2/pi) (1 + 3 * 0.044715 h^2)."""
    h, t = cache
    du = h * h
    du *= 3 * GELU_A * GELU_C
    du += GELU_C
    d = t * t
    np.subtract(1.0, d, out=d)
    d *= du
    d *= h
    d += t
    d += 1.0
    d *= 0.5
    d *= dout
    return d


def attention_forward(qkv, B, T, n_head):
    """Causal self-attention of every (sequence, head) at once. qkv (N, 3C) -> (N, C)."""
    C = qkv.shape[1] // 3
    hd = C // n_head
    heads = qkv.reshape(B, T, 3, n_head, hd)
    q = heads[:, :, 0].transpose(0, 2, 1, 3) * (1 / math.sqrt(hd))  # (B, H, T, hd), scaled
    k = heads[:, :, 1].transpose(0, 2, 1, 3)  # (B, H, T, hd), views of qkv
    v = heads[:, :, 2].transpose(0, 2, 1, 3)
    p = q @ k.swapaxes(-1, -2)  # (B, H, T, T) scores
    p += np.triu(np.full((T, T), -np.inf, F32), 1)  # query t sees keys 0..t
    p -= p.max(axis=-1, keepdims=True)
    np.exp(p, out=p)
    p /= (p @ np.ones(T, F32))[..., None]  # softmax; zero above the diagonal
    y = np.empty((B, T, n_head, hd), F32)
    np.matmul(p, v, out=y.transpose(0, 2, 1, 3))
    return y.reshape(B * T, C), (q, k, v, p, y)


def attention_backward(dy, cache):
    """dy (N, C) -> dqkv (N, 3C)."""
    q, k, v, p, y = cache
    B, H, T, hd = q.shape
    dqkv = np.empty((B, T, 3, H, hd), F32)
    dq, dk, dv = (dqkv[:, :, i].transpose(0, 2, 1, 3) for i in range(3))  # (B, H, T, hd)
    dy4 = dy.reshape(B, T, H, hd)
    dyh = dy4.transpose(0, 2, 1, 3)  # (B, H, T, hd)
    np.matmul(p.swapaxes(-1, -2), dyh, out=dv)
    dp = dyh @ v.swapaxes(-1, -2)  # (B, H, T, T)
    rowsum = (dy4 * y).reshape(B, T, H, hd) @ np.ones(hd, F32)  # (B, T, H) = rowsum(dP * P)
    dp -= rowsum.transpose(0, 2, 1)[..., None]
    dp *= p  # dL/dscores (of the scaled q)
    np.matmul(dp, k, out=dq)
    dq *= 1 / math.sqrt(hd)
    np.matmul(dp.swapaxes(-1, -2), q, out=dk)
    return dqkv.reshape(B * T, 3 * H * hd)


def cross_entropy(logits, targets):
    """Mean NLL of targets (N,) and its gradient, computed in place in logits (N, V)."""
    N = targets.size
    rows = np.arange(N)
    logits -= logits.max(axis=1, keepdims=True)
    picked = logits[rows, targets]  # (N,), shifted target logits
    np.exp(logits, out=logits)
    sums = logits @ np.ones(logits.shape[1], F32)  # (N,)
    loss = float(np.mean(np.log(sums) - picked, dtype=np.float64))
    logits *= (1.0 / (sums * N))[:, None]  # softmax / N
    logits[rows, targets] -= 1.0 / N
    return loss, logits


# ---------------------------------------------------------------------------- the model

def block_forward(p, pre, x, cfg, B, T):
    """x (N, C), updated in place to x + attn(ln_1(x)), then + mlp(ln_2(x)); -> cache."""
    eps = cfg["layer_norm_eps"]
    a, ln_1 = layer_norm_forward(x, p[pre + "ln_1.weight"], p[pre + "ln_1.bias"], eps)
    qkv = linear_forward(a, p[pre + "attn.c_attn.weight"], p[pre + "attn.c_attn.bias"])
    y, attn = attention_forward(qkv, B, T, cfg["n_head"])  # (N, C)
    x += linear_forward(y, p[pre + "attn.c_proj.weight"], p[pre + "attn.c_proj.bias"])
    m, ln_2 = layer_norm_forward(x, p[pre + "ln_2.weight"], p[pre + "ln_2.bias"], eps)
    h = linear_forward(m, p[pre + "mlp.c_fc.weight"], p[pre + "mlp.c_fc.bias"])  # (N, 4C)
    gl, gelu = gelu_forward(h)
    x += linear_forward(gl, p[pre + "mlp.c_proj.weight"], p[pre + "mlp.c_proj.bias"])
    return a, ln_1, attn, y, m, ln_2, gelu, gl


def block_backward(p, g, pre, dx, cache):
    """dx (N, C), the gradient of the block's output, updated in place to its input's."""
    a, ln_1, attn, y, m, ln_2, gelu, gl = cache
    dgl = linear_backward(dx, gl, p[pre + "mlp.c_proj.weight"], g[pre + "mlp.c_proj.weight"],
                          g[pre + "mlp.c_proj.bias"])
    dh = gelu_backward(dgl, gelu)
    dm = linear_backward(dh, m, p[pre + "mlp.c_fc.weight"], g[pre + "mlp.c_fc.weight"],
                         g[pre + "mlp.c_fc.bias"])
    dx += layer_norm_backward(dm, ln_2, p[pre + "ln_2.weight"], g[pre + "ln_2.weight"],
                              g[pre + "ln_2.bias"])
    dy = linear_backward(dx, y, p[pre + "attn.c_proj.weight"], g[pre + "attn.c_proj.weight"],
                         g[pre + "attn.c_proj.bias"])
    dqkv = attention_backward(dy, attn)
    da = linear_backward(dqkv, a, p[pre + "attn.c_attn.weight"], g[pre + "attn.c_attn.weight"],
                         g[pre + "attn.c_attn.bias"])
    dx += layer_norm_backward(da, ln_1, p[pre + "ln_1.weight"], g[pre + "ln_1.weight"],
                              g[pre + "ln_1.bias"])


def gpt_forward(p, cfg, idx, targets):
    """idx, targets (B, T) ints -> (mean loss over the B * T tokens, caches)."""
    B, T = idx.shape
    x = p["wte"][idx.reshape(-1)]  # (N, C)
    x.reshape(B, T, -1)[:] += p["wpe"]  # T == seq_len: every position is used
    blocks = [block_forward(p, f"h.{i}.", x, cfg, B, T) for i in range(cfg["n_layer"])]
    xf, ln_f = layer_norm_forward(x, p["ln_f.weight"], p["ln_f.bias"], cfg["layer_norm_eps"])
    loss, dlogits = cross_entropy(xf @ p["wte"].T, targets.reshape(-1))  # (N, V), tied
    return loss, (idx, blocks, xf, ln_f, dlogits)


def gpt_backward(p, g, cfg, caches):
    """Every parameter's gradient of the mean loss, written into g[name]."""
    idx, blocks, xf, ln_f, dlogits = caches
    B, T = idx.shape
    dx = dlogits @ p["wte"]  # (N, C)
    np.matmul(dlogits.T, xf, out=g["wte"])  # the head's share of the tied gradient
    dx = layer_norm_backward(dx, ln_f, p["ln_f.weight"], g["ln_f.weight"], g["ln_f.bias"])
    for i in reversed(range(cfg["n_layer"])):
        block_backward(p, g, f"h.{i}.", dx, blocks[i])
    np.add.at(g["wte"], idx.reshape(-1), dx)  # the embedding's share
    col_sum(dx.reshape(B, -1), out=g["wpe"].reshape(-1))
