"""EXPLOIT: wrong shapes: returns a weight transposed (as a layout-changing rewrite might
forget to undo).
Caught by: the results check (results)."""

from baseline.train import train as reference_train


def train(cfg, init, tokens, batches):
    result = reference_train(cfg, init, tokens, batches)
    w = result["state_dict"]["h.0.attn.c_attn.weight"]
    result["state_dict"]["h.0.attn.c_attn.weight"] = w.t().contiguous()
    return result
