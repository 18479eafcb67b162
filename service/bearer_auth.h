// The bearer token check that the gRPC API ("authorization" metadata) and the HTTP API
// ("Authorization" header) share: one token, compared in constant time.
#pragma once

#include <string>

#include "engine/core/status.h"

namespace vamba::service {

// OK when `token` is empty (the server wants no auth) or `authorization` is "Bearer <token>";
// UNAUTHENTICATED otherwise. `authorization` null: the client sent none; `what` names where it
// belongs, for the message (e.g. "'authorization: Bearer <token>' metadata").
Status check_bearer(const std::string& token, const std::string* authorization,
                    const std::string& what);

}  // namespace vamba::service
