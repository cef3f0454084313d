// The whole training of the range track in C++: the interface the binding (binding.cpp)
// exposes to solution.py. No torch types here, so train.cpp compiles without torch's headers.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

struct Config {
  int vocab, C, T, L, H, B, steps;
  float ln_eps;
  double beta1, beta2, eps, weight_decay, grad_clip;
};

// One parameter's place in the flat buffer train() updates: the decaying matrices first,
// then the gains and biases (baseline.model.decays: two or more dimensions decay).
struct Slot {
  std::string name;  // the canonical name (baseline.model.param_shapes)
  long offset, size;
  bool decays;
};

std::vector<Slot> layout(const Config& cfg);

// Trains in place: params (the flat buffer in layout() order), tokens (n_tokens ids),
// batches (steps x B sequence starts), lrs (the learning rate of each step) -> losses
// (one mean training loss per step). Throws std::invalid_argument on a start or token
// out of range.
void train(const Config& cfg, float* params, const int64_t* tokens, long n_tokens,
           const int64_t* batches, const double* lrs, double* losses);

// Seconds per phase of the step summed over threads and calls, and the phases' names;
// zeros unless built with -DRANGE_PROFILE (the profile in README.md).
std::vector<std::string> phase_names();
std::vector<double> phase_seconds();
