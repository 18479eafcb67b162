// The one place where vamba::Status becomes grpc::Status. The codes share their numbering by
// design (engine/core/status.h), so the map is a cast plus a guard for values outside the range.
#pragma once

#include <grpcpp/support/status.h>

#include "engine/core/status.h"

namespace vamba::service {

grpc::Status to_grpc_status(const Status& status);

}  // namespace vamba::service
