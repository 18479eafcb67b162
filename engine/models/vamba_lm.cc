#include "engine/models/vamba_lm.h"

#include <algorithm>

#include "engine/ops/ops.h"

namespace vamba {
namespace {

// A copy of t (captured tensors must not change when the model updates buffers in place).
StatusOr<Tensor> snapshot(const Tensor& t, const Stream& stream) {
  VAMBA_ASSIGN_OR_RETURN(Tensor c, Tensor::empty(t.shape(), t.dtype(), t.device()));
  VAMBA_RETURN_IF_ERROR(c.copy_from(t, &stream));
  return c;
}

}  // namespace

StatusOr<std::unique_ptr<VambaLm>> VambaLm::load(const Checkpoint& checkpoint, Device device,
                                                 const Stream& stream) {
  auto lm = std::unique_ptr<VambaLm>(new VambaLm());
  const VambaConfig& c = checkpoint.config;
  VAMBA_RETURN_IF_ERROR(c.validate());
  lm->config_ = c;
  lm->device_ = device;
  WeightLoader loader(checkpoint, device, stream);
  const float eps = static_cast<float>(c.rms_norm_eps);

  VAMBA_ASSIGN_OR_RETURN(lm->embed_, loader.get("model.embed_tokens.weight"));
  for (int l = 0; l < c.num_hidden_layers; ++l) {
    Layer layer;
    VAMBA_ASSIGN_OR_RETURN(layer.input_norm,
                           RmsNorm::load(loader, layer_weight(l, "input_layernorm"), eps));
    VAMBA_ASSIGN_OR_RETURN(layer.post_norm,
                           RmsNorm::load(loader, layer_weight(l, "post_attention_layernorm"), eps));
    VAMBA_ASSIGN_OR_RETURN(layer.self_attn,
                           SelfAttention::load(loader, layer_weight(l, "self_attn"),
                                               c.num_attention_heads, c.num_key_value_heads));
    VAMBA_ASSIGN_OR_RETURN(layer.cross_attn,
                           CrossAttention::load(loader, layer_weight(l, "cross_attn"),
                                                c.num_attention_heads, c.num_key_value_heads));
    VAMBA_ASSIGN_OR_RETURN(layer.mlp, Mlp::load(loader, layer_weight(l, "mlp")));
    if (c.mamba.enable) {
      layer.has_mixer = true;
      VAMBA_ASSIGN_OR_RETURN(layer.mixer,
                             Mamba2Block::load(loader, layer_weight(l, "vision_mixer"), c.mamba));
    }
    if (c.use_alpha_balancing) {
      VAMBA_ASSIGN_OR_RETURN(std::vector<float> alpha,
                             loader.host_floats(layer_weight(l, "alpha")));
      if (alpha.size() != 1)
        return invalid_argument(layer_weight(l, "alpha") + " must hold 1 value");
      // The reference clamps alpha to [0, 1] in place before using it.
      const float a = std::clamp(alpha[0], 0.0f, 1.0f);
      layer.alpha_s = a;
      layer.alpha_c = 1.0f - a;
    }
    lm->layers_.push_back(std::move(layer));
  }
  VAMBA_ASSIGN_OR_RETURN(lm->final_norm_, RmsNorm::load(loader, "model.norm", eps));
  // lm_head.weight, or the embedding matrix when tied and the checkpoint omits the head.
  if (checkpoint.weights.count("lm_head.weight") == 0 && c.tie_word_embeddings) {
    lm->lm_head_ = lm->embed_;
  } else {
    VAMBA_ASSIGN_OR_RETURN(lm->lm_head_, loader.get("lm_head.weight"));
  }
  return lm;
}

StatusOr<VideoState> VambaLm::new_video_state(const Stream& stream, int64_t token_capacity,
                                              KvStore store) const {
  VideoState v;
  const DType act = ops::activation_dtype(device_);
  for (const Layer& layer : layers_) {
    KvBuffer kv(layer.cross_attn.num_kv_heads(), layer.cross_attn.head_dim(), act, device_, store);
    if (token_capacity > 0) VAMBA_RETURN_IF_ERROR(kv.reserve(token_capacity, stream));
    v.cross_kv.push_back(std::move(kv));
    if (layer.has_mixer) {
      VAMBA_ASSIGN_OR_RETURN(MambaLayerState s, layer.mixer.new_state(stream));
      v.mamba.push_back(std::move(s));
    }
  }
  return v;
}

StatusOr<TextState> VambaLm::new_text_state(const Stream& stream, int64_t position_capacity) const {
  TextState t;
  const DType act = ops::activation_dtype(device_);
  for (const Layer& layer : layers_) {
    KvBuffer kv(layer.self_attn.num_kv_heads(), layer.self_attn.head_dim(), act, device_);
    if (position_capacity > 0) VAMBA_RETURN_IF_ERROR(kv.reserve(position_capacity, stream));
    t.kv.push_back(std::move(kv));
  }
  return t;
}

Status VambaLm::append_video(const Tensor& video_embeds, VideoState* video, const Stream& stream,
                             const VideoOptions& options, VideoCapture* capture) const {
  if (video == nullptr) return invalid_argument("append_video: video state is null");
  if (video->cross_kv.size() != layers_.size()) {
    return invalid_argument("append_video: the video state was not made by this model");
  }
  if (!video_embeds.defined() || video_embeds.rank() != 2 ||
      video_embeds.dim(1) != config_.hidden_size ||
      !(video_embeds.dtype() == DType::kF32 || video_embeds.dtype() == DType::kBF16 ||
        video_embeds.dtype() == DType::kF16)) {
    return invalid_argument("append_video: video_embeds must be a float (m, " +
                            std::to_string(config_.hidden_size) + ") tensor, got " +
                            (video_embeds.defined() ? video_embeds.describe() : "undefined"));
  }
  // v_0 in the activation dtype on the device.
  const DType act = ops::activation_dtype(device_);
  Tensor v0 = video_embeds;
  if (v0.dtype() != act || !(v0.device() == device_)) {
    if (v0.dtype() == DType::kF16 || (v0.is_cuda() && !(v0.device() == device_))) {
      VAMBA_ASSIGN_OR_RETURN(v0, v0.to_dtype_cpu(DType::kF32));
    }
    if (!(v0.device() == device_)) {
      VAMBA_ASSIGN_OR_RETURN(v0, v0.to(device_, &stream));
      VAMBA_RETURN_IF_ERROR(stream.synchronize());  // the host source may be a temporary
    }
    if (v0.dtype() != act) {
      Tensor converted;
      VAMBA_RETURN_IF_ERROR(ops::cast(v0, act, &converted, stream));
      v0 = converted;
    }
  }
  const int64_t m = v0.dim(0);
  const int64_t step =
      options.max_chunk_tokens > 0 ? options.max_chunk_tokens : std::max<int64_t>(m, 1);
  for (int64_t b = 0; b < m; b += step) {
    VAMBA_ASSIGN_OR_RETURN(Tensor piece, v0.slice_rows(b, std::min(m, b + step)));
    // Only the last piece's intermediates are captured.
    VideoCapture* cap = (capture && b + step >= m) ? capture : nullptr;
    VAMBA_RETURN_IF_ERROR(append_video_piece(piece, video, stream, cap));
  }
  return ok_status();
}

Status VambaLm::append_video_piece(const Tensor& v0, VideoState* video, const Stream& stream,
                                   VideoCapture* capture) const {
  if (capture) capture->layers.assign(layers_.size(), {});
  Tensor v = v0;  // (m, hidden): v_l of this piece
  for (size_t l = 0; l < layers_.size(); ++l) {
    const Layer& layer = layers_[l];
    VAMBA_RETURN_IF_ERROR(layer.cross_attn.project_video(v, &video->cross_kv[l], stream));
    if (!layer.has_mixer) {
      if (capture) capture->layers[l].video_layer_out = v;
      continue;
    }
    Mamba2Block::Capture mc;
    Tensor next;  // (m, hidden) v_{l+1}
    VAMBA_RETURN_IF_ERROR(
        layer.mixer.forward(v, &video->mamba[l], &next, stream, capture ? &mc : nullptr));
    if (capture) {
      capture->layers[l].mamba_norm_out = mc.norm_out;
      capture->layers[l].mamba_mixer_out = mc.mixer_out;
      capture->layers[l].video_layer_out = next;
    }
    v = next;
  }
  video->tokens += v0.dim(0);
  return ok_status();
}

StatusOr<Tensor> VambaLm::ids_tensor(const std::vector<int64_t>& ids, const Stream& stream) const {
  for (size_t i = 0; i < ids.size(); ++i) {
    if (ids[i] < 0 || ids[i] >= embed_.dim(0)) {
      return invalid_argument("token id " + std::to_string(ids[i]) + " at position " +
                              std::to_string(i) + " is outside the vocabulary [0, " +
                              std::to_string(embed_.dim(0)) + ")");
    }
  }
  VAMBA_ASSIGN_OR_RETURN(Tensor host, Tensor::from_int64({static_cast<int64_t>(ids.size())}, ids));
  if (device_.is_cpu()) return host;
  VAMBA_ASSIGN_OR_RETURN(Tensor dev, host.to(device_, &stream));
  VAMBA_RETURN_IF_ERROR(stream.synchronize());
  return dev;
}

Status VambaLm::forward_text(const std::vector<int64_t>& ids, const VideoState& video,
                             TextState* text, TextOutput* out, const Stream& stream,
                             const TextOptions& options, TextCapture* capture) const {
  if (text == nullptr || out == nullptr) return invalid_argument("forward_text: null argument");
  if (ids.empty()) return invalid_argument("forward_text: no tokens");
  if (text->kv.size() != layers_.size() || video.cross_kv.size() != layers_.size()) {
    return invalid_argument("forward_text: the states were not made by this model");
  }
  const int64_t n = static_cast<int64_t>(ids.size());
  const int64_t head_dim = config_.head_dim();
  VAMBA_ASSIGN_OR_RETURN(
      ops::RopeTables rope,
      ops::text_rope_tables(text->length, n, head_dim, config_.mrope_section,
                            static_cast<float>(config_.rope_theta), device_, stream));

  VAMBA_ASSIGN_OR_RETURN(Tensor id_tensor, ids_tensor(ids, stream));
  Tensor h;  // (n, hidden): the residual stream, updated in place
  VAMBA_RETURN_IF_ERROR(ops::embedding(embed_, id_tensor, &h, stream));
  if (capture) {
    VAMBA_ASSIGN_OR_RETURN(capture->text_embeds, snapshot(h, stream));
    capture->layers.assign(layers_.size(), {});
  }

  Tensor x;  // (n, hidden): the normed input of the current sub-block
  VAMBA_RETURN_IF_ERROR(layers_[0].input_norm.forward(h, &x, stream));
  for (size_t l = 0; l < layers_.size(); ++l) {
    const Layer& layer = layers_[l];
    Tensor s, c;  // (n, hidden)
    VAMBA_RETURN_IF_ERROR(layer.self_attn.forward(x, rope, &text->kv[l], &s, stream));
    if (video.cross_kv[l].length() > 0) {
      VAMBA_RETURN_IF_ERROR(layer.cross_attn.forward(x, video.cross_kv[l], &c, stream));
    } else {
      // No video tokens: nothing to attend to, and o_proj has no bias, so c = 0.
      VAMBA_ASSIGN_OR_RETURN(c, Tensor::zeros(h.shape(), h.dtype(), device_, &stream));
    }
    VAMBA_RETURN_IF_ERROR(ops::residual_blend(&h, s, c, layer.alpha_s, layer.alpha_c, stream));

    Tensor normed, mlp_out;  // (n, hidden)
    VAMBA_RETURN_IF_ERROR(layer.post_norm.forward(h, &normed, stream));
    VAMBA_RETURN_IF_ERROR(layer.mlp.forward(normed, &mlp_out, stream));
    // h += mlp_out, fused with the next norm (the next layer's input norm, or the final norm).
    const RmsNorm& next_norm = l + 1 < layers_.size() ? layers_[l + 1].input_norm : final_norm_;
    Tensor next_x;
    VAMBA_RETURN_IF_ERROR(next_norm.add_forward(&h, mlp_out, &next_x, stream));
    if (capture) {
      TextLayerCapture& cap = capture->layers[l];
      cap.self_attn_out = s;
      cap.cross_attn_out = c;
      cap.mlp_out = mlp_out;
      VAMBA_ASSIGN_OR_RETURN(cap.text_layer_out, snapshot(h, stream));
    }
    x = next_x;
  }
  text->length += n;
  out->hidden = x;  // after the final norm

  // Logits in f32: the CPU computes f32 anyway; CUDA writes f32 from the bf16 GEMM.
  VAMBA_ASSIGN_OR_RETURN(Tensor last, x.slice_rows(n - 1, n));
  VAMBA_ASSIGN_OR_RETURN(Tensor logits, Tensor::empty({1, vocab_size()}, DType::kF32, device_));
  VAMBA_RETURN_IF_ERROR(ops::linear(last, lm_head_, Tensor(), &logits, stream));
  VAMBA_ASSIGN_OR_RETURN(out->logits_last, logits.reshape({vocab_size()}));
  out->logits_all = Tensor();
  if (options.logits_all) {
    VAMBA_ASSIGN_OR_RETURN(out->logits_all, Tensor::empty({n, vocab_size()}, DType::kF32, device_));
    VAMBA_RETURN_IF_ERROR(ops::linear(x, lm_head_, Tensor(), &out->logits_all, stream));
  }
  return ok_status();
}

Status VambaLm::decode_step(const std::vector<DecodeRequest>& batch, Tensor* logits,
                            const Stream& stream) const {
  if (logits == nullptr) return invalid_argument("decode_step: null logits");
  if (batch.empty()) return invalid_argument("decode_step: empty batch");
  const int64_t b = static_cast<int64_t>(batch.size());
  std::vector<int64_t> ids(b);
  std::vector<int64_t> positions(3 * b);  // M-RoPE rows (t, h, w): equal for text
  std::vector<const VideoState*> videos(b);
  for (int64_t i = 0; i < b; ++i) {
    const DecodeRequest& r = batch[i];
    if (r.text == nullptr || r.video == nullptr) {
      return invalid_argument("decode_step: sequence " + std::to_string(i) + " has no state");
    }
    if (r.text->kv.size() != layers_.size() || r.video->cross_kv.size() != layers_.size()) {
      return invalid_argument("decode_step: the states of sequence " + std::to_string(i) +
                              " were not made by this model");
    }
    for (int64_t j = 0; j < i; ++j) {
      if (batch[j].text == r.text) {
        return invalid_argument("decode_step: sequences " + std::to_string(j) + " and " +
                                std::to_string(i) + " share a text state");
      }
    }
    ids[i] = r.token;
    positions[i] = positions[b + i] = positions[2 * b + i] = r.text->length;
  }
  VAMBA_ASSIGN_OR_RETURN(Tensor position_ids, Tensor::from_int64({3, b}, positions));
  VAMBA_ASSIGN_OR_RETURN(
      ops::RopeTables rope,
      ops::mrope_tables(position_ids, config_.head_dim(), config_.mrope_section,
                        static_cast<float>(config_.rope_theta), device_, stream));
  VAMBA_ASSIGN_OR_RETURN(Tensor id_tensor, ids_tensor(ids, stream));
  Tensor h;  // (B, hidden)
  VAMBA_RETURN_IF_ERROR(ops::embedding(embed_, id_tensor, &h, stream));

  std::vector<KvBuffer*> caches(b);
  std::vector<const KvBuffer*> video_kvs(b);
  Tensor x;
  VAMBA_RETURN_IF_ERROR(layers_[0].input_norm.forward(h, &x, stream));
  for (size_t l = 0; l < layers_.size(); ++l) {
    const Layer& layer = layers_[l];
    for (int64_t i = 0; i < b; ++i) {
      caches[i] = &batch[i].text->kv[l];
      video_kvs[i] = &batch[i].video->cross_kv[l];
    }
    // The two attentions up to their output projections, then both projections and the blend
    // h += alpha_s · s + alpha_c · c as one product (one fused launch for decode batches).
    Tensor sa, ca;  // (B, heads · head_dim)
    VAMBA_RETURN_IF_ERROR(layer.self_attn.decode_batch_attend(x, rope, caches, &sa, stream));
    VAMBA_RETURN_IF_ERROR(layer.cross_attn.attend_batch(x, video_kvs, &ca, stream));
    VAMBA_RETURN_IF_ERROR(ops::linear_pair_residual(sa, layer.self_attn.o_proj().weight(), ca,
                                                    layer.cross_attn.o_proj().weight(),
                                                    layer.alpha_s, layer.alpha_c, &h, stream));
    Tensor normed, mlp_out;
    VAMBA_RETURN_IF_ERROR(layer.post_norm.forward(h, &normed, stream));
    VAMBA_RETURN_IF_ERROR(layer.mlp.forward(normed, &mlp_out, stream));
    const RmsNorm& next_norm = l + 1 < layers_.size() ? layers_[l + 1].input_norm : final_norm_;
    Tensor next_x;
    VAMBA_RETURN_IF_ERROR(next_norm.add_forward(&h, mlp_out, &next_x, stream));
    x = next_x;
  }
  for (const DecodeRequest& r : batch) r.text->length += 1;
  VAMBA_RETURN_IF_ERROR(ops::detail::prepare_output("decode_step", "logits", logits,
                                                    {b, vocab_size()}, DType::kF32, device_));
  return ops::linear(x, lm_head_, Tensor(), logits, stream);
}

}  // namespace vamba
