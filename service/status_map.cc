#include "service/status_map.h"

namespace vamba::service {

grpc::Status to_grpc_status(const Status& status) {
  static_assert(static_cast<int>(StatusCode::kUnauthenticated) == grpc::UNAUTHENTICATED);
  static_assert(static_cast<int>(StatusCode::kResourceExhausted) == grpc::RESOURCE_EXHAUSTED);
  static_assert(static_cast<int>(StatusCode::kInvalidArgument) == grpc::INVALID_ARGUMENT);
  static_assert(static_cast<int>(StatusCode::kDataLoss) == grpc::DATA_LOSS);
  if (status.ok()) return grpc::Status::OK;
  const int code = static_cast<int>(status.code());
  if (code < 0 || code > grpc::UNAUTHENTICATED) {
    return grpc::Status(grpc::INTERNAL,
                        "unknown status code " + std::to_string(code) + ": " + status.message());
  }
  return grpc::Status(static_cast<grpc::StatusCode>(code), status.message());
}

}  // namespace vamba::service
