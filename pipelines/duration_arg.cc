#include "pipelines/duration_arg.h"

#include <cctype>
#include <cmath>
#include <cstdlib>

namespace vamba::pipelines {

StatusOr<double> parse_duration_seconds(const std::string& text) {
  const Status bad = invalid_argument("'" + text +
                                      "' is not a duration (examples: 30s, 1.5m, 2h, 1h30m, 500ms, "
                                      "or seconds as a number)");
  if (text.empty()) return bad;
  double total = 0;
  size_t i = 0;
  bool any = false;
  while (i < text.size()) {
    const char* begin = text.c_str() + i;
    char* end = nullptr;
    const double value = std::strtod(begin, &end);
    if (end == begin || *begin == '-' || *begin == '+' || std::isspace(*begin)) return bad;
    i += static_cast<size_t>(end - begin);
    std::string unit;
    while (i < text.size() && std::isalpha(static_cast<unsigned char>(text[i]))) unit += text[i++];
    double scale = 0;
    if (unit.empty()) {
      if (i != text.size() || any) return bad;  // a bare number only on its own
      scale = 1;
    } else if (unit == "ms") {
      scale = 1e-3;
    } else if (unit == "s") {
      scale = 1;
    } else if (unit == "m" || unit == "min") {
      scale = 60;
    } else if (unit == "h") {
      scale = 3600;
    } else {
      return bad;
    }
    total += value * scale;
    any = true;
  }
  if (!std::isfinite(total) || total < 0) return bad;
  return total;
}

}  // namespace vamba::pipelines
