// libFuzzer: arbitrary bytes as a safetensors file. Loading must either fail with a Status or
// yield entries that lie inside the buffer; every tensor byte is read so ASan sees any overrun.
#include <cstdint>
#include <cstring>
#include <memory>

#include "engine/model/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // An exact-size heap copy: reads past `size` are ASan errors, not luck.
  std::shared_ptr<uint8_t[]> copy(new uint8_t[size == 0 ? 1 : size]);
  if (size > 0) std::memcpy(copy.get(), data, size);
  auto file = vamba::SafetensorsFile::from_buffer("fuzz", copy, copy.get(), size);
  if (!file.ok()) return 0;
  unsigned sum = 0;
  for (const auto& e : (*file)->entries()) {
    auto t = (*file)->tensor(e.name);
    if (!t.ok()) __builtin_trap();
    const auto* p = static_cast<const uint8_t*>(t->raw_data());
    for (size_t i = 0; i < t->nbytes(); ++i) sum += p[i];
  }
  volatile unsigned sink = sum;
  (void)sink;
  return 0;
}
