#include "service/bearer_auth.h"

#include <string_view>

namespace vamba::service {
namespace {

// Constant-time comparison, so the token cannot be guessed byte by byte from response times.
bool same_secret(std::string_view a, std::string_view b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (size_t i = 0; i < a.size(); ++i) diff |= a[i] ^ (i < b.size() ? b[i] : 0);
  return diff == 0;
}

}  // namespace

Status check_bearer(const std::string& token, const std::string* authorization,
                    const std::string& what) {
  if (token.empty()) return ok_status();
  if (authorization == nullptr) return Status(StatusCode::kUnauthenticated, "missing " + what);
  if (!same_secret(*authorization, "Bearer " + token)) {
    return Status(StatusCode::kUnauthenticated, "wrong bearer token");
  }
  return ok_status();
}

}  // namespace vamba::service
