// flash_fwd_kernel for head_dim 32: the tiny language model (hidden 128 / 4 heads). One head dim
// per file so builds run in parallel.
#include "kernels/attention/flash_fwd.cuh"

namespace vamba::kernels::attention_detail {

cudaError_t launch_flash_fwd_hdim32(const FlashArgs& a, bool ldmatrix, cudaStream_t stream) {
  return launch_flash_fwd<32>(a, ldmatrix, stream);
}

}  // namespace vamba::kernels::attention_detail
