// Portable SIMD for the range step: GCC/Clang vector extensions at the widest float width
// the compiler targets (the build passes -march=native, so this is the machine's own width:
// 16 lanes with AVX-512, 8 with AVX/AVX2, 4 otherwise). Nothing here names an instruction;
// the compiler lowers each operator to the machine's.
#pragma once

#include <cstdint>
#include <cstring>

#if defined(__AVX512F__)
#define RANGE_VW 16
constexpr int ACC = 24;  // accumulator registers a GEMM tile may hold (of 32)
#elif defined(__AVX__)
#define RANGE_VW 8
constexpr int ACC = 12;  // of 16
#else
#define RANGE_VW 4
constexpr int ACC = 8;
#endif
constexpr int VW = RANGE_VW;

typedef float vf __attribute__((vector_size(VW * sizeof(float))));
typedef int32_t vi __attribute__((vector_size(VW * sizeof(int32_t))));

inline vf load(const float* p) {
  vf v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

inline void store(float* p, vf v) { std::memcpy(p, &v, sizeof v); }

// x - 0 is x for every x (-0 included), so this is one broadcast; vf{} + x is not (it
// turns -0 into +0), and costs an add before it.
inline vf splat(float x) { return x - vf{}; }

// Lane i holds i: masks for a row's tail (lanes at or past a bound).
inline vf iota() {
  vf v;
  for (int i = 0; i < VW; ++i) v[i] = float(i);
  return v;
}

typedef float f8 __attribute__((vector_size(8 * sizeof(float))));
typedef float f4 __attribute__((vector_size(4 * sizeof(float))));

// One lane from all VW by halving (lane i with lane i + w/2, for w = VW, ..., 2): a fixed
// tree of log2(VW) shuffles instead of VW - 1 dependent scalar steps.
template <class Op>
inline float reduce(vf v, Op op) {
#if RANGE_VW == 16
  f8 v8 = op(__builtin_shufflevector(v, v, 0, 1, 2, 3, 4, 5, 6, 7),
             __builtin_shufflevector(v, v, 8, 9, 10, 11, 12, 13, 14, 15));
#elif RANGE_VW == 8
  f8 v8 = v;
#endif
#if RANGE_VW >= 8
  f4 v4 = op(__builtin_shufflevector(v8, v8, 0, 1, 2, 3), __builtin_shufflevector(v8, v8, 4, 5, 6, 7));
#else
  f4 v4 = v;
#endif
  v4 = op(v4, __builtin_shufflevector(v4, v4, 2, 3, 0, 1));
  v4 = op(v4, __builtin_shufflevector(v4, v4, 1, 0, 3, 2));
  return v4[0];
}

inline float hsum(vf v) {
  return reduce(v, [](auto a, auto b) { return a + b; });
}

inline float hmax(vf v) {
  return reduce(v, [](auto a, auto b) { return a > b ? a : b; });
}

inline vf vmax(vf a, vf b) { return a > b ? a : b; }

// exp(x) to about 1 ulp over float32's range: x = n ln2 + r, |r| <= ln2/2, exp(r) by the
// degree-6 polynomial of the Cephes library's expf.c (S. L. Moshier; its coefficients and
// its two-part ln2), 2^n built in the exponent bits. x is clamped to [-87, 88], where
// 2^n stays a normal number (exp(-87) = 1.6e-38 stands in for anything smaller: every use
// here either adds it to at least 1 or is a probability that small).
inline vf vexp(vf x) {
  const vf lo = splat(-87.0f), hi = splat(88.0f);
  x = x < lo ? lo : x;
  x = x > hi ? hi : x;
  const float magic = 12582912.0f;  // 1.5 * 2^23: adding it rounds to an integer
  vf t = x * 1.44269504088896341f + magic;
  vf n = t - magic;
  vi ni = (vi)t - (vi)splat(magic);  // the integer n, from t's low mantissa bits
  vf r = x - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  vf p = splat(1.9875691500e-4f);
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  vf y = p * (r * r) + r + 1.0f;
  return y * (vf)((ni + 127) << 23);
}
