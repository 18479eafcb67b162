#include "engine/core/device.h"

#include <cstdlib>

namespace vamba {

std::string Device::to_string() const {
  if (is_cpu()) return "cpu";
  return "cuda:" + std::to_string(index);
}

StatusOr<Device> parse_device(const std::string& text) {
  if (text == "cpu") return Device::cpu();
  if (text == "cuda" || text == "gpu") return Device::cuda(0);
  if (text.rfind("cuda:", 0) == 0) {
    const std::string idx = text.substr(5);
    char* end = nullptr;
    const long v = std::strtol(idx.c_str(), &end, 10);
    if (!idx.empty() && end && *end == '\0' && v >= 0 && v < 1024) {
      return Device::cuda(static_cast<int>(v));
    }
  }
  return invalid_argument("unknown device '" + text + "' (expected cpu, cuda or cuda:N)");
}

}  // namespace vamba
