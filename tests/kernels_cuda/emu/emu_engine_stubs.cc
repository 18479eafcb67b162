// The one engine function the shared test helpers (tests/testing/golden.cc) call: under emulation a
// "device" always exists.
#include "engine/core/device.h"

namespace vamba::cuda {

bool available() { return true; }

}  // namespace vamba::cuda
