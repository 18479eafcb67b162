// flash_fwd_kernel for head_dim 80: the real vision tower (embed 1280 / 16 heads). One head dim per
// file so builds run in parallel.
#include "kernels/attention/flash_fwd.cuh"

namespace vamba::kernels::attention_detail {

cudaError_t launch_flash_fwd_hdim80(const FlashArgs& a, bool ldmatrix, cudaStream_t stream) {
  return launch_flash_fwd<80>(a, ldmatrix, stream);
}

}  // namespace vamba::kernels::attention_detail
