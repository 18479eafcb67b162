#include "bench/model/random_checkpoint.h"

#include <cmath>
#include <thread>

namespace vamba::bench {
namespace {

// splitmix64: a fast, decent generator; each thread seeds its own stream.
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

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

VambaConfig vamba_7b_config() {
  VambaConfig c;  // the defaults are the 7B's LM shapes
  c.use_alpha_balancing = true;
  c.mamba.enable = true;
  c.mamba.hidden_dim = c.hidden_size;
  c.mrope_section = {16, 24, 24};
  return c;
}

StatusOr<Checkpoint> random_checkpoint(const VambaConfig& config, uint64_t seed, int threads) {
  Checkpoint ck;
  ck.dir = "<random>";
  ck.config = config;
  const auto& m = config.mamba;
  for (const WeightSpec& spec : weight_table(config)) {
    VAMBA_ASSIGN_OR_RETURN(Tensor t, Tensor::empty(spec.shape, DType::kBF16));
    bf16* p = t.data<bf16>();
    const int64_t n = t.numel();
    const std::string& name = spec.name;
    // What the weight means decides its values (init ranges of the reference model).
    std::function<float(Rng&, int64_t)> value;
    if (ends_with(name, "norm.weight") || ends_with(name, "layernorm.weight") ||
        ends_with(name, ".D") || ends_with(name, "ln_q.weight") || ends_with(name, "norm1.weight") ||
        ends_with(name, "norm2.weight")) {
      value = [](Rng&, int64_t) { return 1.0f; };
    } else if (ends_with(name, "A_log")) {
      value = [&](Rng& r, int64_t) {
        return std::log(m.A_init_range[0] + r.uniform() * (m.A_init_range[1] - m.A_init_range[0]));
      };
    } else if (ends_with(name, "dt_bias")) {
      value = [&](Rng& r, int64_t) {  // inverse softplus of dt ~ logUniform(dt_min, dt_max)
        const double dt = std::exp(std::log(m.dt_min) +
                                   r.uniform() * (std::log(m.dt_max) - std::log(m.dt_min)));
        return static_cast<float>(dt + std::log(-std::expm1(-dt)));
      };
    } else if (ends_with(name, "alpha")) {
      value = [](Rng&, int64_t) { return 0.5f; };
    } else if (ends_with(name, "bias")) {
      value = [](Rng& r, int64_t) { return (r.uniform() - 0.5f) * 0.02f; };
    } else {
      value = [](Rng& r, int64_t) { return (r.uniform() - 0.5f) * 0.04f; };  // std ~0.0115
    }
    const int nt = n > (int64_t{1} << 20) ? threads : 1;
    std::vector<std::thread> pool;
    for (int w = 0; w < nt; ++w) {
      pool.emplace_back([&, w] {
        Rng r{seed ^ (std::hash<std::string>{}(name) + 0x1234567ull * (w + 1))};
        const int64_t lo = n * w / nt, hi = n * (w + 1) / nt;
        for (int64_t i = lo; i < hi; ++i) p[i] = float_to_bf16(value(r, i));
      });
    }
    for (auto& th : pool) th.join();
    ck.weights.emplace(name, std::move(t));
  }
  return ck;
}

}  // namespace vamba::bench
