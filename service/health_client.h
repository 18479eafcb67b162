// A client for the standard grpc.health.v1.Health/Check without generated code: the request and
// the response are tiny protobufs encoded by hand, so the client needs no copy of health.proto
// (Debian's gRPC does not install its generated C++).
#pragma once

#include <grpcpp/channel.h>

#include <chrono>
#include <memory>
#include <string>

#include "engine/core/status.h"

namespace vamba::service {

// grpc.health.v1.HealthCheckResponse.ServingStatus
enum class HealthStatus { kUnknown = 0, kServing = 1, kNotServing = 2, kServiceUnknown = 3 };
const char* health_status_name(HealthStatus status);

// Checks `service` ("" = the whole server). Transport errors come back as their gRPC code.
StatusOr<HealthStatus> check_health(const std::shared_ptr<grpc::Channel>& channel,
                                    const std::string& service,
                                    std::chrono::milliseconds timeout = std::chrono::seconds(5));

}  // namespace vamba::service
