// StreamVideo: live video pushed by the client as encoded bytes, ingested incrementally, with
// captions and standing-question answers streamed back (proto: vamba.v1.VideoQa.StreamVideo).
//
// Threads, per call:
//  - gRPC threads run the reactor: each received chunk's bytes go into a BytePipe (memory copies
//    only). When the pipe passes its high-water mark the reactor stops reading until the pipe
//    drains, so a fast client is held back by HTTP/2 flow control instead of filling memory.
//  - a reader thread of the call demuxes and decodes the pipe with FFmpeg (FrameReader over a
//    custom AVIO), samples frames at the requested fps and preprocesses each frame pair;
//  - the server's worker runs all model work: each pair is one job (vision tower + append_video,
//    and the captions / answers that fall due), submitted by the reader thread, which waits for it
//    before decoding on (one job in flight per stream, so a stream never floods the queue; a full
//    queue is waited out, not failed).
// The call ends when the client half-closes (StreamEnd, then OK), on a bad config or undecodable
// video (INVALID_ARGUMENT), or when the client cancels.
#pragma once

#include <grpcpp/grpcpp.h>

#include <string>

#include "engine/core/status.h"
#include "service/shared_state.h"
#include "vamba/v1/vamba.grpc.pb.h"

namespace vamba::service {

// The cross-attention window a stream gets when it asks for none (video tokens).
inline constexpr int64_t kDefaultStreamWindowTokens = 32768;

// The reactor for one StreamVideo call. `auth` is the result of the server's bearer check (a
// failure finishes the call with it); `rid` tags the log lines.
grpc::ServerBidiReactor<v1::StreamChunk, v1::StreamEvent>* start_stream_video(
    Shared* s, grpc::CallbackServerContext* ctx, std::string rid, Status auth);

}  // namespace vamba::service
