// Tensor-level pieces of the Mamba-2 mixer, over the packed in_proj output
//   zxbcdt: (L, d_inner + conv_dim + H), columns [z (d_inner) | xBC (conv_dim) | dt (H)]
//   xBC:    (L, conv_dim) = [x (H·P) | B (G·N) | C (G·N)],  conv_dim = d_inner + 2·G·N
// so the CUDA backend can read column ranges in place instead of copying them apart. The mixer:
//   zxbcdt = in_proj(u); xbc = mamba_conv(zxbcdt); dt = mamba_dt(zxbcdt);
//   y = ssd_scan(xbc, dt); out = out_proj(mamba_gated_norm(y, zxbcdt)).
// States are f32 and carried across calls (pass the same tensors for the next piece of a sequence):
//   conv_state: (d_conv − 1, conv_dim), the last inputs of the conv, oldest first;
//   ssm_state:  (H, P, N).
// A null state pointer means "start from zeros and do not keep the final state". L = 1 is the
// single-step (decode) form; backends may specialise it.
#pragma once

#include "engine/ops/common.h"

namespace vamba::ops {

struct MambaDims {
  int64_t d_inner = 0;       // z width = H·P (d_ssm; Vamba has no MLP part)
  int64_t nheads = 0;        // H
  int64_t headdim = 0;       // P
  int64_t ngroups = 0;       // G
  int64_t dstate = 0;        // N
  int64_t d_conv = 0;        // W (4)
  int64_t chunk_size = 256;  // SSD chunk length for chunked kernels; the reference ignores it

  int64_t conv_dim() const { return d_inner + 2 * ngroups * dstate; }
  int64_t in_proj_dim() const { return d_inner + conv_dim() + nheads; }
  Status validate() const;
};

// xbc = silu(causal_conv1d(zxbcdt[:, xBC columns]) + conv_b).
// conv_w: (conv_dim, W) weight dtype (the checkpoint's (conv_dim, 1, W) reshaped); conv_b:
// (conv_dim) weight dtype or undefined; conv_state: f32 in/out or null; xbc: (L, conv_dim)
// activation dtype.
Status mamba_conv(const Tensor& zxbcdt, const Tensor& conv_w, const Tensor& conv_b,
                  const MambaDims& dims, Tensor* conv_state, Tensor* xbc, const Stream& stream);

// dt = clamp(softplus(zxbcdt[:, dt columns] + dt_bias), dt_min, dt_max).
// dt_bias: (H) f32; dt: (L, H) f32.
Status mamba_dt(const Tensor& zxbcdt, const Tensor& dt_bias, const MambaDims& dims, float dt_min,
                float dt_max, Tensor* dt, const Stream& stream);

// The SSD scan (see kernels/reference/ssd.h) over x, B, C read from xbc.
// dt: (L, H) f32; A: (H) f32 (= −exp(A_log)); D: (H) f32 or undefined; ssm_state: f32 in/out or
// null; y: (L, d_inner) activation dtype (heads × headdim, y = C·state + D·x, no gate).
Status ssd_scan(const Tensor& xbc, const Tensor& dt, const Tensor& A, const Tensor& D,
                const MambaDims& dims, Tensor* ssm_state, Tensor* y, const Stream& stream);

// Mamba-2's gated RMSNorm with z read from zxbcdt's first d_inner columns, groups of d_inner / G:
//   norm_before_gate false: out = rmsnorm_g(y · silu(z)) · w;  true: rmsnorm_g(y) · w · silu(z).
// y: (L, d_inner); norm_w: (d_inner) weight dtype; out: (L, d_inner) activation dtype.
Status mamba_gated_norm(const Tensor& y, const Tensor& zxbcdt, const Tensor& norm_w,
                        const MambaDims& dims, bool norm_before_gate, float eps, Tensor* out,
                        const Stream& stream);

}  // namespace vamba::ops
