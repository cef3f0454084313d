// The range track's training step in C++: forward, backward, clipping and AdamW, the
// draft's math (baseline/draft) in float32.
//
// Two cores, few meetings: the batch is split into two halves of whole sequences, each
// half runs forward and backward alone into its own gradient buffer, and the halves meet
// only to add their gradients, clip and update (three barriers a step). The split is the
// same whatever the thread count (one thread runs both halves in turn), and every sum runs
// in a fixed order, so results are identical run to run and on 1 or 2 threads.
#include "train.h"

#include <omp.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <stdexcept>

#include "attention.h"
#include "profile.h"
#include "step.h"

namespace {

// Every buffer of one train() call: 64-byte aligned, zeroed, padded by a vector.
class Arena {
 public:
  float* take(long n) {
    size_t bytes = size_t((n + VW + 15) / 16 * 16) * sizeof(float);
    float* p = static_cast<float*>(std::aligned_alloc(64, bytes));
    if (p == nullptr) throw std::bad_alloc();
    std::memset(p, 0, bytes);
    blocks_.emplace_back(p, std::free);
    return p;
  }

 private:
  std::vector<std::unique_ptr<float, void (*)(void*)>> blocks_;
};

void check_inputs(const Config& c, const int64_t* tokens, long n_tokens,
                  const int64_t* batches) {
  for (long i = 0; i < long(c.steps) * c.B; ++i) {
    int64_t s = batches[i];
    if (s < 0 || s + c.T + 1 > n_tokens)
      throw std::invalid_argument("a batch start leaves the corpus");
    for (int t = 0; t <= c.T; ++t)
      if (tokens[s + t] < 0 || tokens[s + t] >= c.vocab)
        throw std::invalid_argument("a token id is outside the vocabulary");
  }
}

// The sum of squares of g0 + g1 over [lo, hi), written back into g0.
double add_halves(float* g0, const float* g1, long lo, long hi) {
  double total = 0.0;
  for (long i = lo; i < hi; i += 1024) {
    long end = std::min(hi, i + 1024);
    vf acc{};
    long j = i;
    for (; j + VW <= end; j += VW) {
      vf g = load(g0 + j) + load(g1 + j);
      store(g0 + j, g);
      acc += g * g;
    }
    float s = hsum(acc);
    for (; j < end; ++j) {
      g0[j] += g1[j];
      s += g0[j] * g0[j];
    }
    total += s;
  }
  return total;
}

struct AdamW {
  float lr, clip, beta1, beta2, bias1, bias2, eps;
};

// One AdamW step over [lo, hi) with decoupled decay factor `keep` = 1 - lr * wd; the
// draft's arithmetic order (baseline/draft/train.py adamw), each gradient times `clip`.
void adamw(float* __restrict p, const float* __restrict g, float* __restrict m,
           float* __restrict v, long lo, long hi, float keep, const AdamW& a) {
  for (long i = lo; i < hi; ++i) {
    float gi = g[i] * a.clip;
    m[i] = a.beta1 * m[i] + (1.0f - a.beta1) * gi;
    v[i] = a.beta2 * v[i] + (1.0f - a.beta2) * (gi * gi);
    float mh = m[i] / a.bias1, vh = v[i] / a.bias2;
    p[i] = p[i] * keep - a.lr * mh / (std::sqrt(vh) + a.eps);
  }
}

}  // namespace

std::vector<Slot> layout(const Config& cfg) {
  std::vector<Slot> slots;
  bind(nullptr, cfg, &slots);
  return slots;
}

void train(const Config& c, float* params, const int64_t* tokens, long n_tokens,
           const int64_t* batches, const double* lrs, double* losses) {
  check_inputs(c, tokens, n_tokens, batches);
  const std::vector<Slot> slots = layout(c);
  const long n_params = slots.back().offset + slots.back().size;
  long n_decay = 0;
  for (const Slot& s : slots) n_decay += s.decays ? s.size : 0;
  Arena arena;
  const Weights w = bind(params, c, nullptr);
  float* m = arena.take(n_params);
  float* v = arena.take(n_params);
  const Transposed wt = Transposed::make(c, [&](long n) { return arena.take(n); });
  const int b0 = (c.B + 1) / 2;
  Half halves[2] = {Half::make(c, 0, b0, [&](long n) { return arena.take(n); }),
                    Half::make(c, b0, c.B - b0, [&](long n) { return arena.take(n); })};
  const long chunk_end[2] = {n_params / 2, n_params};
  double sumsq[2] = {0.0, 0.0};

#pragma omp parallel
  {
    const int tid = omp_get_thread_num(), nt = omp_get_num_threads();
    Laps laps(tid);
    for (int j = tid; j < wt.jobs(c); j += nt) wt.refresh(j, c, w);
    laps.lap(TRANSPOSE);
#pragma omp barrier
    laps.lap(WAIT);
    for (int step = 1; step <= c.steps; ++step) {
      // ---------------------------------------------------------------- forward, backward
      for (int h = tid; h < 2; h += nt) {
        if (halves[h].nseq == 0) continue;  // B = 1: its gradients stay zero
        halves[h].run(c, w, wt, tokens, batches + long(step - 1) * c.B, laps);
      }
#pragma omp barrier
      laps.lap(WAIT);
      // ---------------------------------------------------------------- clip, update
      for (int k = tid; k < 2; k += nt)
        sumsq[k] = add_halves(halves[0].grad_flat, halves[1].grad_flat,
                              k == 0 ? 0 : chunk_end[0], chunk_end[k]);
      laps.lap(REDUCE);
#pragma omp barrier
      laps.lap(WAIT);
      const double norm = std::sqrt(sumsq[0] + sumsq[1]);
      const double coef = c.grad_clip / (norm + 1e-6);
      const double lr = lrs[step - 1];
      const AdamW a{float(lr), coef < 1.0 ? float(coef) : 1.0f, float(c.beta1),
                    float(c.beta2), float(1.0 - std::pow(c.beta1, step)),
                    float(1.0 - std::pow(c.beta2, step)), float(c.eps)};
      const float keep = float(1.0 - lr * c.weight_decay);
      for (int k = tid; k < 2; k += nt) {
        long lo = k == 0 ? 0 : chunk_end[0], hi = chunk_end[k];
        const float* g = halves[0].grad_flat;
        adamw(params, g, m, v, lo, std::min(hi, std::max(lo, n_decay)), keep, a);
        adamw(params, g, m, v, std::max(lo, n_decay), hi, 1.0f, a);
      }
      if (tid == 0) losses[step - 1] = (halves[0].loss + halves[1].loss) / (double(c.B) * c.T);
      laps.lap(ADAMW);
#pragma omp barrier
      laps.lap(WAIT);
      for (int j = tid; j < wt.jobs(c); j += nt) wt.refresh(j, c, w);
      laps.lap(TRANSPOSE);
#pragma omp barrier
      laps.lap(WAIT);
    }
  }
}

std::vector<std::string> phase_names() { return phase_list(); }

std::vector<double> phase_seconds() { return phase_sums(); }
