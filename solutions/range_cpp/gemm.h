// Small float32 matrix products for the range step: every product of the step is
//
//     C[i, j] = init[i, j] + bias[j] + sum over k of A(i, k) B[k, j]
//
// with B and C row-major and A a strided view (row-major, or a transposed view for the
// weight gradients dW = dY^T X and attention's P^T dY). A register tile of MR rows by NV
// vectors of C is held in accumulators while k runs: each k loads NV vectors of B's row k
// and broadcasts MR elements of A (GotoBLAS's micro-kernel shape, BLIS's MR x NR tile;
// no packing: every operand of this step is at most 512 KB, within one core's L2).
//
// Attention's products are causal. `Span` cuts each row block's k range to where A can be
// nonzero (lower: A(i, k) = 0 for k > i; upper: for k < i), and `tri` computes, of each
// block of VW columns, only the rows up to its last column (S^T = K Q^T and dP^T = V dY^T,
// whose entries below the diagonal are never read). The spans leave results exactly as
// the full products would: the skipped terms are exact zeros.
#pragma once

#include <algorithm>

#include "gelu.h"
#include "simd.h"

// A(i, k) = a[i * rs + k * cs].
struct View {
  const float* a;
  long rs, cs;
};

enum class Span { full, lower, upper };

// Where the tile's C comes from before the products are added: init (a matrix, may be C
// itself; null: zeros) plus a bias row (null: none).
struct Init {
  const float* init = nullptr;
  long ldi = 0;
  const float* bias = nullptr;
};

// What a product does to each finished tile while it is in L1: nothing; GELU (C becomes
// GELU of the product and `aux`, laid out as C, its derivative there); or the product
// times `aux` (GELU's backward, with the derivative the forward kept). No pass of its own
// over the c_fc output or its gradient, and no second sigmoid in the backward.
enum class Epi { none, gelu, times_aux };

struct Finish {
  Epi kind = Epi::none;
  float* aux = nullptr;
};

inline void finish(float* C, long ldc, int i0, int rows, int j0, int cols, Finish f) {
  if (f.kind == Epi::none) return;
  for (int i = i0; i < i0 + rows; ++i) {
    float* c = C + i * ldc + j0;
    float* a = f.aux + i * ldc + j0;
    if (f.kind == Epi::gelu) {
      gelu_row(c, cols, a);
    } else {
      int j = 0;
      for (; j + VW <= cols; j += VW) store(c + j, load(c + j) * load(a + j));
      for (; j < cols; ++j) c[j] *= a[j];
    }
  }
}

// Vectors of C per tile row at most: with AVX-512, 6 rows by 4 vectors beat 3 by 8 at
// every wide product of the step (108-111 GFLOP/s against 88-95 on one core: the 3-row
// tile reloads its 8 B vectors for only 3 broadcasts; README.md: the measurements).
constexpr int NV_MAX = 4;
// Rows of a tile one vector wide: attention's products at head size 16 with AVX-512, whose
// causal spans waste less on short tiles: a sequence's two heads took 6.4 us forward and
// 8.1 backward with 8 rows, 7.8 and 10.6 with 24 (README.md: the measurements).
constexpr int ONE_VECTOR_MR = 8;

template <int MR, int NV>
inline void tile(View A, int i0, int k0, int k1, const float* B, long ldb, int j0, float* C,
                 long ldc, Init in) {
  vf acc[MR][NV];
#pragma GCC unroll 32
  for (int i = 0; i < MR; ++i) {
#pragma GCC unroll 8
    for (int v = 0; v < NV; ++v) {
      vf s = in.bias ? load(in.bias + j0 + v * VW) : vf{};
      if (in.init) s += load(in.init + (i0 + i) * in.ldi + j0 + v * VW);
      acc[i][v] = s;
    }
  }
  const float* a = A.a + i0 * A.rs;
  for (int k = k0; k < k1; ++k) {
    vf b[NV];
#pragma GCC unroll 8
    for (int v = 0; v < NV; ++v) b[v] = load(B + k * ldb + j0 + v * VW);
#pragma GCC unroll 32
    for (int i = 0; i < MR; ++i) {
      vf ai = splat(a[i * A.rs + k * A.cs]);
#pragma GCC unroll 8
      for (int v = 0; v < NV; ++v) acc[i][v] += ai * b[v];
    }
  }
#pragma GCC unroll 32
  for (int i = 0; i < MR; ++i) {
#pragma GCC unroll 8
    for (int v = 0; v < NV; ++v) store(C + (i0 + i) * ldc + j0 + v * VW, acc[i][v]);
  }
}

inline void k_range(Span span, int i0, int rows, int K, int& k0, int& k1) {
  k0 = span == Span::upper ? std::min(i0, K) : 0;
  k1 = span == Span::lower ? std::min(i0 + rows, K) : K;
}

// The last rows of a column block, fewer than a full tile: a tile of exactly `rows`.
template <int MR, int NV>
inline void tail(int rows, View A, int i0, Span span, int K, const float* B, long ldb, int j0,
                 float* C, long ldc, Init in, Finish fin) {
  if constexpr (MR > 1) {
    if (rows < MR) {
      tail<MR - 1, NV>(rows, A, i0, span, K, B, ldb, j0, C, ldc, in, fin);
      return;
    }
  }
  int k0, k1;
  k_range(span, i0, MR, K, k0, k1);
  tile<MR, NV>(A, i0, k0, k1, B, ldb, j0, C, ldc, in);
  finish(C, ldc, i0, MR, j0, NV * VW, fin);
}

// Rows [0, m) of the NV vectors of columns from j0.
template <int NV>
void column_block(int m, int K, View A, Span span, const float* B, long ldb, int j0, float* C,
                  long ldc, Init in, Finish fin) {
  constexpr int MR = NV == 1 ? ONE_VECTOR_MR : (ACC / NV > 0 ? ACC / NV : 1);
  int i = 0;
  for (; i + MR <= m; i += MR) {
    int k0, k1;
    k_range(span, i, MR, K, k0, k1);
    tile<MR, NV>(A, i, k0, k1, B, ldb, j0, C, ldc, in);
    finish(C, ldc, i, MR, j0, NV * VW, fin);
  }
  if (i < m) tail<MR, NV>(m - i, A, i, span, K, B, ldb, j0, C, ldc, in, fin);
}

// Columns past the last whole vector (only where n is not a multiple of VW: never at the
// range preset's shapes), one element at a time, each row with its own exact k range.
inline void scalar_columns(int j0, int m, int n, int K, View A, Span span, bool tri,
                           const float* B, long ldb, float* C, long ldc, Init in, Finish fin) {
  for (int i = 0; i < m; ++i) {
    int k0, k1;
    k_range(span, i, 1, K, k0, k1);
    for (int j = j0; j < n; ++j) {
      if (tri && i > j) continue;
      float s = in.bias ? in.bias[j] : 0.0f;
      if (in.init) s += in.init[i * in.ldi + j];
      for (int k = k0; k < k1; ++k) s += A.a[i * A.rs + k * A.cs] * B[k * ldb + j];
      C[i * ldc + j] = s;
    }
  }
  finish(C, ldc, 0, m, j0, n - j0, fin);
}

template <int NV>
inline void dispatch(int nv, int m, int K, View A, Span span, const float* B, long ldb, int j0,
                     float* C, long ldc, Init in, Finish fin) {
  if (nv == NV) {
    column_block<NV>(m, K, A, span, B, ldb, j0, C, ldc, in, fin);
  } else if constexpr (NV > 1) {
    dispatch<NV - 1>(nv, m, K, A, span, B, ldb, j0, C, ldc, in, fin);
  }
}

// C (m x n) = in + A (m x K) B (K x n), causal as `span` and `tri` say, each tile then
// finished as `fin` says.
inline void gemm(int m, int n, int K, View A, const float* B, long ldb, float* C, long ldc,
                 Init in = {}, Span span = Span::full, bool tri = false, Finish fin = {}) {
  int j = 0;
  while (n - j >= VW) {
    int nv = tri ? 1 : std::min((n - j) / VW, NV_MAX);
    dispatch<NV_MAX>(nv, tri ? std::min(m, j + VW) : m, K, A, span, B, ldb, j, C, ldc, in,
                     fin);
    j += nv * VW;
  }
  if (j < n) scalar_columns(j, m, n, K, A, span, tri, B, ldb, C, ldc, in, fin);
}
