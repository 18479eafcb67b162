// lm_bench: the hybrid LM at Vamba-Qwen2-VL-7B shapes with random weights.
//   prefill of M video tokens (every layer's Mamba pass + cross-attention K/V) and a 64-token
//   prompt, then decode ms/step at batch 1 and 8, and peak GPU memory; each beside its floor.
// One machine-readable line per case:
//   bench=lm_prefill video_tokens=16384 ms=... tflops=... floor_ms=... x_floor=... peak_gib=...
//   bench=lm_decode video_tokens=16384 batch=8 ms_per_step=... tokens_per_s=... floor_ms=...
//   x_floor=...
#ifdef VAMBA_WITH_CUDA
#include <cuda_profiler_api.h>
#endif
#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <numeric>

#include "cli/random_checkpoint.h"
#include "engine/models/vamba_lm.h"
#include "engine/ops/sampling.h"

namespace vamba::bench {
namespace {

constexpr double kPeakFlops = 800e12;  // bf16 dense, measured ~798 TFLOP/s on the H100 here
constexpr double kPeakBytes = 3.0e12;  // device-to-device copy, measured ~3.0 TB/s

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// FLOPs of appending m video tokens (all layers).
double video_flops(const VambaConfig& c, double m) {
  const auto& mb = c.mamba;
  const double h = c.hidden_size, kv = c.num_key_value_heads * c.head_dim();
  const double q = mb.chunk_size, n = mb.d_state, p = mb.headdim;
  double per_token = 2 * h * mb.in_proj_dim() + 2 * mb.d_inner() * h  // in_proj, out_proj
                     + 2 * h * 2 * kv                                 // cross K, V
                     + 2 * q * n * mb.ngroups + mb.nheads() * (2 * q * p + 4 * n * p);  // SSD
  return per_token * m * c.num_hidden_layers;
}

// FLOPs of an n-token prompt against m video tokens (logits for the last position only).
double text_flops(const VambaConfig& c, double n, double m) {
  const double h = c.hidden_size, kv = c.num_key_value_heads * c.head_dim();
  const double dense = 2 * h * (h + 2 * kv) + 2 * h * h    // self q,k,v,o
                       + 2 * h * h + 2 * h * h             // cross q, o
                       + 3 * 2 * h * c.intermediate_size;  // MLP
  const double attn = 4 * n * n / 2 * h + 4 * n * m * h;   // causal self + cross
  return (dense * n + attn) * c.num_hidden_layers + 2 * h * c.vocab_size;
}

// The video K/V store (--kv-store): bytes per stored element, for the decode floor.
KvStore g_kv_store = KvStore::kActivation;
double video_kv_elem_bytes() { return g_kv_store == KvStore::kFp8E4M3 ? 1.0 : 2.0; }

// Bytes one decode step must read: the text-path weights, the head, the video K/V and the text KV.
double decode_bytes(const VambaConfig& c, double m, double text_len) {
  const double h = c.hidden_size, kv = c.num_key_value_heads * c.head_dim();
  const double layer_weights = (h * (h + 2 * kv) + h * h) + 2 * h * h + 3 * h * c.intermediate_size;
  return 2 * (layer_weights * c.num_hidden_layers + h * c.vocab_size) +
         2 * kv * c.num_hidden_layers * (video_kv_elem_bytes() * m + 2 * text_len);
}

// The text KV bytes alone (one sequence's share of a batched step).
double decode_bytes_text(const VambaConfig& c, double text_len) {
  return 2 * 2 * double(c.num_key_value_heads) * c.head_dim() * c.num_hidden_layers * text_len;
}

// --profile-step N: the N-th decode step of every case runs between cudaProfilerStart and Stop,
// so `ncu --profile-from-start off` sees exactly one step's kernels (and their own durations).
int g_profile_step = -1;

void profiler(bool start) {
#ifdef VAMBA_WITH_CUDA
  (void)(start ? cudaProfilerStart() : cudaProfilerStop());
#else
  (void)start;
#endif
}

int run(std::vector<int64_t> token_counts, int prompt_len, int decode_steps, int layers,
        const std::string& device_name, const std::vector<int>& decode_batches) {
  auto device = parse_device(device_name);
  if (!device.ok()) return fprintf(stderr, "%s\n", device.status().message().c_str()), 2;
  VambaConfig config = vamba_7b_config();
  if (layers > 0) config.num_hidden_layers = layers;
  auto stream = Stream::create(*device);
  if (!stream.ok()) return fprintf(stderr, "%s\n", stream.status().to_string().c_str()), 1;

  double t0 = now_s();
  auto ck = random_checkpoint(config, 1234, 16);
  if (!ck.ok()) return fprintf(stderr, "%s\n", ck.status().to_string().c_str()), 1;
  auto lm = VambaLm::load(*ck, *device, *stream);
  if (!lm.ok()) return fprintf(stderr, "%s\n", lm.status().to_string().c_str()), 1;
  ck->weights.clear();  // the host copies are no longer needed
  (void)stream->synchronize();
  fprintf(stderr, "loaded random 7B-shape LM (%d layers) in %.1f s\n", config.num_hidden_layers,
          now_s() - t0);

  std::vector<int64_t> prompt(prompt_len);
  for (int i = 0; i < prompt_len; ++i) prompt[i] = 1000 + 37 * i;
  // A small first case, not reported: cuBLASLt heuristics, kernel loading and the allocator's
  // first blocks happen there rather than in the first timed prefill.
  token_counts.insert(token_counts.begin(), -2048);
  for (int64_t signed_m : token_counts) {
    const bool warmup = signed_m < 0;
    const int64_t m = warmup ? -signed_m : signed_m;
    // Random video embeddings (what the vision tower would give), made on the CPU in chunks.
    std::vector<float> host(static_cast<size_t>(std::min<int64_t>(m, 4096) * config.hidden_size));
    uint64_t s = 99;
    for (auto& x : host) {
      s = s * 6364136223846793005ull + 1442695040888963407ull;
      x = static_cast<float>(static_cast<int64_t>(s >> 40) % 2001 - 1000) * 1e-3f;
    }
    auto video_state = (*lm)->new_video_state(*stream, m, g_kv_store);
    if (!video_state.ok()) {
      printf("bench=lm_prefill video_tokens=%lld error=\"%s\"\n", (long long)m,
             video_state.status().to_string().c_str());
      continue;
    }
    auto embeds = Tensor::empty({m, config.hidden_size}, DType::kBF16, *device);
    if (!embeds.ok()) {
      printf("bench=lm_prefill video_tokens=%lld error=\"%s\"\n", (long long)m,
             embeds.status().to_string().c_str());
      continue;
    }
    for (int64_t r = 0; r < m; r += 4096) {
      const int64_t rows = std::min<int64_t>(4096, m - r);
      auto piece = Tensor::from_floats(
          {rows, config.hidden_size},
          std::vector<float>(host.begin(), host.begin() + rows * config.hidden_size), DType::kBF16);
      auto dst = embeds->slice_rows(r, r + rows);
      if (!piece.ok() || !dst.ok() || !dst->copy_from(*piece, nullptr).ok()) return 1;
    }
    (void)stream->synchronize();

    double ts = now_s();
    Status st = (*lm)->append_video(*embeds, &*video_state, *stream);
    if (st.ok()) st = stream->synchronize();
    const double video_s = now_s() - ts;
    if (!st.ok()) {
      printf("bench=lm_prefill video_tokens=%lld error=\"%s\"\n", (long long)m,
             st.to_string().c_str());
      continue;
    }
    auto text = (*lm)->new_text_state(*stream, prompt_len + decode_steps + 1);
    TextOutput out;
    ts = now_s();
    st = (*lm)->forward_text(prompt, *video_state, &*text, &out, *stream);
    if (st.ok()) st = stream->synchronize();
    const double text_s = now_s() - ts;
    if (!st.ok()) {
      printf("bench=lm_prefill video_tokens=%lld error=\"%s\"\n", (long long)m,
             st.to_string().c_str());
      continue;
    }
    if (warmup) {
      fprintf(stderr, "warm-up: %lld video tokens\n", (long long)m);
      continue;
    }
    const double flops = video_flops(config, m) + text_flops(config, prompt_len, m);
    const double total_s = video_s + text_s;
    auto alloc = allocator_for(*device);
    const double peak_gib =
        alloc.ok() ? (*alloc)->stats().peak_in_use_bytes / double(1ull << 30) : 0.0;
    printf(
        "bench=lm_prefill device=%s video_tokens=%lld prompt=%d ms=%.1f video_ms=%.1f "
        "text_ms=%.1f tflops=%.1f floor_ms=%.1f x_floor=%.2f peak_gib=%.2f\n",
        device->to_string().c_str(), (long long)m, prompt_len, total_s * 1e3, video_s * 1e3,
        text_s * 1e3, flops / total_s / 1e12, flops / kPeakFlops * 1e3,
        total_s / (flops / kPeakFlops), peak_gib);
    fflush(stdout);

    // Decode: greedy steps at batch 1 and 8. Batch 8 is eight questions about this video (the
    // service's common case: they share the video's cross-attention K/V, each has its own text).
    for (const int batch : decode_batches) {
      std::vector<TextState> texts;
      std::vector<DecodeRequest> requests;
      for (int b = 0; b < batch && st.ok(); ++b) {
        auto t = (*lm)->new_text_state(*stream, prompt_len + decode_steps + 2);
        if (!t.ok()) {
          st = t.status();
          break;
        }
        texts.push_back(std::move(*t));
      }
      for (int b = 0; b < batch && st.ok(); ++b) {
        std::vector<int64_t> p = prompt;
        p.back() += b;  // distinct questions
        TextOutput o;
        st = (*lm)->forward_text(p, *video_state, &texts[b], &o, *stream);
        if (!st.ok()) break;
        auto id = ops::argmax(o.logits_last, *stream);
        if (!id.ok()) {
          st = id.status();
          break;
        }
        requests.push_back({*id, &*video_state, &texts[b]});
      }
      std::vector<double> step_ms, enqueue_ms;
      Tensor logits;
      for (int i = 0; i < decode_steps && st.ok(); ++i) {
        ts = now_s();
        const bool profiled = i == g_profile_step;
        if (profiled) profiler(true);
        st = (*lm)->decode_step(requests, &logits, *stream);
        if (!st.ok()) break;
        const double enqueued = now_s();
        // The greedy tokens of the whole batch: one launch, one synchronisation (as generate's
        // decode_step does).
        auto ids = ops::argmax_rows(logits, *stream);
        if (!ids.ok()) {
          st = ids.status();
          break;
        }
        for (int b = 0; b < batch; ++b) requests[b].token = (*ids)[b];
        if (profiled) profiler(false);
        step_ms.push_back((now_s() - ts) * 1e3);
        enqueue_ms.push_back((enqueued - ts) * 1e3);
      }
      if (!st.ok() || step_ms.empty()) {
        printf("bench=lm_decode video_tokens=%lld batch=%d error=\"%s\"\n", (long long)m, batch,
               st.to_string().c_str());
        st = ok_status();
        continue;
      }
      std::sort(step_ms.begin(), step_ms.end());
      std::sort(enqueue_ms.begin(), enqueue_ms.end());
      const double med = step_ms[step_ms.size() / 2];
      // The video K/V is read once per step for the whole batch; each sequence reads its own text.
      const double bytes = decode_bytes(config, m, 0) +
                           batch * decode_bytes_text(config, prompt_len + decode_steps / 2.0);
      const double floor_ms = bytes / kPeakBytes * 1e3;
      printf(
          "bench=lm_decode device=%s video_tokens=%lld batch=%d ms_per_step=%.2f "
          "host_enqueue_ms=%.2f tokens_per_s=%.1f floor_ms=%.2f x_floor=%.2f\n",
          device->to_string().c_str(), (long long)m, batch, med, enqueue_ms[enqueue_ms.size() / 2],
          batch * 1e3 / med, floor_ms, med / floor_ms);
      fflush(stdout);
    }
  }
  return 0;
}

}  // namespace
}  // namespace vamba::bench

int main(int argc, char** argv) {
  CLI::App app{"Vamba LM prefill/decode benchmark at 7B shapes with random weights"};
  std::vector<int64_t> tokens = {16384, 65536, 131072};
  int prompt = 64, steps = 32, layers = 0;
  std::string device = "cuda";
  std::vector<int> batches = {1, 8};
  app.add_option("--video-tokens", tokens, "Video token counts to run");
  app.add_option("--prompt", prompt, "Prompt tokens");
  app.add_option("--decode-steps", steps, "Decode steps timed per case");
  app.add_option("--layers", layers, "Override the layer count (smoke tests)");
  app.add_option("--device", device, "cuda or cpu");
  std::string kv = "bf16";
  app.add_option("--kv-store", kv, "The video K/V store: bf16 or fp8");
  app.add_option("--decode-batch", batches, "Decode batch sizes");
  app.add_option("--profile-step", vamba::bench::g_profile_step,
                 "Run this decode step of each case under cudaProfilerStart/Stop (for ncu)");
  CLI11_PARSE(app, argc, argv);
  const auto store = vamba::parse_kv_store(kv);
  if (!store) return fprintf(stderr, "--kv-store %s: expected bf16 or fp8\n", kv.c_str()), 2;
  vamba::bench::g_kv_store = *store;
  if (*store != vamba::KvStore::kActivation) printf("bench=lm_config kv_store=fp8\n");
  return vamba::bench::run(tokens, prompt, steps, layers, device, batches);
}
