#include "engine/ops/kv_quant.h"

#include "engine/ops/common.h"
#include "engine/ops/cuda_backend.h"
#include "kernels/reference/kv_fp8.h"

namespace vamba::ops {
namespace {

Status check_store(const char* op, const Tensor& data, const Tensor& scales, int64_t block,
                   Device device) {
  VAMBA_RETURN_IF_ERROR(detail::expect(op, "data", data, 3, DType::kU8, device));
  if (block <= 0) return invalid_argument(std::string(op) + ": block must be positive");
  const int64_t blocks = (data.dim(0) + block - 1) / block;
  VAMBA_RETURN_IF_ERROR(detail::expect(op, "scales", scales, 2, DType::kF32, device));
  if (scales.dim(0) < blocks || scales.dim(1) != data.dim(1)) {
    return detail::bad(op, "scales", detail::shape2(blocks, data.dim(1)), scales);
  }
  return ok_status();
}

}  // namespace

Status kv_fp8_append(const Tensor& src, int64_t start, int64_t block, Tensor* data, Tensor* scales,
                     const Stream& stream) {
  constexpr const char* op = "kv_fp8_append";
  if (data == nullptr || scales == nullptr) return invalid_argument("kv_fp8_append: null output");
  const Device device = data->device();
  VAMBA_RETURN_IF_ERROR(check_store(op, *data, *scales, block, device));
  VAMBA_RETURN_IF_ERROR(detail::expect(op, "src", src, 3, activation_dtype(device), device));
  const int64_t n = src.dim(0);
  if (src.dim(1) != data->dim(1) || src.dim(2) != data->dim(2) || start < 0 ||
      start + n > data->dim(0)) {
    return invalid_argument("kv_fp8_append: rows [" + std::to_string(start) + ", " +
                            std::to_string(start + n) + ") of " + src.describe() +
                            " do not fit the store " + data->describe());
  }
  if (n == 0) return ok_status();
  if (device.is_cuda()) return cuda_backend::kv_fp8_append(src, start, block, data, scales, stream);
  kernels::reference::kv_fp8_append(src.data<float>(), n, start, data->dim(1), data->dim(2), block,
                                    data->data<uint8_t>(), scales->data<float>());
  return ok_status();
}

Status kv_fp8_dequantize(const Tensor& data, const Tensor& scales, int64_t rows, int64_t block,
                         Tensor* out, const Stream& stream) {
  constexpr const char* op = "kv_fp8_dequantize";
  if (out == nullptr) return invalid_argument("kv_fp8_dequantize: null output");
  const Device device = data.device();
  VAMBA_RETURN_IF_ERROR(check_store(op, data, scales, block, device));
  if (rows < 0 || rows > data.dim(0)) {
    return invalid_argument("kv_fp8_dequantize: " + std::to_string(rows) + " rows of a store of " +
                            std::to_string(data.dim(0)));
  }
  VAMBA_RETURN_IF_ERROR(detail::prepare_output(op, "out", out, {rows, data.dim(1), data.dim(2)},
                                               activation_dtype(device), device));
  if (rows == 0) return ok_status();
  if (device.is_cuda())
    return cuda_backend::kv_fp8_dequantize(data, scales, rows, block, out, stream);
  kernels::reference::kv_fp8_dequantize(data.data<uint8_t>(), scales.data<float>(), rows,
                                        data.dim(1), data.dim(2), block, out->data<float>());
  return ok_status();
}

}  // namespace vamba::ops
