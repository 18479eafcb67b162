// flash_fwd_kernel for head_dim 128: the 7B language model (hidden 3584 / 28 heads). One head dim
// per file so builds run in parallel.
#include "kernels/attention/flash_fwd.cuh"

namespace vamba::kernels::attention_detail {

cudaError_t launch_flash_fwd_hdim128(const FlashArgs& a, bool ldmatrix, cudaStream_t stream) {
  return launch_flash_fwd<128>(a, ldmatrix, stream);
}

}  // namespace vamba::kernels::attention_detail
