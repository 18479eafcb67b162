// The Vamba hybrid language model (the decoder of Vamba-Qwen2-VL), on the CPU (f32) or CUDA (bf16).
//
// Per layer l, with text h and video states v_l:
//   x = input_layernorm(h)
//   s = SelfAttn(x)            causal, GQA, M-RoPE, text KV cache
//   c = CrossAttn(x, v_l)      keys/values from v_l, computed once per video (VideoState)
//   h = h + α·s + (1 − α)·c    α = clamp(alpha, 0, 1) with use_alpha_balancing, else h + s + c
//   v_{l+1} = v_l + Mamba2(RMSNorm_1e-5(v_l))     video only, no MLP
//   h = h + MLP(post_attention_layernorm(h))
// then the final RMSNorm and lm_head. Text positions are 0..n−1 in all three M-RoPE rows; decoding
// continues at n.
//
// The API splits the video from the text because the video never depends on the question:
//   VideoState video = new_video_state();  append_video(v0_piece, &video) … (any number of pieces)
//   TextState text = new_text_state();     forward_text(prompt, video, &text, &out)
//                                          forward_text({next_token}, video, &text, &out) …
// A VideoState is read-only for forward_text, so one encoded video serves many questions (each with
// its own TextState), and pieces of a long or live video can be appended between questions.
#pragma once

#include <memory>
#include <vector>

#include "engine/layers/cross_attention.h"
#include "engine/layers/mamba2.h"
#include "engine/layers/mlp.h"
#include "engine/layers/norm.h"
#include "engine/layers/self_attention.h"
#include "engine/model/checkpoint.h"
#include "engine/state/lm_state.h"

namespace vamba {

// Named intermediates for layer-by-layer parity (the golden file's names). Filled only when asked.
struct TextLayerCapture {
  Tensor self_attn_out;   // (n, hidden) s
  Tensor cross_attn_out;  // (n, hidden) c
  Tensor mlp_out;         // (n, hidden)
  Tensor text_layer_out;  // (n, hidden) h after the layer
};
struct TextCapture {
  Tensor text_embeds;  // (n, hidden)
  std::vector<TextLayerCapture> layers;
};
struct VideoLayerCapture {
  Tensor mamba_norm_out;   // (m, hidden) RMSNorm(v_l)
  Tensor mamba_mixer_out;  // (m, hidden) Mamba2(RMSNorm(v_l))
  Tensor video_layer_out;  // (m, hidden) v_{l+1}
};
struct VideoCapture {
  std::vector<VideoLayerCapture> layers;  // of the last piece appended
};

struct VideoOptions {
  // Pieces longer than this are split (exactly: the Mamba state carries over), bounding the
  // activation memory of long videos. 0: never split.
  int64_t max_chunk_tokens = 8192;
};

struct TextOptions {
  bool logits_all = false;  // also compute logits for every position, not just the last
};

struct TextOutput {
  Tensor hidden;       // (n, hidden) after the final norm (activation dtype, on the device)
  Tensor logits_last;  // (vocab) f32 on the device
  Tensor logits_all;   // (n, vocab) f32 when TextOptions::logits_all
};

// One sequence of a batched decode step (VambaLm::decode_step).
struct DecodeRequest {
  int64_t token = 0;                  // fed at position text->length
  const VideoState* video = nullptr;  // the video this sequence asks about
  TextState* text = nullptr;          // its own text state (the KV cache grows by one)
};

class VambaLm {
 public:
  // Loads the language model's weights of `checkpoint` onto `device` (CPU: f32, CUDA: bf16).
  static StatusOr<std::unique_ptr<VambaLm>> load(const Checkpoint& checkpoint, Device device,
                                                 const Stream& stream);

  const VambaConfig& config() const { return config_; }
  Device device() const { return device_; }
  int64_t hidden_size() const { return config_.hidden_size; }
  int64_t vocab_size() const { return config_.vocab_size; }

  // Empty states. Capacities are hints (buffers grow as needed): the number of video tokens and
  // of text positions expected.
  // `store` chooses how the video's cross-attention K/V is kept (fp8 halves it; kv_store.h).
  StatusOr<VideoState> new_video_state(const Stream& stream, int64_t token_capacity = 0,
                                       KvStore store = KvStore::kActivation) const;
  StatusOr<TextState> new_text_state(const Stream& stream, int64_t position_capacity = 0) const;

  // Appends m video tokens: video_embeds (m, hidden) is v_0 of those tokens (the vision tower's
  // output), any floating dtype, any device. Runs every layer's cross-attention K/V projection and
  // Mamba pass over them, carrying each layer's Mamba state.
  Status append_video(const Tensor& video_embeds, VideoState* video, const Stream& stream,
                      const VideoOptions& options = {}, VideoCapture* capture = nullptr) const;

  // Runs n new text tokens at positions [text->length, text->length + n) against the video,
  // appending to the text KV cache. n > 1 is a prefill, n = 1 a decode step.
  Status forward_text(const std::vector<int64_t>& ids, const VideoState& video, TextState* text,
                      TextOutput* out, const Stream& stream, const TextOptions& options = {},
                      TextCapture* capture = nullptr) const;

  // One decode step for B sequences at once (each with its own text state, at its own position,
  // over its own or a shared video): every weight product runs once over B rows, so the weights
  // stream from memory once for the whole batch; attention runs per sequence. Equal, row for row,
  // to forward_text({token}, …) on each sequence alone. logits: (B, vocab) f32 on the device
  // (allocated when undefined). The text states must be distinct.
  Status decode_step(const std::vector<DecodeRequest>& batch, Tensor* logits,
                     const Stream& stream) const;

 private:
  struct Layer {
    RmsNorm input_norm;
    RmsNorm post_norm;
    SelfAttention self_attn;
    CrossAttention cross_attn;
    Mlp mlp;
    bool has_mixer = false;
    Mamba2Block mixer;
    float alpha_s = 1.0f;  // weight of the self-attention output
    float alpha_c = 1.0f;  // weight of the cross-attention output
  };

  Status append_video_piece(const Tensor& v0, VideoState* video, const Stream& stream,
                            VideoCapture* capture) const;
  // Host ids → (n) i64 on the device, checked against the vocabulary.
  StatusOr<Tensor> ids_tensor(const std::vector<int64_t>& ids, const Stream& stream) const;

  VambaConfig config_;
  Device device_;
  Tensor embed_;  // (vocab, hidden)
  std::vector<Layer> layers_;
  RmsNorm final_norm_;
  Tensor lm_head_;  // (vocab, hidden)
};

}  // namespace vamba
