#include "cli/random_checkpoint.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <thread>
#include <vector>

namespace vamba {
namespace {

// Values are drawn in blocks of this many elements, each block from its own generator stream, so
// blocks can be filled in any order by any thread and give the same bytes.
constexpr int64_t kBlock = int64_t{1} << 16;

// splitmix64: a fast, decent generator.
struct Rng {
  uint64_t s;
  uint64_t next() {
    uint64_t z = (s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  float uniform() { return (next() >> 40) * (1.0f / 16777216.0f); }  // [0, 1)
};

// FNV-1a: a name hash that is the same with every standard library (std::hash is not).
uint64_t fnv1a(const std::string& s) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ull;
  return h;
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

enum class Kind { kOne, kALog, kDtBias, kAlpha, kBias, kMatrix };

// What a weight means decides its values (the reference model's init ranges).
Kind kind_of(const std::string& name) {
  if (ends_with(name, "norm.weight") || ends_with(name, "layernorm.weight") ||
      ends_with(name, ".D") || ends_with(name, "ln_q.weight") || ends_with(name, "norm1.weight") ||
      ends_with(name, "norm2.weight")) {
    return Kind::kOne;
  }
  if (ends_with(name, "A_log")) return Kind::kALog;
  if (ends_with(name, "dt_bias")) return Kind::kDtBias;
  if (ends_with(name, "alpha")) return Kind::kAlpha;
  if (ends_with(name, "bias")) return Kind::kBias;
  return Kind::kMatrix;
}

float draw(Kind kind, Rng& r, const MambaMixerConfig& m) {
  switch (kind) {
    case Kind::kOne:
      return 1.0f;
    case Kind::kALog:
      return std::log(static_cast<float>(m.A_init_range[0] +
                                         r.uniform() * (m.A_init_range[1] - m.A_init_range[0])));
    case Kind::kDtBias: {  // inverse softplus of dt ~ logUniform(dt_min, dt_max)
      const double dt =
          std::exp(std::log(m.dt_min) + r.uniform() * (std::log(m.dt_max) - std::log(m.dt_min)));
      return static_cast<float>(dt + std::log(-std::expm1(-dt)));
    }
    case Kind::kAlpha:
      return 0.5f;
    case Kind::kBias:
      return (r.uniform() - 0.5f) * 0.02f;
    case Kind::kMatrix:
      return (r.uniform() - 0.5f) * 0.04f;  // std ~0.0115
  }
  return 0.0f;
}

struct Job {
  bf16* data;
  Kind kind;
  uint64_t stream;  // the block's generator seed
  int64_t count;
};

}  // namespace

VambaConfig vamba_7b_config() {
  VambaConfig c;  // the defaults are the 7B's LM and vision shapes
  c.use_alpha_balancing = true;
  c.mamba.enable = true;
  c.mamba.hidden_dim = c.hidden_size;
  c.mrope_section = {16, 24, 24};
  return c;
}

StatusOr<Checkpoint> random_checkpoint(const VambaConfig& config, uint64_t seed, int threads,
                                       const std::function<bool(const std::string&)>& keep) {
  Checkpoint ck;
  ck.dir = "<random>";
  ck.config = config;
  std::vector<Job> jobs;
  for (const WeightSpec& spec : weight_table(config)) {
    if (keep && !keep(spec.name)) continue;
    VAMBA_ASSIGN_OR_RETURN(Tensor t, Tensor::empty(spec.shape, DType::kBF16));
    const Kind kind = kind_of(spec.name);
    const uint64_t name_seed = seed * 0x9e3779b97f4a7c15ull ^ fnv1a(spec.name);
    for (int64_t begin = 0; begin < t.numel(); begin += kBlock) {
      jobs.push_back({t.data<bf16>() + begin, kind,
                      name_seed + 0xd1b54a32d192ed03ull * static_cast<uint64_t>(begin / kBlock),
                      std::min(kBlock, t.numel() - begin)});
    }
    ck.weights.emplace(spec.name, std::move(t));
  }

  std::atomic<size_t> next{0};
  auto work = [&] {
    for (size_t j = next++; j < jobs.size(); j = next++) {
      Rng r{jobs[j].stream};
      for (int64_t i = 0; i < jobs[j].count; ++i) {
        jobs[j].data[i] = float_to_bf16(draw(jobs[j].kind, r, config.mamba));
      }
    }
  };
  const size_t workers = std::clamp<size_t>(threads, 1, std::max<size_t>(jobs.size(), 1));
  std::vector<std::thread> pool;
  for (size_t w = 1; w < workers; ++w) pool.emplace_back(work);
  work();
  for (auto& th : pool) th.join();
  return ck;
}

}  // namespace vamba
