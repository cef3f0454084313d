"""Sizing the range track: per-step times of the NumPy draft (baseline/draft), of the draft
with one waste fixed at a time (the ablation), of a vectorised torch float32 step, and
the shape-aware ceiling (each matmul of a fused float32 step at the throughput this machine
measures for its shape, plus the step's minimum bytes at copy bandwidth).

    OPENBLAS_NUM_THREADS=1 PYTHONPATH=. python bench/range_design.py ablation SHAPES OUT
    PYTHONPATH=. python bench/range_design.py speeds SHAPES OUT

SHAPES is a JSON list of objects, each overriding fields of the `range` preset ([{}]: the
preset itself). Trusted, in-process code (sizing measurements, never records). Every
timing carries the load average beside it; `speeds` waits for a quiet window before each
repetition (other engineers share the machine) and records how idle it was.
"""

from __future__ import annotations

import json
import math
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

import baseline
from baseline.draft import layers, model, train
from bench.step_cost import min_bytes_per_step
from correctness.trusted import import_solution

ROOT = Path(__file__).resolve().parents[1]


# ---------------------------------------------------------------------------- fixes

def attention_matrices(qkv, n_head):
    """Per-head (T, T) scores with a causal mask: the per-query loop fixed."""
    T, C = qkv.shape[-2], qkv.shape[-1] // 3
    hd = C // n_head
    q, k, v = (qkv[..., i * C : (i + 1) * C] for i in range(3))
    mask = np.tril(np.ones((T, T), dtype=bool))
    y, probs = np.empty(q.shape, q.dtype), []
    for h in range(n_head):
        sl = slice(h * hd, (h + 1) * hd)
        s = np.where(mask, q[..., sl] @ np.swapaxes(k[..., sl], -1, -2) / math.sqrt(hd), -np.inf)
        p = layers.softmax(s)
        y[..., sl] = p @ v[..., sl]
        probs.append(p)
    return y, (q, k, v, probs, n_head)


def attention_matrices_backward(dy, cache):
    q, k, v, probs, n_head = cache
    hd = q.shape[-1] // n_head
    dq, dk, dv = np.empty_like(q), np.empty_like(k), np.empty_like(v)
    for h, p in enumerate(probs):
        sl = slice(h * hd, (h + 1) * hd)
        dv[..., sl] = np.swapaxes(p, -1, -2) @ dy[..., sl]
        dp = dy[..., sl] @ np.swapaxes(v[..., sl], -1, -2)
        ds = p * (dp - np.sum(dp * p, axis=-1, keepdims=True)) / math.sqrt(hd)
        dq[..., sl] = ds @ k[..., sl]
        dk[..., sl] = np.swapaxes(ds, -1, -2) @ q[..., sl]
    return np.concatenate([dq, dk, dv], axis=-1)


def gelu_cubed(x):
    return 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x * x * x))), x


def gelu_cubed_backward(dout, x):
    t = np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x * x * x))
    du = math.sqrt(2 / math.pi) * (1 + 3 * 0.044715 * x * x)
    return dout * (0.5 * (1 + t) + 0.5 * x * (1 - t * t) * du)


def cross_entropy_gather(logits, targets):
    probs = layers.softmax(logits)
    rows = np.arange(targets.size)
    flat = probs.reshape(-1, probs.shape[-1])
    loss = -np.mean(np.log(flat[rows, targets.reshape(-1)]))
    flat[rows, targets.reshape(-1)] -= 1
    return loss, probs / targets.size


def embedding_backward_sorted(dx, idx, vocab_size):
    C = dx.shape[-1]
    flat, rows = idx.reshape(-1), dx.reshape(-1, C)
    dwte = np.zeros((vocab_size, C), dtype=dx.dtype)
    for c in range(C):  # bincount per column: no unbuffered ufunc.at
        dwte[:, c] = np.bincount(flat, weights=rows[:, c], minlength=vocab_size)
    return dwte, np.sum(dx.reshape(-1, dx.shape[-2], C), axis=0)


def adamw_inplace(p, g, m, v, step, lr, cfg, weight_decay):
    b1, b2 = cfg["beta1"], cfg["beta2"]
    p *= 1 - lr * weight_decay
    m *= b1
    m += (1 - b1) * g
    v *= b2
    v += (1 - b2) * g * g
    denom = np.sqrt(v / (1 - b2**step))
    denom += cfg["eps"]
    p -= (lr / (1 - b1**step)) * m / denom
    return p, m, v


def layer_norm_compact_backward(dout, cache):
    xhat, gamma, xmu, ivar, sqrtvar, var, eps = cache
    C = xhat.shape[-1]
    dxhat = dout * gamma
    dx = ivar * (dxhat - dxhat.mean(-1, keepdims=True)
                 - xhat * (dxhat * xhat).mean(-1, keepdims=True))
    return dx, (dout * xhat).reshape(-1, C).sum(0), dout.reshape(-1, C).sum(0)


def batched_step(params, cfg, tokens, starts):
    """The whole batch in one forward/backward (attention still per sequence, unless the
    attention fix is applied too)."""
    T = cfg["seq_len"]
    window = np.arange(T + 1)
    chunk = tokens[np.asarray(starts)[:, None] + window]  # (B, T+1)
    loss, caches = model.gpt_forward(params, cfg, chunk[:, :-1], chunk[:, 1:])
    return loss, model.gpt_backward(params, cfg, caches)


def per_sequence_attention(forward, backward):
    """Attention that loops over a leading batch axis, for the batched step."""
    def fwd(qkv, n_head):
        if qkv.ndim == 2:
            return forward(qkv, n_head)
        outs = [forward(s, n_head) for s in qkv]
        return np.stack([o[0] for o in outs]), [o[1] for o in outs]

    def bwd(dy, cache):
        if dy.ndim == 2:
            return backward(dy, cache)
        return np.stack([backward(d, c) for d, c in zip(dy, cache)])
    return fwd, bwd


# the ablation: name -> {(module, attribute): replacement}
FIXES = {
    "attention per query -> per-head (T, T) matrices": {
        (model, "attention_forward"): attention_matrices,
        (model, "attention_backward"): attention_matrices_backward},
    "GELU x**3 (libm pow) -> x*x*x": {
        (model, "gelu_forward"): gelu_cubed, (model, "gelu_backward"): gelu_cubed_backward},
    "one-hot cross-entropy -> gather": {(model, "cross_entropy"): cross_entropy_gather},
    "np.add.at embedding gradient -> bincount": {
        (model, "embedding_backward"): embedding_backward_sorted},
    "layer-norm backward node by node -> closed form": {
        (model, "layer_norm_backward"): layer_norm_compact_backward},
    "AdamW temporaries -> in place": {(train, "adamw"): adamw_inplace},
    "one sequence at a time -> whole batch": {(train, "batch_loss_and_grads"): batched_step},
    "float64 -> float32": {(layers, "DTYPE"): np.float32, (train, "DTYPE"): np.float32},
}


def patched(names: list[str]) -> dict:
    """The replacements of the named fixes, the batched step's attention made per sequence
    unless the attention fix is among them."""
    table = {}
    for name in names:
        table.update(FIXES[name])
    if (train, "batch_loss_and_grads") in table:
        fwd = table.get((model, "attention_forward"), layers.attention_forward)
        bwd = table.get((model, "attention_backward"), layers.attention_backward)
        if fwd is layers.attention_forward:
            fwd, bwd = per_sequence_attention(fwd, bwd)
        table[(model, "attention_forward")], table[(model, "attention_backward")] = fwd, bwd
    return table


class applied:
    """Context manager: the draft with the named fixes swapped in, restored on exit."""

    def __init__(self, names: list[str]):
        self.table = patched(names)

    def __enter__(self):
        self.saved = {key: getattr(*key) for key in self.table}
        for (module, attr), value in self.table.items():
            setattr(module, attr, value)

    def __exit__(self, *exc):
        for (module, attr), value in self.saved.items():
            setattr(module, attr, value)


# ---------------------------------------------------------------------------- timing

def idle_share(seconds: float) -> float:
    """The share of the machine's CPU time that was idle over the next `seconds`."""
    def read() -> tuple[int, int]:
        with open("/proc/stat") as f:
            fields = [int(x) for x in f.readline().split()[1:]]
        return fields[3] + fields[4], sum(fields)

    idle0, total0 = read()
    time.sleep(seconds)
    idle1, total1 = read()
    return (idle1 - idle0) / max(1, total1 - total0)


def wait_quiet(min_idle: float = 0.95, window: float = 2.0, patience: float = 900.0) -> float:
    """Wait for a `window` in which the CPUs were at least `min_idle` idle (other engineers
    share this machine); the idle share of the last window (below min_idle: gave up)."""
    deadline = time.monotonic() + patience
    share = idle_share(window)
    while share < min_idle and time.monotonic() < deadline:
        share = idle_share(window)
    return round(share, 3)


def timed(fn, steps: int, repeats: int, quiet: bool = False) -> dict:
    """Per-step process CPU and wall seconds of `fn` (which trains `steps` steps), min and
    median over `repeats` after one untimed call, with the 1-minute load average and, when
    `quiet`, the idle share of the window each repetition waited for."""
    fn()
    cpu, wall, load, idle = [], [], [], []
    for _ in range(repeats):
        if quiet:
            idle.append(wait_quiet())
        c, w = time.process_time(), time.perf_counter()
        fn()
        cpu.append((time.process_time() - c) / steps)
        wall.append((time.perf_counter() - w) / steps)
        load.append(round(os.getloadavg()[0], 2))
    return {"cpu_s": {"min": min(cpu), "median": statistics.median(cpu)},
            "wall_s": {"min": min(wall), "median": statistics.median(wall)}, "load": load,
            **({"idle_before": idle} if quiet else {})}


def draft_step(cfg: dict, inputs: dict, fixes: list[str], steps: int, repeats: int,
               quiet: bool = False) -> dict:
    with applied(fixes):
        dtype = layers.DTYPE
        init = {n: w.numpy().astype(dtype) for n, w in inputs["init"].items()}
        tokens, batches = inputs["tokens"].numpy(), inputs["batches"].numpy()
        run_cfg = {**cfg, "steps": steps}
        return timed(lambda: train.train_numpy(run_cfg, dict(init), tokens, batches),
                     steps, repeats, quiet)


def torch_step(cfg: dict, inputs: dict, steps: int, repeats: int) -> dict:
    """solutions/cpu_expert: a vectorised float32 torch step (fused AdamW, SDPA)."""
    expert = import_solution(ROOT / "solutions" / "cpu_expert", "range_design_cpu_expert")
    run_cfg = {**cfg, "steps": steps}
    return timed(lambda: expert.train(run_cfg, inputs["init"], inputs["tokens"],
                                      inputs["batches"][:steps]), steps, repeats, quiet=True)


def torch_baseline_step(cfg: dict, inputs: dict, steps: int, repeats: int) -> dict:
    """baseline.train: the issue's option (a), the torch first draft at these shapes."""
    run_cfg = {**cfg, "steps": steps}
    return timed(lambda: baseline.train(run_cfg, inputs["init"], inputs["tokens"],
                                        inputs["batches"][:steps]), steps, repeats, quiet=True)


# ---------------------------------------------------------------------------- ceiling

def step_matmuls(cfg: dict) -> list[tuple[tuple[int, ...], int, float]]:
    """(shape, count per step, share) of every matmul of a batched float32 step: (M, K, N)
    for mm, (G, M, K, N) for bmm; attention's at share 0.5 (a causal kernel skips the
    masked half) or 1.5 (three backward products of that shape, each half)."""
    B, T, C = cfg["batch_size"], cfg["seq_len"], cfg["d_model"]
    H, V, L = cfg["n_head"], cfg["vocab_size"], cfg["n_layer"]
    N, hd, G = B * T, C // H, B * H
    out = []
    for d_in, d_out in ((C, 3 * C), (C, C), (C, 4 * C), (4 * C, C)):
        out += [((N, d_in, d_out), L, 1.0), ((N, d_out, d_in), L, 1.0),
                ((d_out, N, d_in), L, 1.0)]  # forward, input gradient, weight gradient
    out += [((G, T, hd, T), L, 0.5), ((G, T, T, hd), L, 0.5),  # q k^T, p v
            ((G, T, hd, T), L, 0.5), ((G, T, T, hd), L, 1.5)]  # dp; dv, dq, dk
    out += [((N, C, V), 1, 1.0), ((N, V, C), 1, 1.0), ((V, N, C), 1, 1.0)]  # tied head
    return out


def matmul_seconds(shape: tuple[int, ...], repeats: int = 7, calls: int = 20) -> float:
    """Best seconds per call of torch.mm / torch.bmm at `shape`, float32."""
    if len(shape) == 3:
        M, K, N = shape
        a, b = torch.randn(M, K), torch.randn(K, N)
        fn = torch.mm
    else:
        G, M, K, N = shape
        a, b = torch.randn(G, M, K), torch.randn(G, K, N)
        fn = torch.bmm
    for _ in range(3):
        fn(a, b)
    best = math.inf
    for _ in range(repeats):
        t = time.perf_counter()
        for _ in range(calls):
            fn(a, b)
        best = min(best, (time.perf_counter() - t) / calls)
    return best


def copy_bytes_per_s(nbytes: int = 1 << 28, repeats: int = 5) -> float:
    src = torch.empty(nbytes // 4).uniform_()
    dst = torch.empty_like(src)
    dst.copy_(src)
    best = math.inf
    for _ in range(repeats):
        t = time.perf_counter()
        dst.copy_(src)
        best = min(best, time.perf_counter() - t)
    return 2 * nbytes / best


def ceiling(cfg: dict, bytes_per_s: float) -> dict:
    rows, matmul_s = [], 0.0
    for shape, count, share in step_matmuls(cfg):
        s = matmul_seconds(shape)
        matmul_s += s * count * share
        rows.append({"shape": shape, "count": count, "share": share, "s": s,
                     "gflop_per_s": 2 * math.prod(shape) / s / 1e9})
    bytes_s = min_bytes_per_step(cfg) / bytes_per_s
    # the same with the masked half of attention computed (as bench.step_cost counts it)
    full_s = sum(r["s"] * r["count"] * max(1.0, 2 * r["share"]) if len(r["shape"]) == 4
                 else r["s"] * r["count"] for r in rows) + bytes_s
    return {"step_s": matmul_s + bytes_s, "matmul_s": matmul_s, "bytes_s": bytes_s,
            "step_s_full_attention": full_s,
            "min_bytes": min_bytes_per_step(cfg), "matmuls": rows,
            "load": round(os.getloadavg()[0], 2)}


# ---------------------------------------------------------------------------- the report

def ablation(cfg: dict, inputs: dict, steps: int = 3, repeats: int = 5) -> dict:
    """The draft's process CPU time with each fix alone, then cumulatively in the order of
    the single factors, largest first (an engineer fixing the biggest waste first). Run
    with OPENBLAS_NUM_THREADS=1: CPU time is then what contention disturbs least."""
    draft = draft_step(cfg, inputs, [], steps, repeats)
    base = draft["cpu_s"]["min"]
    single = {name: draft_step(cfg, inputs, [name], steps, repeats) for name in FIXES}
    factor = {name: base / r["cpu_s"]["min"] for name, r in single.items()}
    ladder, so_far = [], []
    for name in sorted(FIXES, key=lambda name: -factor[name]):
        so_far.append(name)
        r = draft_step(cfg, inputs, so_far, steps, repeats)
        ladder.append({"fixed": name, **r, "factor_vs_draft": base / r["cpu_s"]["min"]})
    return {"draft": draft, "single_fix_factor": factor, "single_fix": single,
            "cumulative": ladder}


def speeds(cfg: dict, inputs: dict, steps: int = 2, repeats: int = 3) -> dict:
    """Per-step times as a user runs each (default threads, each repetition after a quiet
    window): the draft, the torch baseline, a vectorised torch float32 step, and the
    shape-aware ceiling."""
    draft = draft_step(cfg, inputs, [], steps, repeats, quiet=True)
    fast = torch_step(cfg, inputs, 4 * steps, repeats)
    torch_draft = torch_baseline_step(cfg, inputs, 4 * steps, repeats)
    wait_quiet()
    roof = ceiling(cfg, copy_bytes_per_s())
    return {"draft": draft, "torch_float32": fast, "torch_baseline": torch_draft,
            "ceiling": roof, "draft_over_ceiling": draft["wall_s"]["min"] / roof["step_s"],
            "draft_over_torch_float32": draft["wall_s"]["min"] / fast["wall_s"]["min"],
            "torch_baseline_over_ceiling": torch_draft["wall_s"]["min"] / roof["step_s"]}


def main(argv: list[str]) -> None:
    """argv: `ablation` or `speeds`, a JSON list of preset overrides, the output file."""
    part, overs, out = argv[0], json.loads(argv[1]), Path(argv[2])
    measure = {"ablation": ablation, "speeds": speeds}[part]
    env = {k: os.environ.get(k) for k in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS")}
    rows = []
    for over in overs:
        cfg = {**baseline.get_preset("range").to_cfg("cpu"), **over}
        inputs = baseline.make_inputs({**cfg, "steps": 8}, seed=1)
        rows.append({"over": over, **measure(cfg, inputs)})
        out.write_text(json.dumps({"part": part, "env": env, "numpy": np.__version__,
                                   "torch": torch.__version__,
                                   "torch_threads": torch.get_num_threads(),
                                   "rows": rows}, indent=1))
        print(json.dumps({"over": over, "load": os.getloadavg()[0]}), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
