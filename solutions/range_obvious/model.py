"""The GPT of baseline/model.py in NumPy: pre-LN blocks, learned positions, tied embeddings,
GELU MLP, no dropout, with its backward pass written out.

    loss, caches = gpt_forward(params, cfg, idx, targets)
    grads = gpt_backward(params, cfg, caches)

`params` maps the canonical parameter names (baseline.param_shapes) to float64 arrays;
`grads` has the same names and shapes.
"""

from __future__ import annotations

from .layers import (
    attention_backward,
    attention_forward,
    cross_entropy,
    embedding_backward,
    embedding_forward,
    gelu_backward,
    gelu_forward,
    layer_norm_backward,
    layer_norm_forward,
    linear_backward,
    linear_forward,
)

# ---------------------------------------------------------------------------- forward

def block_forward(p, prefix, x, cfg):
    """x + attn(ln_1(x)), then + mlp(ln_2(x)). x (..., T, C)."""
    eps = cfg["layer_norm_eps"]
    cache = {}
    a, cache["ln_1"] = layer_norm_forward(x, p[prefix + "ln_1.weight"],
                                          p[prefix + "ln_1.bias"], eps)
    qkv, cache["c_attn"] = linear_forward(a, p[prefix + "attn.c_attn.weight"],
                                          p[prefix + "attn.c_attn.bias"])  # (..., T, 3C)
    y, cache["attn"] = attention_forward(qkv, cfg["n_head"])  # (..., T, C)
    y, cache["attn_proj"] = linear_forward(y, p[prefix + "attn.c_proj.weight"],
                                           p[prefix + "attn.c_proj.bias"])
    x = x + y
    m, cache["ln_2"] = layer_norm_forward(x, p[prefix + "ln_2.weight"],
                                          p[prefix + "ln_2.bias"], eps)
    h, cache["c_fc"] = linear_forward(m, p[prefix + "mlp.c_fc.weight"],
                                      p[prefix + "mlp.c_fc.bias"])  # (..., T, 4C)
    h, cache["gelu"] = gelu_forward(h)
    h, cache["mlp_proj"] = linear_forward(h, p[prefix + "mlp.c_proj.weight"],
                                          p[prefix + "mlp.c_proj.bias"])  # (..., T, C)
    x = x + h
    return x, cache


def gpt_forward(p, cfg, idx, targets):
    """idx, targets (..., T) ints -> (mean loss over every token, caches for the backward)."""
    caches = {}
    x, caches["embed"] = embedding_forward(idx, p["wte"], p["wpe"])  # (..., T, C)
    for i in range(cfg["n_layer"]):
        x, caches[i] = block_forward(p, f"h.{i}.", x, cfg)
    x, caches["ln_f"] = layer_norm_forward(x, p["ln_f.weight"], p["ln_f.bias"],
                                           cfg["layer_norm_eps"])
    logits = x @ p["wte"].T  # (..., T, V), tied embeddings
    loss, caches["dlogits"] = cross_entropy(logits, targets)
    caches["x_f"] = x
    return loss, caches


# ---------------------------------------------------------------------------- backward

def block_backward(p, prefix, dx, cache, grads):
    """The gradient of block_forward's output dx (..., T, C) -> its input's; the block's
    parameter gradients go into `grads`."""
    dh, grads[prefix + "mlp.c_proj.weight"], grads[prefix + "mlp.c_proj.bias"] = \
        linear_backward(dx, cache["mlp_proj"])
    dh = gelu_backward(dh, cache["gelu"])
    dm, grads[prefix + "mlp.c_fc.weight"], grads[prefix + "mlp.c_fc.bias"] = \
        linear_backward(dh, cache["c_fc"])
    dx2, grads[prefix + "ln_2.weight"], grads[prefix + "ln_2.bias"] = \
        layer_norm_backward(dm, cache["ln_2"])
    dx = dx + dx2  # the residual branch and the MLP branch
    dy, grads[prefix + "attn.c_proj.weight"], grads[prefix + "attn.c_proj.bias"] = \
        linear_backward(dx, cache["attn_proj"])
    dqkv = attention_backward(dy, cache["attn"])  # (..., T, 3C)
    da, grads[prefix + "attn.c_attn.weight"], grads[prefix + "attn.c_attn.bias"] = \
        linear_backward(dqkv, cache["c_attn"])
    dx1, grads[prefix + "ln_1.weight"], grads[prefix + "ln_1.bias"] = \
        layer_norm_backward(da, cache["ln_1"])
    return dx + dx1


def gpt_backward(p, cfg, caches):
    """Every parameter's gradient of the mean loss, by name."""
    grads = {}
    dlogits = caches["dlogits"]  # (..., T, V)
    x_f = caches["x_f"]  # (..., T, C)
    V, C = p["wte"].shape
    dx = dlogits @ p["wte"]  # (..., T, C)
    dwte_head = dlogits.reshape(-1, V).T @ x_f.reshape(-1, C)  # (V, C)
    dx, grads["ln_f.weight"], grads["ln_f.bias"] = layer_norm_backward(dx, caches["ln_f"])
    for i in reversed(range(cfg["n_layer"])):
        dx = block_backward(p, f"h.{i}.", dx, caches[i], grads)
    dwte_embed, grads["wpe"] = embedding_backward(dx, caches["embed"], V)
    grads["wte"] = dwte_head + dwte_embed  # tied: the head's use and the embedding's
    return grads
