// Phase timers of the step, compiled in only with -DRANGE_PROFILE (solution.build(
// ("RANGE_PROFILE",))); otherwise every call below is empty and inlined away. Each thread
// adds the time since its previous lap to the phase that just ended, so the sums over
// threads are thread-seconds by phase; WAIT is the time a thread waited at a barrier for
// the other. Monotonic wall time (a vDSO read, tens of nanoseconds: a step has about 500
// laps), so a profile means what it says only on a quiet machine, where a thread runs
// unpreempted.
#pragma once

#include <array>
#include <chrono>
#include <string>
#include <vector>

enum Phase {
  EMBED, LN, LINEAR_FWD, ATTN_FWD, HEAD_FWD, LOSS, HEAD_BWD, LINEAR_DX, LINEAR_DW,
  BIAS_BWD, ATTN_BWD, EMBED_BWD, WAIT, REDUCE, ADAMW, TRANSPOSE, NPHASE
};

inline std::vector<std::string> phase_list() {
  return {"embedding", "layer norm (fwd + bwd)", "linear forward (with GELU)",
          "attention forward", "lm head forward", "cross-entropy", "lm head backward",
          "linear grad input (with GELU's)", "linear grad weight", "bias grads", "attention backward",
          "embedding backward", "barrier wait", "gradient sum + norm", "AdamW",
          "weight transposes"};
}

#ifdef RANGE_PROFILE
constexpr int MAX_THREADS = 64;
inline std::array<std::array<double, NPHASE>, MAX_THREADS> phase_totals{};

class Laps {
 public:
  explicit Laps(int tid) : tid_(tid < MAX_THREADS ? tid : MAX_THREADS - 1), last_(now()) {}
  void lap(Phase p) {
    double t = now();
    phase_totals[tid_][p] += t - last_;
    last_ = t;
  }

 private:
  static double now() {
    return std::chrono::duration<double>(
        std::chrono::steady_clock::now().time_since_epoch()).count();
  }
  int tid_;
  double last_;
};

inline std::vector<double> phase_sums() {
  std::vector<double> sums(NPHASE, 0.0);
  for (const auto& row : phase_totals)
    for (int p = 0; p < NPHASE; ++p) sums[p] += row[p];
  return sums;
}
#else
class Laps {
 public:
  explicit Laps(int) {}
  void lap(Phase) {}
};

inline std::vector<double> phase_sums() { return std::vector<double>(NPHASE, 0.0); }
#endif
