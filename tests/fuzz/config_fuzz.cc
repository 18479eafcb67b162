// libFuzzer: arbitrary text as config.json / preprocessor_config.json (including Python's bare
// Infinity/NaN rewriting). Parsing must never crash; validate() must never divide by zero.
#include <cstdint>
#include <string>

#include "engine/model/checkpoint.h"
#include "engine/model/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  auto config = vamba::VambaConfig::from_json_text(text, "fuzz");
  if (config.ok() && config->num_hidden_layers <= 64 && config->vision.depth <= 64) {
    (void)vamba::weight_table(*config);
  }
  (void)vamba::PreprocessorConfig::from_json_text(text, "fuzz");
  return 0;
}
