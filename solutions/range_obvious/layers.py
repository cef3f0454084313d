"""The layers of the draft GPT, each a forward/backward pair in NumPy.

    out, cache = thing_forward(inputs...)
    d_inputs... = thing_backward(dout, cache)

The training loop calls them on one sequence at a time, (T, C); all but attention also take
any leading batch shape. The math is the torch GPT's (baseline/model.py, baseline/ops.py); the
backward passes are derived by hand, one intermediate at a time, so each line can be
checked against a numerical gradient.
"""

from __future__ import annotations

import math

import numpy as np

DTYPE = np.float64  # float64 throughout, so a numerical gradient check agrees to 1e-10


# ---------------------------------------------------------------------------- linear

def linear_forward(x, w, b):
    """x (..., D_in), w (D_out, D_in) as torch stores it, b (D_out,) -> (..., D_out)."""
    out = x @ w.T + b
    return out, (x, w)


def linear_backward(dout, cache):
    x, w = cache
    dx = dout @ w  # (..., D_in)
    x2 = x.reshape(-1, x.shape[-1])  # (N, D_in)
    dout2 = dout.reshape(-1, dout.shape[-1])  # (N, D_out)
    dw = dout2.T @ x2  # (D_out, D_in)
    db = np.sum(dout2, axis=0)  # (D_out,)
    return dx, dw, db


# ---------------------------------------------------------------------------- layer norm

def layer_norm_forward(x, gamma, beta, eps):
    """Normalise over the last axis, step by step, keeping every intermediate."""
    C = x.shape[-1]
    mu = np.sum(x, axis=-1, keepdims=True) / C  # (..., 1)
    xmu = x - mu  # (..., C)
    sq = xmu**2  # (..., C)
    var = np.sum(sq, axis=-1, keepdims=True) / C  # (..., 1), biased
    sqrtvar = np.sqrt(var + eps)  # (..., 1)
    ivar = 1.0 / sqrtvar  # (..., 1)
    xhat = xmu * ivar  # (..., C)
    out = gamma * xhat + beta  # (..., C)
    return out, (xhat, gamma, xmu, ivar, sqrtvar, var, eps)


def layer_norm_backward(dout, cache):
    """The forward's graph walked backwards, one node at a time."""
    xhat, gamma, xmu, ivar, sqrtvar, var, eps = cache
    C = xhat.shape[-1]
    dbeta = np.sum(dout.reshape(-1, C), axis=0)  # (C,)
    dgamma = np.sum((dout * xhat).reshape(-1, C), axis=0)  # (C,)
    dxhat = dout * gamma  # (..., C)
    divar = np.sum(dxhat * xmu, axis=-1, keepdims=True)  # (..., 1)
    dxmu1 = dxhat * ivar  # (..., C)
    dsqrtvar = -1.0 / (sqrtvar**2) * divar  # (..., 1)
    dvar = 0.5 * 1.0 / np.sqrt(var + eps) * dsqrtvar  # (..., 1)
    dsq = 1.0 / C * np.ones(xhat.shape, dtype=DTYPE) * dvar  # (..., C)
    dxmu2 = 2 * xmu * dsq  # (..., C)
    dx1 = dxmu1 + dxmu2  # (..., C)
    dmu = -1 * np.sum(dx1, axis=-1, keepdims=True)  # (..., 1)
    dx2 = 1.0 / C * np.ones(xhat.shape, dtype=DTYPE) * dmu  # (..., C)
    dx = dx1 + dx2  # (..., C)
    return dx, dgamma, dbeta


# ---------------------------------------------------------------------------- GELU (tanh)

def gelu_forward(x):
    out = 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x * x * x)))
    return out, x


def gelu_backward(dout, x):
    """d/dx of 0.5 x (1 + tanh(u)), u = sqrt(2/pi) (x + 0.044715 x^3); tanh recomputed."""
    u = math.sqrt(2 / math.pi) * (x + 0.044715 * x * x * x)
    t = np.tanh(u)
    du = math.sqrt(2 / math.pi) * (1 + 3 * 0.044715 * x**2)
    dgelu = 0.5 * (1 + t) + 0.5 * x * (1 - t**2) * du
    return dout * dgelu


# ---------------------------------------------------------------------------- attention

def softmax(x):
    """Over the last axis: subtract the row max, exponentiate, normalise."""
    e = np.exp(x - np.max(x, axis=-1, keepdims=True))
    return e / np.sum(e, axis=-1, keepdims=True)


def split_heads(x, n_head):
    """(T, C) -> (H, T, hd)."""
    T, C = x.shape
    return x.reshape(T, n_head, C // n_head).transpose(1, 0, 2)


def merge_heads(x):
    """(H, T, hd) -> (T, C)."""
    H, T, hd = x.shape
    return x.transpose(1, 0, 2).reshape(T, H * hd)


def attention_forward(qkv, n_head):
    """Causal self-attention for one sequence, every head and query at once through (T, T)
    score matrices whose keys after the query are masked out. qkv (T, 3C) -> (T, C)."""
    T, C = qkv.shape[0], qkv.shape[1] // 3
    hd = C // n_head
    q, k, v = (split_heads(qkv[:, i * C : (i + 1) * C], n_head) for i in range(3))  # (H, T, hd)
    causal = np.tril(np.ones((T, T), dtype=bool))  # (T, T): query t sees keys 0..t
    scores = np.where(causal, q @ k.transpose(0, 2, 1) / math.sqrt(hd), -np.inf)  # (H, T, T)
    probs = softmax(scores)  # (H, T, T), zero above the diagonal
    y = merge_heads(probs @ v)  # (T, C)
    return y, (q, k, v, probs)


def attention_backward(dy, cache):
    """dy (T, C) -> dqkv (T, 3C), every head's softmax Jacobian at once."""
    q, k, v, probs = cache
    hd = q.shape[-1]
    dy = split_heads(dy, q.shape[0])  # (H, T, hd)
    dv = probs.transpose(0, 2, 1) @ dy  # (H, T, hd)
    dprobs = dy @ v.transpose(0, 2, 1)  # (H, T, T)
    dscores = probs * (dprobs - np.sum(probs * dprobs, axis=-1, keepdims=True)) / math.sqrt(hd)
    dq = dscores @ k  # (H, T, hd)
    dk = dscores.transpose(0, 2, 1) @ q  # (H, T, hd)
    return np.concatenate([merge_heads(dq), merge_heads(dk), merge_heads(dv)], axis=1)


# ---------------------------------------------------------------------------- loss

def cross_entropy(logits, targets):
    """Mean negative log-likelihood of `targets` and its gradient, through one-hot rows.
    logits (..., V), targets (...) ints -> (loss, dlogits)."""
    V = logits.shape[-1]
    probs = softmax(logits)  # (..., V)
    one_hot = np.eye(V, dtype=DTYPE)[targets]  # (..., V)
    n = targets.size
    loss = -np.sum(one_hot * np.log(probs)) / n
    dlogits = (probs - one_hot) / n  # (..., V)
    return loss, dlogits


# ---------------------------------------------------------------------------- embeddings

def embedding_forward(idx, wte, wpe):
    """Token plus position embeddings: idx (..., T) -> (..., T, C)."""
    T = idx.shape[-1]
    return wte[idx] + wpe[:T], idx


def embedding_backward(dx, idx, vocab_size):
    """dx (..., T, C) -> (dwte (V, C), dwpe (T, C)): each row of dx added to its token's row."""
    T, C = dx.shape[-2], dx.shape[-1]
    dwte = np.zeros((vocab_size, C), dtype=DTYPE)
    np.add.at(dwte, idx, dx)
    dwpe = np.sum(dx.reshape(-1, T, C), axis=0)  # (T, C)
    return dwte, dwpe
