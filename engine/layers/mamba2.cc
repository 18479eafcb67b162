#include "engine/layers/mamba2.h"

#include <cmath>

#include "engine/ops/activation.h"

namespace vamba {

StatusOr<Mamba2Mixer> Mamba2Mixer::load(const WeightLoader& loader, const std::string& prefix,
                                        const MambaMixerConfig& c) {
  if (c.ssm_dim() != c.d_inner()) {
    return unimplemented(prefix + ": d_ssm != d_inner (a Mamba-2 MLP branch) is not supported");
  }
  if (c.D_has_hdim) return unimplemented(prefix + ": D_has_hdim is not supported");
  if (!c.rmsnorm)
    return unimplemented(prefix + ": a mixer without its gated RMSNorm is not supported");
  Mamba2Mixer m;
  m.device_ = loader.device();
  m.dims_.d_inner = c.d_inner();
  m.dims_.nheads = c.nheads();
  m.dims_.headdim = c.headdim;
  m.dims_.ngroups = c.ngroups;
  m.dims_.dstate = c.d_state;
  m.dims_.d_conv = c.d_conv;
  m.dims_.chunk_size = c.chunk_size;
  VAMBA_RETURN_IF_ERROR(m.dims_.validate().with_context(prefix));
  m.norm_before_gate_ = c.norm_before_gate;
  m.dt_min_ = static_cast<float>(c.dt_limit[0]);
  m.dt_max_ = static_cast<float>(c.dt_limit[1]);

  VAMBA_ASSIGN_OR_RETURN(m.in_proj_, Linear::load(loader, prefix + ".in_proj", c.bias));
  VAMBA_ASSIGN_OR_RETURN(m.out_proj_, Linear::load(loader, prefix + ".out_proj", c.bias));
  VAMBA_ASSIGN_OR_RETURN(Tensor conv_w, loader.get(prefix + ".conv1d.weight"));
  VAMBA_ASSIGN_OR_RETURN(m.conv_w_, conv_w.reshape({m.dims_.conv_dim(), m.dims_.d_conv}));
  if (c.conv_bias) {
    VAMBA_ASSIGN_OR_RETURN(m.conv_b_, loader.get(prefix + ".conv1d.bias"));
  }
  VAMBA_ASSIGN_OR_RETURN(m.dt_bias_, loader.get_f32(prefix + ".dt_bias"));
  VAMBA_ASSIGN_OR_RETURN(m.D_, loader.get_f32(prefix + ".D"));
  VAMBA_ASSIGN_OR_RETURN(m.norm_w_, loader.get(prefix + ".norm.weight"));
  // A = −exp(A_log), computed once in f32 as the reference does.
  VAMBA_ASSIGN_OR_RETURN(std::vector<float> a_log, loader.host_floats(prefix + ".A_log"));
  for (float& a : a_log) a = -std::exp(a);
  VAMBA_ASSIGN_OR_RETURN(Tensor a_host,
                         Tensor::from_floats({static_cast<int64_t>(a_log.size())}, a_log));
  VAMBA_ASSIGN_OR_RETURN(m.A_, loader.place(a_host, DType::kF32));
  return m;
}

StatusOr<MambaLayerState> Mamba2Mixer::new_state(const Stream& stream) const {
  MambaLayerState s;
  VAMBA_ASSIGN_OR_RETURN(
      s.conv, Tensor::zeros({dims_.d_conv - 1, dims_.conv_dim()}, DType::kF32, device_, &stream));
  VAMBA_ASSIGN_OR_RETURN(s.ssm, Tensor::zeros({dims_.nheads, dims_.headdim, dims_.dstate},
                                              DType::kF32, device_, &stream));
  return s;
}

Status Mamba2Mixer::forward(const Tensor& u, MambaLayerState* state, Tensor* out,
                            const Stream& stream) const {
  Tensor zxbcdt;  // (L, in_proj_dim) = [z | xBC | dt]
  VAMBA_RETURN_IF_ERROR(in_proj_.forward(u, &zxbcdt, stream));
  Tensor xbc;  // (L, conv_dim)
  VAMBA_RETURN_IF_ERROR(ops::mamba_conv(zxbcdt, conv_w_, conv_b_, dims_,
                                        state ? &state->conv : nullptr, &xbc, stream));
  Tensor dt;  // (L, H) f32
  VAMBA_RETURN_IF_ERROR(ops::mamba_dt(zxbcdt, dt_bias_, dims_, dt_min_, dt_max_, &dt, stream));
  Tensor y;  // (L, d_inner)
  VAMBA_RETURN_IF_ERROR(
      ops::ssd_scan(xbc, dt, A_, D_, dims_, state ? &state->ssm : nullptr, &y, stream));
  Tensor gated;  // (L, d_inner)
  VAMBA_RETURN_IF_ERROR(ops::mamba_gated_norm(y, zxbcdt, norm_w_, dims_, norm_before_gate_,
                                              kNormEps, &gated, stream));
  return out_proj_.forward(gated, out, stream);
}

StatusOr<Mamba2Block> Mamba2Block::load(const WeightLoader& loader, const std::string& prefix,
                                        const MambaMixerConfig& c) {
  Mamba2Block b;
  if (c.norm_type == "layernorm") {
    b.layer_norm_ = true;
    VAMBA_ASSIGN_OR_RETURN(b.ln_, LayerNorm::load(loader, prefix + ".norm", kNormEps));
  } else if (c.norm_type == "rmsnorm") {
    VAMBA_ASSIGN_OR_RETURN(b.rms_, RmsNorm::load(loader, prefix + ".norm", kNormEps));
  } else {
    return invalid_argument(prefix + ": unknown norm_type '" + c.norm_type + "'");
  }
  VAMBA_ASSIGN_OR_RETURN(b.mixer_, Mamba2Mixer::load(loader, prefix + ".mixer", c));
  return b;
}

Status Mamba2Block::forward(const Tensor& v, MambaLayerState* state, Tensor* v_next,
                            const Stream& stream, Capture* capture) const {
  Tensor normed;  // (L, hidden)
  if (layer_norm_) {
    VAMBA_RETURN_IF_ERROR(ln_.forward(v, &normed, stream));
  } else {
    VAMBA_RETURN_IF_ERROR(rms_.forward(v, &normed, stream));
  }
  Tensor mixed;  // (L, hidden)
  VAMBA_RETURN_IF_ERROR(mixer_.forward(normed, state, &mixed, stream));
  if (capture) {
    capture->norm_out = normed;
    capture->mixer_out = mixed;
  }
  return ops::add(v, mixed, v_next, stream);
}

}  // namespace vamba
