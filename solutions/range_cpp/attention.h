// Causal self-attention of one sequence (T tokens), head by head, as five small products
// per head and direction (gemm.h), with the (T, T) probabilities kept for the backward:
//
//     forward   S = Q K^T (causal rows),  P = softmax(S / sqrt(hd)),  Y = P V
//     backward  dP = dY V^T,  dS = P (dP - rowsum(P dP)) / sqrt(hd),
//               dQ = dS K,  dK = dS^T Q,  dV = P^T dY
//
// the draft's attention_forward/backward (baseline/draft/layers.py) for every query at
// once. qkv holds the sequence's rows of the c_attn output, (T, 3C) with q, k, v side by
// side and head h at columns h*hd of each; P is (H, T, T).
#pragma once

#include "layers.h"

// Row t of dS from row t of P and of dP (in place over dP), zero past t.
inline void softmax_backward_row(const float* p, float* d, int t, int T, float scale) {
  const int n = t + 1;
  vf sv{};
  int j = 0;
  for (; j + VW <= T && j < n; j += VW) sv += load(p + j) * load(d + j);  // p is 0 past t
  float s = hsum(sv);
  for (int k = j; k < n; ++k) s += p[k] * d[k];
  for (int k = 0; k < j; k += VW) store(d + k, load(p + k) * (load(d + k) - s) * scale);
  for (int k = j; k < n; ++k) d[k] = p[k] * (d[k] - s) * scale;
  for (int k = j > n ? j : n; k < T; ++k) d[k] = 0.0f;
}

// kt: (hd, T) scratch for K^T.
inline void attention_forward(const float* qkv, int T, int C, int H, float* P, float* y,
                              float* kt) {
  const int hd = C / H;
  const long ld = 3L * C;
  const float scale = 1.0f / std::sqrt(float(hd));
  for (int h = 0; h < H; ++h) {
    const float* q = qkv + h * hd;
    const float* k = q + C;
    const float* v = q + 2 * C;
    float* p = P + (long)h * T * T;
    transpose(k, T, hd, ld, kt, T);
    gemm(T, T, hd, View{q, ld, 1}, kt, T, p, T, {}, Span::full, true);
    for (int t = 0; t < T; ++t) causal_softmax_row(p + (long)t * T, t, T, scale);
    gemm(T, hd, T, View{p, T, 1}, v, ld, y + h * hd, C, {}, Span::lower);
  }
}

// dy: (T, C) gradient of the attention output -> dqkv (T, 3C). vt: (hd, T), ds: (T, T).
inline void attention_backward(const float* dy, const float* qkv, const float* P, int T, int C,
                               int H, float* dqkv, float* vt, float* ds) {
  const int hd = C / H;
  const long ld = 3L * C;
  const float scale = 1.0f / std::sqrt(float(hd));
  for (int h = 0; h < H; ++h) {
    const float* q = qkv + h * hd;
    const float* k = q + C;
    const float* v = q + 2 * C;
    const float* p = P + (long)h * T * T;
    const float* dyh = dy + h * hd;
    transpose(v, T, hd, ld, vt, T);
    gemm(T, T, hd, View{dyh, C, 1}, vt, T, ds, T, {}, Span::full, true);  // dP
    for (int t = 0; t < T; ++t)
      softmax_backward_row(p + (long)t * T, ds + (long)t * T, t, T, scale);
    gemm(T, hd, T, View{ds, T, 1}, k, ld, dqkv + h * hd, ld, {}, Span::lower);
    gemm(T, hd, T, View{ds, 1, T}, q, ld, dqkv + C + h * hd, ld, {}, Span::upper);
    gemm(T, hd, T, View{p, 1, T}, dyh, C, dqkv + 2 * C + h * hd, ld, {}, Span::upper);
  }
}
