// The Mamba-2 mixer and Vamba's pre-norm block over the video tokens:
//   block(v) = v + mixer(norm(v)),  norm = mamba_ssm's RMSNorm (or LayerNorm) with eps 1e-5
//   mixer(u) = out_proj(gated_rmsnorm(ssd(conv(in_proj(u))), z))
// (see engine/ops/mamba.h for the packed layout). The conv and SSM states are carried in a
// MambaLayerState so a long video can be fed in pieces with the same result.
#pragma once

#include "engine/layers/linear.h"
#include "engine/layers/norm.h"
#include "engine/ops/mamba.h"
#include "engine/state/lm_state.h"

namespace vamba {

class Mamba2Mixer {
 public:
  Mamba2Mixer() = default;
  // "<prefix>.{in_proj,conv1d,norm,out_proj}", "<prefix>.{dt_bias,A_log,D}".
  static StatusOr<Mamba2Mixer> load(const WeightLoader& loader, const std::string& prefix,
                                    const MambaMixerConfig& config);

  // A zeroed state for a new sequence.
  StatusOr<MambaLayerState> new_state(const Stream& stream) const;

  // u: (L, hidden) → out: (L, hidden). state: carried in and out (null: start from zeros, drop
  // the final state).
  Status forward(const Tensor& u, MambaLayerState* state, Tensor* out, const Stream& stream) const;

  const ops::MambaDims& dims() const { return dims_; }

 private:
  ops::MambaDims dims_;
  Device device_;
  Linear in_proj_;   // (in_proj_dim, hidden)
  Tensor conv_w_;    // (conv_dim, d_conv)
  Tensor conv_b_;    // (conv_dim) or undefined
  Tensor dt_bias_;   // (H) f32
  Tensor A_;         // (H) f32, −exp(A_log)
  Tensor D_;         // (H) f32
  Tensor norm_w_;    // (d_inner)
  Linear out_proj_;  // (hidden, d_inner)
  bool norm_before_gate_ = false;
  float dt_min_ = 0.0f;
  float dt_max_ = 0.0f;
  static constexpr float kNormEps = 1e-5f;  // RMSNormGated's default, not the config's
};

// Vamba's vision_mixer: Mamba2Block with pre-norm and residual.
class Mamba2Block {
 public:
  Mamba2Block() = default;
  // "<prefix>.norm", "<prefix>.mixer".
  static StatusOr<Mamba2Block> load(const WeightLoader& loader, const std::string& prefix,
                                    const MambaMixerConfig& config);

  StatusOr<MambaLayerState> new_state(const Stream& stream) const {
    return mixer_.new_state(stream);
  }

  // Optional intermediates for layer-by-layer parity checks.
  struct Capture {
    Tensor norm_out;   // (L, hidden)
    Tensor mixer_out;  // (L, hidden)
  };

  // v: (L, hidden) → v_next = v + mixer(norm(v)): (L, hidden).
  Status forward(const Tensor& v, MambaLayerState* state, Tensor* v_next, const Stream& stream,
                 Capture* capture = nullptr) const;

 private:
  bool layer_norm_ = false;
  RmsNorm rms_;
  LayerNorm ln_;
  Mamba2Mixer mixer_;
  static constexpr float kNormEps = 1e-5f;  // mamba_ssm's block norm, not the config's
};

}  // namespace vamba
