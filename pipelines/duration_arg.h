// Durations as people type them on a command line: "30s", "1.5m", "2h", "1h30m", "500ms", or a
// bare number of seconds ("90").
#pragma once

#include <string>

#include "engine/core/status.h"

namespace vamba::pipelines {

// Seconds; INVALID_ARGUMENT (naming the text) for anything else, or a negative or non-finite value.
StatusOr<double> parse_duration_seconds(const std::string& text);

}  // namespace vamba::pipelines
