// How a video's cross-attention keys and values are stored. They are the only state that grows with
// the video (57,344 bytes per video token in bf16 at 7B: 28 layers × 2 × 4 KV heads × 128), so
// their element type sets the longest video one GPU can hold.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace vamba {

enum class KvStore {
  kActivation,  // the activation dtype: bf16 on CUDA, f32 on the CPU (exact)
  kFp8E4M3,     // fp8 e4m3 with one f32 scale per (KV head, block of tokens): half of bf16
};

// "bf16"/"activation" → kActivation, "fp8" → kFp8E4M3; nullopt for anything else.
inline std::optional<KvStore> parse_kv_store(const std::string& name) {
  if (name == "bf16" || name == "activation" || name == "auto") return KvStore::kActivation;
  if (name == "fp8" || name == "fp8_e4m3") return KvStore::kFp8E4M3;
  return std::nullopt;
}

// The fp8 layout (shared by the CPU reference, the CUDA kernels and the memory planner):
//   data   (capacity, heads, head_dim) bytes, fp8 e4m3 (OCP: 4 exponent bits, bias 7, max 448),
//          stored as DType::kU8;
//   scales (ceil(capacity / kFp8KvBlockTokens), heads) f32, for keys and for values separately:
//          element = fp8 value × scale, scale = absmax over the block's valid rows of that head /
//          448 (1 when the block is all zero). A block filled over several appends is requantized
//          as a whole when it grows, so its scale always covers every row in it.
constexpr int64_t kFp8KvBlockTokens = 64;
constexpr float kFp8E4M3Max = 448.0f;

// Device bytes one video token adds per layer (keys + values, scales amortised over a block).
inline int64_t kv_bytes_per_token(int64_t kv_heads, int64_t head_dim, int64_t activation_bytes,
                                  KvStore store) {
  if (store == KvStore::kFp8E4M3) {
    return 2 * kv_heads * head_dim + (2 * kv_heads * 4 + kFp8KvBlockTokens - 1) / kFp8KvBlockTokens;
  }
  return 2 * kv_heads * head_dim * activation_bytes;
}

inline const char* kv_store_name(KvStore s) { return s == KvStore::kFp8E4M3 ? "fp8" : "bf16"; }

}  // namespace vamba
