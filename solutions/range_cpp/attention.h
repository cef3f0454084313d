// Causal self-attention of one sequence (T tokens), head by head, as five small products
// per head and direction (gemm.h), with the probabilities kept for the backward:
//
//     forward   S = Q K^T,  P = softmax(S / sqrt(hd)) over keys s <= t,  Y = P V
//     backward  dP = dY V^T,  dS = P (dP - rowsum(P dP)) / sqrt(hd),
//               dQ = dS K,  dK = dS^T Q,  dV = P^T dY
//
// the draft's attention_forward/backward (baseline/draft/layers.py) for every query at
// once. S, P, dP and dS are held transposed, (keys s, queries t): a query's softmax then
// runs down a column, VW queries per vector, with no sum or maximum across lanes; the
// products read them through the transposed views gemm.h takes.
// qkv holds the sequence's rows of the c_attn output, (T, 3C): q, k, v side by side, head h
// at columns h*hd of each.
#pragma once

#include "layers.h"

// pt (T x T, keys by queries) in place, column t over keys s <= t: scores -> probabilities,
// zero below the diagonal (s > t).
inline void softmax_columns(float* pt, int T, float scale) {
  const vf lane = iota(), low = splat(-INFINITY);
  int j0 = 0;
  for (; j0 + VW <= T; j0 += VW) {
    const vf query = lane + float(j0);
    const int rows = j0 + VW;  // keys of at least one of these queries
    vf mx = low;
    for (int s = 0; s < rows; ++s)
      mx = vmax(mx, float(s) <= query ? load(pt + long(s) * T + j0) : low);
    vf sum{};
    for (int s = 0; s < rows; ++s) {
      float* at = pt + long(s) * T + j0;
      vf e = vexp(scale * (load(at) - mx));
      e = float(s) <= query ? e : vf{};
      sum += e;
      store(at, e);
    }
    const vf inv = 1.0f / sum;
    for (int s = 0; s < rows; ++s) store(pt + long(s) * T + j0, load(pt + long(s) * T + j0) * inv);
    for (int s = rows; s < T; ++s) store(pt + long(s) * T + j0, vf{});
  }
  for (int t = j0; t < T; ++t) {  // columns past the last whole vector
    float mx = -INFINITY, sum = 0.0f;
    for (int s = 0; s <= t; ++s) mx = std::max(mx, pt[long(s) * T + t]);
    for (int s = 0; s <= t; ++s) sum += pt[long(s) * T + t] = std::exp(scale * (pt[long(s) * T + t] - mx));
    for (int s = 0; s < T; ++s) pt[long(s) * T + t] = s <= t ? pt[long(s) * T + t] / sum : 0.0f;
  }
}

// dS^T from P^T and dP^T (in place over dP^T): column t gets
// P (dP - sum over s of P dP) * scale, zero below the diagonal (P is zero there).
inline void softmax_backward_columns(const float* pt, float* dt, int T, float scale) {
  int j0 = 0;
  for (; j0 + VW <= T; j0 += VW) {
    const int rows = j0 + VW;
    vf sum{};
    for (int s = 0; s < rows; ++s) sum += load(pt + long(s) * T + j0) * load(dt + long(s) * T + j0);
    for (int s = 0; s < rows; ++s) {
      const long at = long(s) * T + j0;
      store(dt + at, load(pt + at) * (load(dt + at) - sum) * scale);
    }
    for (int s = rows; s < T; ++s) store(dt + long(s) * T + j0, vf{});
  }
  for (int t = j0; t < T; ++t) {
    float sum = 0.0f;
    for (int s = 0; s <= t; ++s) sum += pt[long(s) * T + t] * dt[long(s) * T + t];
    for (int s = 0; s < T; ++s) {
      const long at = long(s) * T + t;
      dt[at] = s <= t ? pt[at] * (dt[at] - sum) * scale : 0.0f;
    }
  }
}

// PT: (H, T, T) P^T of each head. scratch: (hd, T) for Q^T.
inline void attention_forward(const float* qkv, int T, int C, int H, float* PT, float* y,
                              float* scratch) {
  const int hd = C / H;
  const long ld = 3L * C;
  const float scale = 1.0f / std::sqrt(float(hd));
  for (int h = 0; h < H; ++h) {
    const float* q = qkv + h * hd;
    const float* k = q + C;
    const float* v = q + 2 * C;
    float* pt = PT + long(h) * T * T;
    transpose(q, T, hd, ld, scratch, T);
    gemm(T, T, hd, View{k, ld, 1}, scratch, T, pt, T, {}, Span::full, true);  // S^T
    softmax_columns(pt, T, scale);
    gemm(T, hd, T, View{pt, 1, T}, v, ld, y + h * hd, C, {}, Span::lower);
  }
}

// dy: (T, C) gradient of the attention output -> dqkv (T, 3C). scratch: (hd, T) for dY^T;
// dt: (T, T) for dP^T and dS^T.
inline void attention_backward(const float* dy, const float* qkv, const float* PT, int T, int C,
                               int H, float* dqkv, float* scratch, float* dt) {
  const int hd = C / H;
  const long ld = 3L * C;
  const float scale = 1.0f / std::sqrt(float(hd));
  for (int h = 0; h < H; ++h) {
    const float* q = qkv + h * hd;
    const float* k = q + C;
    const float* v = q + 2 * C;
    const float* pt = PT + long(h) * T * T;
    const float* dyh = dy + h * hd;
    transpose(dyh, T, hd, C, scratch, T);
    gemm(T, T, hd, View{v, ld, 1}, scratch, T, dt, T, {}, Span::full, true);  // dP^T
    softmax_backward_columns(pt, dt, T, scale);
    gemm(T, hd, T, View{dt, 1, T}, k, ld, dqkv + h * hd, ld, {}, Span::lower);       // dQ
    gemm(T, hd, T, View{dt, T, 1}, q, ld, dqkv + C + h * hd, ld, {}, Span::upper);   // dK
    gemm(T, hd, T, View{pt, T, 1}, dyh, C, dqkv + 2 * C + h * hd, ld, {}, Span::upper);  // dV
  }
}
