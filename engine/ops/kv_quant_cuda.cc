// The CUDA side of engine/ops/kv_quant.h (kernels/quant/kv_fp8.h).
#include <cuda_runtime_api.h>

#include <string>

#include "engine/ops/cuda_backend.h"
#include "kernels/quant/kv_fp8.h"

namespace vamba::ops::cuda_backend {
namespace {

cudaStream_t cu(const Stream& stream) { return static_cast<cudaStream_t>(stream.handle()); }

Status from_cuda(cudaError_t e, const char* op) {
  if (e == cudaSuccess) return ok_status();
  return internal_error(std::string(op) + ": " + cudaGetErrorName(e) + " (" +
                        cudaGetErrorString(e) + ")");
}

}  // namespace

Status kv_fp8_append(const Tensor& src, int64_t start, int64_t block, Tensor* data, Tensor* scales,
                     const Stream& stream) {
  return from_cuda(
      kernels::kv_fp8_append(src.raw_data(), src.dim(0), start, data->dim(1), data->dim(2), block,
                             data->data<uint8_t>(), scales->data<float>(), cu(stream)),
      "kv_fp8_append");
}

Status kv_fp8_dequantize(const Tensor& data, const Tensor& scales, int64_t rows, int64_t block,
                         Tensor* out, const Stream& stream) {
  return from_cuda(
      kernels::kv_fp8_dequantize(data.data<uint8_t>(), scales.data<float>(), rows, data.dim(1),
                                 data.dim(2), block, out->raw_data(), cu(stream)),
      "kv_fp8_dequantize");
}

}  // namespace vamba::ops::cuda_backend
