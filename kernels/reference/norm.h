// Normalisations: RMSNorm (Qwen2 and mamba_ssm), fused residual add + RMSNorm, LayerNorm, and
// Mamba-2's gated RMSNorm. Row statistics accumulate in double; outputs are fp32.
#pragma once

#include <cstdint>

namespace vamba::kernels::reference {

// x: (rows, dim); w: (dim); y: (rows, dim), may alias x.
// y = x / sqrt(mean(x²) + eps) · w
void rms_norm(const float* x, const float* w, float* y, int64_t rows, int64_t dim, float eps);

// residual: (rows, dim), updated in place: residual += x; then y = rms_norm(residual) · w.
// x: (rows, dim); y: (rows, dim), may alias x but not residual.
void add_rms_norm(float* residual, const float* x, const float* w, float* y, int64_t rows,
                  int64_t dim, float eps);

// x: (rows, dim); w, b: (dim) (b may be nullptr); y: (rows, dim), may alias x.
// y = (x − mean) / sqrt(var + eps) · w + b, var the biased variance (PyTorch LayerNorm).
void layer_norm(const float* x, const float* w, const float* b, float* y, int64_t rows, int64_t dim,
                float eps);

// Mamba-2's RMSNormGated (mamba_ssm.ops.triton.layernorm_gated.RMSNorm). x, z: (rows, dim);
// w: (dim); y: (rows, dim), may alias x. The row is split into dim / group_size groups, each
// normalised by its own statistics (ngroups > 1 in the mixer).
//   norm_before_gate == false (Vamba): y = rms_norm_g(x · silu(z)) · w
//   norm_before_gate == true:          y = rms_norm_g(x) · w · silu(z)
// z may be nullptr (no gate): y = rms_norm_g(x) · w.
void gated_rms_norm(const float* x, const float* z, const float* w, float* y, int64_t rows,
                    int64_t dim, int64_t group_size, bool norm_before_gate, float eps);

}  // namespace vamba::kernels::reference
