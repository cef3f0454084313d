// GELU, tanh form, and its derivative, for a vector or one float:
//
//     gelu(x) = 0.5 x (1 + tanh(u)) = x s,  s = sigmoid(2u) = 1 / (1 + exp(-2u)),
//     u = sqrt(2/pi) (x + 0.044715 x^3),
//     gelu'(x) = s + 2 x s (1 - s) du/dx,  du/dx = sqrt(2/pi) (1 + 3 * 0.044715 x^2)
//
// (1 + tanh(u) = 2s, 1 - tanh(u)^2 = 4s(1 - s)): no cancellation near u = 0, and exp
// saturates cleanly at both ends.
#pragma once

#include <cmath>

#include "simd.h"

constexpr float GELU_K = 0.7978845608028654f;  // sqrt(2 / pi)
constexpr float GELU_A = 0.044715f;

inline vf exp_of(vf x) { return vexp(x); }
inline float exp_of(float x) { return std::exp(x); }

template <class V>
inline V gelu_sigmoid(V x) {
  V u = GELU_K * (x + GELU_A * x * x * x);
  return 1.0f / (1.0f + exp_of(-2.0f * u));
}

// From x and its gelu_sigmoid(x).
template <class V>
inline V gelu_derivative(V x, V s) {
  V du = GELU_K * (1.0f + 3.0f * GELU_A * x * x);
  return s + 2.0f * x * s * (1.0f - s) * du;
}

// In place over n floats: x -> gelu(x), and gelu'(x) into `derivative` (one sigmoid for
// both, so the backward needs only a product).
inline void gelu_row(float* x, int n, float* derivative) {
  int j = 0;
  for (; j + VW <= n; j += VW) {
    vf v = load(x + j), s = gelu_sigmoid(v);
    store(derivative + j, gelu_derivative(v, s));
    store(x + j, v * s);
  }
  for (; j < n; ++j) {
    float s = gelu_sigmoid(x[j]);
    derivative[j] = gelu_derivative(x[j], s);
    x[j] *= s;
  }
}
