"""A shape measurement at made-up rates (a fake throughput table), and its step time summed
by hand from the model's dimensions, for the headroom and leaderboard tests."""

from __future__ import annotations

from bench import shape_ceiling, step_cost

DEVICE = "AMD EPYC"
LINEAR_RATE, ATTENTION_RATE, COPY_RATE = 4e10, 1e10, 2e10  # the fake table


def fake_entry(cfg: dict, preset: str = "tiny", scale: float = 1.0, date: str = "2026-01-02",
               device: str = DEVICE) -> dict:
    """A shape measurement as bench.shape_ceiling writes it, at made-up rates: linear
    layers at LINEAR_RATE, attention's batched products at ATTENTION_RATE, times `scale`."""
    matmuls = [{"name": m.name, "m": m.m, "n": m.n, "k": m.k, "batch": m.batch,
                "count": m.count,
                "flops_per_s": scale * (ATTENTION_RATE if m.batch > 1 else LINEAR_RATE)}
               for m in step_cost.step_matmuls(cfg)]
    entry = {"kind": shape_ceiling.KIND, "preset": preset, "device": device, "date": date,
             "torch": "test", "flops_per_step": step_cost.flops_per_step(cfg),
             "step_bytes": step_cost.min_bytes_per_step(cfg), "bytes_per_s": scale * COPY_RATE,
             "matmuls": matmuls}
    return {**entry, "seconds_per_step": shape_ceiling.step_seconds(entry)}


def by_hand(cfg: dict, scale: float = 1.0) -> float:
    """The fake table's step time, summed here from the model's dimensions."""
    B, T, d, L, V = (cfg[k] for k in ("batch_size", "seq_len", "d_model", "n_layer",
                                      "vocab_size"))
    linear = 3 * 2 * B * T * (L * 12 * d * d + d * V)  # forward + 2 backward products
    attention = 3 * 2 * B * T * L * 2 * T * d
    return (linear / LINEAR_RATE + attention / ATTENTION_RATE
            + step_cost.min_bytes_per_step(cfg) / COPY_RATE) / scale
