#include "engine/ops/rope.h"

#include <numeric>

#include "engine/ops/cuda_backend.h"
#include "kernels/reference/rope.h"

namespace vamba::ops {
namespace {

Status check_head_dim(const char* op, int64_t head_dim) {
  if (head_dim <= 0 || head_dim % 2 != 0) {
    return invalid_argument(std::string(op) + ": head_dim must be even and positive, got " +
                            std::to_string(head_dim));
  }
  return ok_status();
}

// Moves CPU tables to `device` (no-op on the CPU).
StatusOr<RopeTables> place(RopeTables t, Device device, const Stream& stream) {
  if (device.is_cpu()) return t;
  RopeTables out;
  VAMBA_ASSIGN_OR_RETURN(out.cos, t.cos.to(device, &stream));
  VAMBA_ASSIGN_OR_RETURN(out.sin, t.sin.to(device, &stream));
  // The host tables must outlive the asynchronous copies.
  VAMBA_RETURN_IF_ERROR(stream.synchronize());
  return out;
}

}  // namespace

StatusOr<RopeTables> mrope_tables(const Tensor& position_ids, int64_t head_dim,
                                  const std::vector<int>& section, float theta, Device device,
                                  const Stream& stream) {
  constexpr const char* op = "mrope_tables";
  VAMBA_RETURN_IF_ERROR(check_head_dim(op, head_dim));
  VAMBA_RETURN_IF_ERROR(
      detail::expect(op, "position_ids", position_ids, 2, DType::kI64, Device::cpu()));
  VAMBA_RETURN_IF_ERROR(detail::expect_dim(op, "position_ids", position_ids, 0, 3));
  if (section.size() != 3 || std::accumulate(section.begin(), section.end(), 0) != head_dim / 2) {
    return invalid_argument("mrope_tables: mrope_section must have 3 entries summing to " +
                            std::to_string(head_dim / 2));
  }
  const int64_t n = position_ids.dim(1);
  RopeTables t;
  VAMBA_ASSIGN_OR_RETURN(t.cos, Tensor::empty({n, head_dim / 2}, DType::kF32));
  VAMBA_ASSIGN_OR_RETURN(t.sin, Tensor::empty({n, head_dim / 2}, DType::kF32));
  kernels::reference::mrope_angles(position_ids.data<int64_t>(), n, head_dim, section.data(), theta,
                                   t.cos.data<float>(), t.sin.data<float>());
  return place(std::move(t), device, stream);
}

StatusOr<RopeTables> text_rope_tables(int64_t start, int64_t n, int64_t head_dim,
                                      const std::vector<int>& section, float theta, Device device,
                                      const Stream& stream) {
  std::vector<int64_t> pos(static_cast<size_t>(3 * n));
  for (int64_t r = 0; r < 3; ++r) {
    for (int64_t i = 0; i < n; ++i) pos[r * n + i] = start + i;
  }
  VAMBA_ASSIGN_OR_RETURN(Tensor ids, Tensor::from_int64({3, n}, pos));
  return mrope_tables(ids, head_dim, section, theta, device, stream);
}

StatusOr<RopeTables> vision_rope_tables(const Tensor& grid_thw, int64_t merge_size,
                                        int64_t head_dim, float theta, Device device,
                                        const Stream& stream) {
  constexpr const char* op = "vision_rope_tables";
  VAMBA_RETURN_IF_ERROR(check_head_dim(op, head_dim));
  if (head_dim % 4 != 0) return invalid_argument("vision_rope_tables: head_dim must divide by 4");
  VAMBA_RETURN_IF_ERROR(detail::expect(op, "grid_thw", grid_thw, 2, DType::kI64, Device::cpu()));
  VAMBA_RETURN_IF_ERROR(detail::expect_dim(op, "grid_thw", grid_thw, 1, 3));
  const int64_t* g = grid_thw.data<int64_t>();
  int64_t n = 0;
  for (int64_t i = 0; i < grid_thw.dim(0); ++i) {
    const int64_t t = g[i * 3], h = g[i * 3 + 1], w = g[i * 3 + 2];
    if (t <= 0 || h <= 0 || w <= 0 || h % merge_size != 0 || w % merge_size != 0) {
      return invalid_argument("vision_rope_tables: grid " + std::to_string(i) +
                              " must be positive with h and w multiples of the merge size");
    }
    n += t * h * w;
  }
  RopeTables t;
  VAMBA_ASSIGN_OR_RETURN(t.cos, Tensor::empty({n, head_dim / 2}, DType::kF32));
  VAMBA_ASSIGN_OR_RETURN(t.sin, Tensor::empty({n, head_dim / 2}, DType::kF32));
  kernels::reference::vision_rope_angles(g, grid_thw.dim(0), merge_size, head_dim, theta,
                                         t.cos.data<float>(), t.sin.data<float>());
  return place(std::move(t), device, stream);
}

namespace {

// x (n, heads, head_dim) in the activation dtype; cos, sin (n, head_dim / 2) f32 on x's device.
Status check_rotary(const char* op, const char* name, const Tensor* x, const Tensor& cos,
                    const Tensor& sin) {
  if (x == nullptr) return detail::null_arg(op, name);
  const Device dev = x->device();
  VAMBA_RETURN_IF_ERROR(detail::expect(op, name, *x, 3, activation_dtype(dev), dev));
  const int64_t n = x->dim(0), d = x->dim(2);
  VAMBA_RETURN_IF_ERROR(check_head_dim(op, d));
  for (const auto& [table, t] :
       {std::pair<const char*, const Tensor*>{"cos", &cos}, {"sin", &sin}}) {
    VAMBA_RETURN_IF_ERROR(detail::expect(op, table, *t, 2, DType::kF32, dev));
    if (t->dim(0) != n || t->dim(1) != d / 2) {
      return detail::bad(op, table, detail::shape2(n, d / 2), *t);
    }
  }
  return ok_status();
}

void reference_rotary(Tensor* x, const Tensor& cos, const Tensor& sin) {
  kernels::reference::apply_rotary(x->data<float>(), cos.data<float>(), sin.data<float>(),
                                   x->dim(0), x->dim(1), x->dim(2));
}

}  // namespace

Status apply_rotary(Tensor* x, const Tensor& cos, const Tensor& sin, const Stream& stream) {
  VAMBA_RETURN_IF_ERROR(check_rotary("apply_rotary", "x", x, cos, sin));
  if (x->is_cuda()) return cuda_backend::apply_rotary(x, cos, sin, stream);
  reference_rotary(x, cos, sin);
  return ok_status();
}

Status apply_rotary_qk(Tensor* q, Tensor* k, const Tensor& cos, const Tensor& sin,
                       const Stream& stream) {
  // The tables fix both tensors' token count and head_dim, so q and k agree once both pass.
  VAMBA_RETURN_IF_ERROR(check_rotary("apply_rotary_qk", "q", q, cos, sin));
  VAMBA_RETURN_IF_ERROR(check_rotary("apply_rotary_qk", "k", k, cos, sin));
  if (q->is_cuda()) return cuda_backend::apply_rotary_qk(q, k, cos, sin, stream);
  reference_rotary(q, cos, sin);
  reference_rotary(k, cos, sin);
  return ok_status();
}

}  // namespace vamba::ops
