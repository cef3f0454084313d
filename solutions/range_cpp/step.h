// One half-batch's forward and backward: the GPT of baseline/draft/model.py (pre-LN blocks,
// learned positions, tied embeddings, GELU MLP) on the M = MICRO * T tokens of a micro-batch
// at once, each linear layer one product with its bias (and residual) folded into the
// product's start and GELU into its end.
#pragma once

#include <array>
#include <cstring>
#include <string>

#include "attention.h"
#include "profile.h"
#include "train.h"

// Tokens per block of the head (a block's logits: 64 x 256 floats, 64 KB, within L2).
constexpr int HEAD_ROWS = 64;
// Sequences per micro-batch: 2 (128 tokens, about 0.8 MB of activations: within a core's
// 1 MB L2) was the fastest of 1, 2, 4 and 8 (README.md: the measurements).
#ifndef RANGE_MICRO
#define RANGE_MICRO 2
#endif
constexpr int MICRO = RANGE_MICRO;

struct BlockW {
  float *ln1w, *ln1b, *qkvw, *qkvb, *projw, *projb, *ln2w, *ln2b, *fcw, *fcb, *mprojw, *mprojb;
};

// Pointers to every parameter (or gradient) in a flat buffer laid out as layout() says.
struct Weights {
  float *wte, *wpe, *lnfw, *lnfb;
  std::vector<BlockW> h;
};

// Lays the parameters out from `base` (null: offsets only) and lists them in `slots`.
inline Weights bind(float* base, const Config& c, std::vector<Slot>* slots) {
  Weights w{};
  w.h.resize(c.L);
  long at = 0;
  auto take = [&](float*& dst, const std::string& name, long size, bool decays) {
    dst = base == nullptr ? nullptr : base + at;
    if (slots != nullptr) slots->push_back({name, at, size, decays});
    at += size;
  };
  const long C = c.C;
  take(w.wte, "wte", c.vocab * C, true);
  take(w.wpe, "wpe", c.T * C, true);
  for (int l = 0; l < c.L; ++l) {
    const std::string p = "h." + std::to_string(l) + ".";
    BlockW& b = w.h[l];
    take(b.qkvw, p + "attn.c_attn.weight", 3 * C * C, true);
    take(b.projw, p + "attn.c_proj.weight", C * C, true);
    take(b.fcw, p + "mlp.c_fc.weight", 4 * C * C, true);
    take(b.mprojw, p + "mlp.c_proj.weight", 4 * C * C, true);
  }
  for (int l = 0; l < c.L; ++l) {
    const std::string p = "h." + std::to_string(l) + ".";
    BlockW& b = w.h[l];
    take(b.ln1w, p + "ln_1.weight", C, false);
    take(b.ln1b, p + "ln_1.bias", C, false);
    take(b.qkvb, p + "attn.c_attn.bias", 3 * C, false);
    take(b.projb, p + "attn.c_proj.bias", C, false);
    take(b.ln2w, p + "ln_2.weight", C, false);
    take(b.ln2b, p + "ln_2.bias", C, false);
    take(b.fcb, p + "mlp.c_fc.bias", 4 * C, false);
    take(b.mprojb, p + "mlp.c_proj.bias", C, false);
  }
  take(w.lnfw, "ln_f.weight", C, false);
  take(w.lnfb, "ln_f.bias", C, false);
  return w;
}

// W^T of every matrix the forward multiplies by (a forward product reads B row by row),
// refreshed after each update, one matrix per job.
struct Transposed {
  std::vector<std::array<float*, 4>> h;  // c_attn (C, 3C), c_proj (C, C), fc (C, 4C), proj (4C, C)
  float* wte;                            // (C, V)

  template <class Take>
  static Transposed make(const Config& c, Take take) {
    Transposed t;
    const long C = c.C;
    for (int l = 0; l < c.L; ++l)
      t.h.push_back({take(3 * C * C), take(C * C), take(4 * C * C), take(4 * C * C)});
    t.wte = take(c.vocab * C);
    return t;
  }

  int jobs(const Config& c) const { return 4 * c.L + 1; }

  void refresh(int job, const Config& c, const Weights& w) const {
    const int C = c.C;
    if (job == 4 * c.L) return transpose(w.wte, c.vocab, C, C, wte, c.vocab);
    const BlockW& b = w.h[job / 4];
    float* dst = h[job / 4][job % 4];
    switch (job % 4) {
      case 0: return transpose(b.qkvw, 3 * C, C, C, dst, 3 * C);
      case 1: return transpose(b.projw, C, C, C, dst, C);
      case 2: return transpose(b.fcw, 4 * C, C, C, dst, 4 * C);
      default: return transpose(b.mprojw, C, 4 * C, 4 * C, dst, C);
    }
  }
};

// What one layer's forward keeps for its backward.
struct LayerActs {
  float *a, *mean1, *rstd1;  // ln_1 output and statistics
  float *qkv, *P, *y;        // c_attn output, attention probabilities, attention output
  float *mid;                // residual stream after attention
  float *m, *mean2, *rstd2;  // ln_2
  float *g, *dgelu;          // GELU of the c_fc output, and GELU's derivative there
};

// One half of the batch, run MICRO sequences at a time (gradients summed over them), so the
// activations a backward reads are those its forward wrote a moment before.
struct Half {
  int seq0 = 0, nseq = 0;  // the half's sequences in the batch
  int micro = 0;           // sequences per micro-batch
  int cur = 0, M = 0;      // sequences and tokens in the current micro-batch
  std::vector<float*> res;  // residual stream entering block l (l = L: entering ln_f)
  std::vector<LayerActs> acts;
  float *xf, *meanf, *rstdf, *logits;  // logits: a block's (HEAD_ROWS, V), then its gradient
  float *dres, *dtmp, *dqkv, *dbig, *tr, *dt;  // gradients and attention scratch
  std::vector<int32_t> x, y;                   // input and target ids
  float* grad_flat = nullptr;
  long n_params = 0;
  Weights grad{};
  double loss = 0.0;  // sum over its tokens

  template <class Take>
  static Half make(const Config& c, int seq0, int nseq, Take take) {
    Half h;
    h.seq0 = seq0, h.nseq = nseq, h.micro = std::min(nseq, MICRO);
    const long C = c.C, T = c.T, M = long(h.micro) * T;
    for (int l = 0; l <= c.L; ++l) h.res.push_back(take(M * C));
    for (int l = 0; l < c.L; ++l)
      h.acts.push_back({take(M * C), take(M), take(M), take(3 * M * C),
                        take(long(h.micro) * c.H * T * T), take(M * C), take(M * C),
                        take(M * C), take(M), take(M), take(4 * M * C), take(4 * M * C)});
    h.xf = take(M * C), h.meanf = take(M), h.rstdf = take(M);
    h.logits = take(long(HEAD_ROWS) * c.vocab);
    h.dres = take(M * C), h.dtmp = take(M * C), h.dqkv = take(3 * M * C);
    h.dbig = take(4 * M * C), h.tr = take(C * T), h.dt = take(T * T);
    h.x.resize(M), h.y.resize(M);
    h.n_params = layout(c).back().offset + layout(c).back().size;
    h.grad = bind(h.grad_flat = take(h.n_params), c, nullptr);
    return h;
  }

  // The half's loss (summed over its tokens) and gradients for the batch at `starts`.
  void run(const Config& c, const Weights& w, const Transposed& wt, const int64_t* tokens,
           const int64_t* starts, Laps& laps) {
    std::memset(grad_flat, 0, sizeof(float) * n_params);
    loss = 0.0;
    for (int s0 = 0; s0 < nseq; s0 += micro) {
      cur = std::min(micro, nseq - s0), M = cur * c.T;
      for (int s = 0; s < cur; ++s)
        for (int t = 0; t < c.T; ++t) {
          const int64_t* at = tokens + starts[seq0 + s0 + s] + t;
          x[s * c.T + t] = int32_t(at[0]);
          y[s * c.T + t] = int32_t(at[1]);
        }
      forward(c, w, wt, laps);
      head(c, w, wt, laps);
      backward(c, w, laps);
    }
  }

  void forward(const Config& c, const Weights& w, const Transposed& wt, Laps& laps) {
    const int C = c.C, T = c.T, H = c.H;
    for (int n = 0; n < M; ++n)
      axpy_row(res[0] + long(n) * C, w.wte + long(x[n]) * C, 1.0f, w.wpe + long(n % T) * C, C);
    laps.lap(EMBED);
    for (int l = 0; l < c.L; ++l) {
      const BlockW& b = w.h[l];
      const LayerActs& A = acts[l];
      layer_norm_forward(res[l], b.ln1w, b.ln1b, M, C, c.ln_eps, A.a, A.mean1, A.rstd1);
      laps.lap(LN);
      gemm(M, 3 * C, C, View{A.a, C, 1}, wt.h[l][0], 3 * C, A.qkv, 3 * C, {nullptr, 0, b.qkvb});
      laps.lap(LINEAR_FWD);
      for (int s = 0; s < cur; ++s)
        attention_forward(A.qkv + 3L * s * T * C, T, C, H, A.P + long(s) * H * T * T,
                          A.y + long(s) * T * C, tr);
      laps.lap(ATTN_FWD);
      gemm(M, C, C, View{A.y, C, 1}, wt.h[l][1], C, A.mid, C, {res[l], C, b.projb});
      laps.lap(LINEAR_FWD);
      layer_norm_forward(A.mid, b.ln2w, b.ln2b, M, C, c.ln_eps, A.m, A.mean2, A.rstd2);
      laps.lap(LN);
      gemm(M, 4 * C, C, View{A.m, C, 1}, wt.h[l][2], 4 * C, A.g, 4 * C, {nullptr, 0, b.fcb},
           Span::full, false, {Epi::gelu, A.dgelu});
      laps.lap(LINEAR_FWD);
      gemm(M, C, 4 * C, View{A.g, 4L * C, 1}, wt.h[l][3], C, res[l + 1], C,
           {A.mid, C, b.mprojb});
      laps.lap(LINEAR_FWD);
    }
    layer_norm_forward(res[c.L], w.lnfw, w.lnfb, M, C, c.ln_eps, xf, meanf, rstdf);
    laps.lap(LN);
  }

  // The tied head, the loss and the head's backward, HEAD_ROWS tokens at a time, so a
  // block's logits stay in cache from the product that makes them to the two that read
  // their gradient: -> loss, dtmp (the gradient of ln_f's output), the head's share of
  // d wte (the embedding's is added at the end of backward).
  void head(const Config& c, const Weights& w, const Transposed& wt, Laps& laps) {
    const int C = c.C, V = c.vocab;
    const float inv_count = 1.0f / float(c.B * c.T);
    for (int r0 = 0; r0 < M; r0 += HEAD_ROWS) {
      const int rows = std::min(HEAD_ROWS, M - r0);
      const float* x = xf + long(r0) * C;
      gemm(rows, V, C, View{x, C, 1}, wt.wte, V, logits, V);
      laps.lap(HEAD_FWD);
      for (int n = 0; n < rows; ++n)
        loss += cross_entropy_row(logits + long(n) * V, V, y[r0 + n], inv_count);
      laps.lap(LOSS);
      gemm(rows, C, V, View{logits, V, 1}, w.wte, C, dtmp + long(r0) * C, C);
      gemm(V, C, rows, View{logits, 1, V}, x, C, grad.wte, C, {grad.wte, C, nullptr});
      laps.lap(HEAD_BWD);
    }
  }

  void backward(const Config& c, const Weights& w, Laps& laps) {
    const int C = c.C, T = c.T, H = c.H;
    const Weights& G = grad;
    layer_norm_backward(dtmp, res[c.L], meanf, rstdf, w.lnfw, M, C, dres, false, G.lnfw,
                        G.lnfb);
    laps.lap(LN);
    for (int l = c.L - 1; l >= 0; --l) {
      const BlockW& b = w.h[l];
      const BlockW& g = G.h[l];
      const LayerActs& A = acts[l];
      // ------------------------------------------------------------ MLP
      add_column_sums(dres, M, C, g.mprojb);
      laps.lap(BIAS_BWD);
      gemm(C, 4 * C, M, View{dres, 1, C}, A.g, 4 * C, g.mprojw, 4 * C,
           {g.mprojw, 4 * C, nullptr});
      laps.lap(LINEAR_DW);
      gemm(M, 4 * C, C, View{dres, C, 1}, b.mprojw, 4 * C, dbig, 4 * C, {}, Span::full, false,
           {Epi::times_aux, A.dgelu});
      laps.lap(LINEAR_DX);
      add_column_sums(dbig, M, 4 * C, g.fcb);
      laps.lap(BIAS_BWD);
      gemm(4 * C, C, M, View{dbig, 1, 4L * C}, A.m, C, g.fcw, C, {g.fcw, C, nullptr});
      laps.lap(LINEAR_DW);
      gemm(M, C, 4 * C, View{dbig, 4L * C, 1}, b.fcw, C, dtmp, C);
      laps.lap(LINEAR_DX);
      layer_norm_backward(dtmp, A.mid, A.mean2, A.rstd2, b.ln2w, M, C, dres, true, g.ln2w,
                          g.ln2b);
      laps.lap(LN);
      // ------------------------------------------------------------ attention
      add_column_sums(dres, M, C, g.projb);
      laps.lap(BIAS_BWD);
      gemm(C, C, M, View{dres, 1, C}, A.y, C, g.projw, C, {g.projw, C, nullptr});
      laps.lap(LINEAR_DW);
      gemm(M, C, C, View{dres, C, 1}, b.projw, C, dtmp, C);
      laps.lap(LINEAR_DX);
      for (int s = 0; s < cur; ++s)
        attention_backward(dtmp + long(s) * T * C, A.qkv + 3L * s * T * C,
                           A.P + long(s) * H * T * T, T, C, H, dqkv + 3L * s * T * C, tr, dt);
      laps.lap(ATTN_BWD);
      add_column_sums(dqkv, M, 3 * C, g.qkvb);
      laps.lap(BIAS_BWD);
      gemm(3 * C, C, M, View{dqkv, 1, 3L * C}, A.a, C, g.qkvw, C, {g.qkvw, C, nullptr});
      laps.lap(LINEAR_DW);
      gemm(M, C, 3 * C, View{dqkv, 3L * C, 1}, b.qkvw, C, dtmp, C);
      laps.lap(LINEAR_DX);
      layer_norm_backward(dtmp, res[l], A.mean1, A.rstd1, b.ln1w, M, C, dres, true, g.ln1w,
                          g.ln1b);
      laps.lap(LN);
    }
    for (int n = 0; n < M; ++n) {
      const float* d = dres + long(n) * C;
      axpy_row(G.wte + long(x[n]) * C, G.wte + long(x[n]) * C, 1.0f, d, C);
      axpy_row(G.wpe + long(n % T) * C, G.wpe + long(n % T) * C, 1.0f, d, C);
    }
    laps.lap(EMBED_BWD);
  }
};
