// Next-token selection on the device: argmax, the top-k listing, and sampling with temperature,
// top-k and top-p, matching kernels/reference/sampling.h (same token for the same u, up to ties and
// the last bits of the probabilities).
//
// Logits are f32 or bf16 rows of `vocab` values. Order everywhere is the reference's: descending
// value, ties by lower index, NaN last (and never picked by argmax unless the row is all NaN).
//
// argmax is one block per row (a single pass). top_k and sample sort the row instead of selecting
// in place: a stable descending radix sort of (value key, index) pairs (CUB) puts the row in
// exactly the reference's order, after which top-k is a prefix, top-p a prefix found by a scan, and
// the sample an inverse-CDF search from the front, where the probability mass concentrates. One row
// per call (decode samples one row per sequence).
#pragma once

#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>

namespace vamba::kernels {

struct ArgmaxParams {
  const void* logits = nullptr;  // (rows, vocab) f32 or bf16, row stride ld (0 = vocab)
  bool f32 = true;
  int64_t rows = 0;
  int64_t vocab = 0;
  int64_t ld = 0;
  int64_t* ids = nullptr;  // (rows) on the device
};

struct TopKParams {
  const void* logits = nullptr;  // (vocab) f32 or bf16
  bool f32 = true;
  int64_t vocab = 0;
  int64_t k = 0;              // 1 ≤ k ≤ vocab
  float* values = nullptr;    // (k) on the device: descending (the logits as floats)
  int64_t* ids = nullptr;     // (k) on the device
  void* workspace = nullptr;  // sampling_workspace_bytes(vocab) bytes on the device
  size_t workspace_bytes = 0;
};

struct SampleParams {
  const void* logits = nullptr;  // (vocab) f32 or bf16
  bool f32 = true;
  int64_t vocab = 0;
  float temperature = 1.0f;   // > 0 (greedy is argmax: the caller dispatches)
  int64_t top_k = 0;          // ≤ 0 or ≥ vocab: off
  float top_p = 1.0f;         // ≥ 1: off
  double u = 0.0;             // uniform in [0, 1), drawn by the caller's seeded generator
  int64_t* id = nullptr;      // (1) on the device: the sampled token
  void* workspace = nullptr;  // sampling_workspace_bytes(vocab) bytes on the device
  size_t workspace_bytes = 0;
};

// Scratch for top_k and sample: keys and indices twice (sort in and out) plus CUB's temporary
// storage. Host-only query; 0 when vocab is out of range.
size_t sampling_workspace_bytes(int64_t vocab);

// Null pointers, vocab outside [1, 2^31 − 1], k outside [1, vocab], temperature ≤ 0, u outside
// [0, 1), a workspace smaller than sampling_workspace_bytes(vocab). nullptr when it can run.
const char* can_implement(const ArgmaxParams& p);
const char* can_implement(const TopKParams& p);
const char* can_implement(const SampleParams& p);

cudaError_t argmax(const ArgmaxParams& p, cudaStream_t stream);
cudaError_t top_k(const TopKParams& p, cudaStream_t stream);
cudaError_t sample(const SampleParams& p, cudaStream_t stream);

}  // namespace vamba::kernels
