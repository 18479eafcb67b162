// vamba info: what this build can do (backends, GPUs) — the first thing to run on a new machine.
#include <iostream>

#include "cli/command.h"
#include "engine/core/device.h"

namespace {

vamba::cli::RunFn setup_info(CLI::App& sub) {
  return [] {
    std::cout << "vamba " << VAMBA_VERSION_STRING << "\n";
#ifdef VAMBA_WITH_CUDA
    std::cout << "cuda backend: built\n";
#else
    std::cout << "cuda backend: not built (CPU only)\n";
#endif
#ifdef VAMBA_WITH_VIDEO
    std::cout << "video input: FFmpeg + OpenCV\n";
#else
    std::cout << "video input: not built\n";
#endif
    const int n = vamba::cuda::device_count();
    std::cout << "cuda devices: " << n << "\n";
    for (int i = 0; i < n; ++i) {
      size_t free_b = 0, total_b = 0;
      (void)vamba::cuda::mem_info(i, &free_b, &total_b);
      std::cout << "  cuda:" << i << " " << vamba::cuda::device_name(i) << ", "
                << (total_b >> 20) << " MiB (" << (free_b >> 20) << " MiB free)\n";
    }
    return 0;
  };
}

const bool registered =
    vamba::cli::register_command({"info", "Show the backends and GPUs this build can use", &setup_info});

}  // namespace
