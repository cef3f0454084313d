// The GPT's layers for the range step, forward and backward, on row-major float32 buffers
// of M tokens. The math is the draft's (baseline/draft/layers.py) in closed form; each row
// operation is vectorised over its row in chunks of VW with a scalar tail, and every sum
// runs in a fixed order, so a result depends only on the inputs.
#pragma once

#include <algorithm>
#include <cmath>

#include "gemm.h"

// ---------------------------------------------------------------------------- rows

// out = in + s * x over n floats; the building block of the row passes below.
inline void axpy_row(float* out, const float* in, float s, const float* x, int n) {
  int j = 0;
  for (; j + VW <= n; j += VW) store(out + j, load(in + j) + s * load(x + j));
  for (; j < n; ++j) out[j] = in[j] + s * x[j];
}

// out (n) += the sum over rows of x (M x n): a bias gradient. Up to 8 vectors of columns
// at a time summed in registers (a sum kept in memory would wait on its own store every
// row).
inline void add_column_sums(const float* x, int M, int n, float* out) {
  int j = 0;
  while (n - j >= VW) {
    const int nv = std::min(8, (n - j) / VW);
    vf acc[8] = {};
    for (int i = 0; i < M; ++i)
      for (int v = 0; v < nv; ++v) acc[v] += load(x + long(i) * n + j + v * VW);
    for (int v = 0; v < nv; ++v) store(out + j + v * VW, load(out + j + v * VW) + acc[v]);
    j += nv * VW;
  }
  for (; j < n; ++j) {
    float s = 0.0f;
    for (int i = 0; i < M; ++i) s += x[long(i) * n + j];
    out[j] += s;
  }
}

// dst (n x m) = src (m x n)^T.
inline void transpose(const float* src, int m, int n, long lds, float* dst, long ldd) {
  for (int i = 0; i < m; ++i)
    for (int j = 0; j < n; ++j) dst[j * ldd + i] = src[i * lds + j];
}

// ---------------------------------------------------------------------------- layer norm

// out = (x - mean) * rstd * w + b per row; mean and rstd kept for the backward.
inline void layer_norm_forward(const float* x, const float* w, const float* b, int M, int C,
                               float eps, float* out, float* mean, float* rstd) {
  for (int i = 0; i < M; ++i) {
    const float* r = x + (long)i * C;
    vf sv{};
    int j = 0;
    for (; j + VW <= C; j += VW) sv += load(r + j);
    float s = hsum(sv);
    for (; j < C; ++j) s += r[j];
    float mu = s / C;
    vf qv{};
    for (j = 0; j + VW <= C; j += VW) {
      vf d = load(r + j) - mu;
      qv += d * d;
    }
    float q = hsum(qv);
    for (; j < C; ++j) q += (r[j] - mu) * (r[j] - mu);
    float rs = 1.0f / std::sqrt(q / C + eps);
    float* o = out + (long)i * C;
    for (j = 0; j + VW <= C; j += VW)
      store(o + j, (load(r + j) - mu) * rs * load(w + j) + load(b + j));
    for (; j < C; ++j) o[j] = (r[j] - mu) * rs * w[j] + b[j];
    mean[i] = mu;
    rstd[i] = rs;
  }
}

// With xhat = (x - mean) * rstd and g = dout * w:
//     dx = rstd * (g - mean(g) - xhat * mean(g * xhat)),  dw = sum dout * xhat,  db = sum dout.
// dx is added to dres when `add`, else written to it; dw and db are added to.
inline void layer_norm_backward(const float* dout, const float* x, const float* mean,
                                const float* rstd, const float* w, int M, int C, float* dres,
                                bool add, float* dw, float* db) {
  for (int i = 0; i < M; ++i) {
    const float* d = dout + (long)i * C;
    const float* r = x + (long)i * C;
    float mu = mean[i], rs = rstd[i];
    vf gv{}, gxv{};
    int j = 0;
    for (; j + VW <= C; j += VW) {
      vf xh = (load(r + j) - mu) * rs;
      vf g = load(d + j) * load(w + j);
      gv += g;
      gxv += g * xh;
      store(dw + j, load(dw + j) + load(d + j) * xh);
      store(db + j, load(db + j) + load(d + j));
    }
    float gs = hsum(gv), gx = hsum(gxv);
    for (; j < C; ++j) {
      float xh = (r[j] - mu) * rs, g = d[j] * w[j];
      gs += g;
      gx += g * xh;
      dw[j] += d[j] * xh;
      db[j] += d[j];
    }
    float gm = gs / C, gxm = gx / C;
    float* o = dres + (long)i * C;
    for (j = 0; j + VW <= C; j += VW) {
      vf xh = (load(r + j) - mu) * rs;
      vf v = (load(d + j) * load(w + j) - gm - xh * gxm) * rs;
      store(o + j, add ? load(o + j) + v : v);
    }
    for (; j < C; ++j) {
      float xh = (r[j] - mu) * rs;
      float v = (d[j] * w[j] - gm - xh * gxm) * rs;
      o[j] = add ? o[j] + v : v;
    }
  }
}

// ---------------------------------------------------------------------------- cross-entropy

// One row of logits (V) -> its loss, lse - x[y], and in place the gradient of the mean
// loss over `count` tokens: (softmax - onehot(y)) / count.
inline double cross_entropy_row(float* row, int V, int y, float inv_count) {
  vf mv = splat(-INFINITY);
  int j = 0;
  for (; j + VW <= V; j += VW) mv = vmax(mv, load(row + j));
  float mx = hmax(mv);
  for (; j < V; ++j) mx = row[j] > mx ? row[j] : mx;
  const float target = row[y];
  vf sv{};
  for (j = 0; j + VW <= V; j += VW) {
    vf e = vexp(load(row + j) - mx);
    sv += e;
    store(row + j, e);
  }
  float s = hsum(sv);
  for (; j < V; ++j) s += row[j] = std::exp(row[j] - mx);
  const float scale = inv_count / s;
  for (j = 0; j + VW <= V; j += VW) store(row + j, load(row + j) * scale);
  for (; j < V; ++j) row[j] *= scale;
  row[y] -= inv_count;
  return double(mx) + std::log(double(s)) - double(target);
}
