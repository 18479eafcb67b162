// Sequential reading of live and non-seekable sources (vision/decode/frame_reader.h): an MPEG-TS
// byte stream pushed through a BytePipe by another thread, and an OS pipe read as "pipe:N", give
// the same frames and timestamps as the file read by VideoDecoder; sampling with `not_before`
// skips frames; garbage and cancellation fail cleanly.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "tests/vision/test_clips.h"
#include "vision/decode/byte_pipe.h"
#include "vision/decode/frame_reader.h"

namespace vamba {
namespace {

using testing::run_ffmpeg;
using testing::scratch_dir;

// 3 s of testsrc at 10 fps, 160x120, H.264 in MPEG-TS (what `ffmpeg ... -f mpegts -` sends).
const std::string& ts_clip() {
  static const std::string path = [] {
    const std::string p = scratch_dir() + "/live.ts";
    return run_ffmpeg(
               "-f lavfi -i testsrc=size=160x120:rate=10 -t 3 -c:v libx264 -preset "
               "ultrafast -g 5 -bf 0 -pix_fmt yuv420p -f mpegts \"" +
               p + "\"")
               ? p
               : std::string();
  }();
  return path;
}

#define SKIP_WITHOUT_CLIP() \
  if (ts_clip().empty()) GTEST_FAIL() << "the ffmpeg CLI could not make the test clip"

// Writes `bytes` into `pipe` in uneven chunks from another thread, then closes it.
std::thread feed(std::shared_ptr<vision::BytePipe> pipe, std::vector<uint8_t> bytes) {
  return std::thread([pipe, bytes = std::move(bytes)] {
    size_t at = 0, step = 1000;
    while (at < bytes.size()) {
      const size_t n = std::min(step, bytes.size() - at);
      pipe->write(bytes.data() + at, n);
      at += n;
      step = step * 3 % 7919 + 500;
      // Respect the high-water mark as a gRPC reactor would.
      while (pipe->buffered() > (1u << 20))
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    pipe->close();
  });
}

std::vector<vision::VideoFrame> read_all(vision::FrameReader& reader, double step = 0) {
  std::vector<vision::VideoFrame> frames;
  double next = 0;
  for (;;) {
    auto f = reader.next(step > 0 ? next : -1e300);
    EXPECT_TRUE(f.ok()) << f.status().to_string();
    if (!f.ok() || !f->has_value()) break;
    next = (*f)->timestamp + step;
    frames.push_back(std::move(**f));
  }
  return frames;
}

TEST(FrameReader, BytePipeGivesTheFileFrames) {
  SKIP_WITHOUT_CLIP();
  const std::vector<vision::VideoFrame> want = testing::decode_all(ts_clip());
  ASSERT_EQ(want.size(), 30u);
  auto pipe = std::make_shared<vision::BytePipe>(1u << 20);
  std::thread feeder = feed(pipe, testing::read_bytes(ts_clip()));
  auto reader = vision::FrameReader::open_pipe(pipe);
  ASSERT_TRUE(reader.ok()) << reader.status().to_string();
  EXPECT_FALSE((*reader)->info().seekable);
  EXPECT_EQ((*reader)->info().width, 160);
  const std::vector<vision::VideoFrame> got = read_all(**reader);
  feeder.join();
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_NEAR(got[i].timestamp, want[i].timestamp, 1e-6) << i;
    EXPECT_EQ(got[i].rgb, want[i].rgb) << "frame " << i;
  }
}

TEST(FrameReader, OsPipeAndSkippingFrames) {
  SKIP_WITHOUT_CLIP();
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  const std::vector<uint8_t> bytes = testing::read_bytes(ts_clip());
  std::thread writer([&] {
    size_t at = 0;
    while (at < bytes.size()) {
      const ssize_t n = write(fds[1], bytes.data() + at, bytes.size() - at);
      if (n <= 0) break;
      at += static_cast<size_t>(n);
    }
    close(fds[1]);
  });
  auto reader = vision::FrameReader::open("pipe:" + std::to_string(fds[0]));
  ASSERT_TRUE(reader.ok()) << reader.status().to_string();
  // One frame per half second of a 10 fps source: 0, 0.5, ..., 2.5.
  const std::vector<vision::VideoFrame> got = read_all(**reader, 0.5);
  writer.join();
  close(fds[0]);
  ASSERT_EQ(got.size(), 6u);
  for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i].timestamp, 0.5 * i, 1e-6);
  EXPECT_EQ((*reader)->frames_decoded(), 30);
}

TEST(FrameReader, GarbageIsInvalidArgument) {
  auto pipe = std::make_shared<vision::BytePipe>();
  std::vector<uint8_t> junk(200000);
  for (size_t i = 0; i < junk.size(); ++i) junk[i] = static_cast<uint8_t>(i * 7919 >> 3);
  pipe->write(junk.data(), junk.size());
  pipe->close();
  auto reader = vision::FrameReader::open_pipe(pipe);
  ASSERT_FALSE(reader.ok());
  EXPECT_EQ(reader.status().code(), StatusCode::kInvalidArgument) << reader.status().to_string();
}

TEST(FrameReader, CancelUnblocksAWaitingOpen) {
  auto pipe = std::make_shared<vision::BytePipe>();  // no bytes ever come
  auto cancel = std::make_shared<std::atomic<bool>>(false);
  vision::DecodeOptions options;
  options.cancel = cancel;
  std::thread canceller([cancel] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    cancel->store(true);
  });
  auto reader = vision::FrameReader::open_pipe(pipe, options);
  canceller.join();
  ASSERT_FALSE(reader.ok());
  EXPECT_EQ(reader.status().code(), StatusCode::kCancelled) << reader.status().to_string();
}

TEST(BytePipe, PausesAtTheHighWaterMarkAndWakesTheProducer) {
  vision::BytePipe pipe(100);
  std::atomic<int> woken{0};
  pipe.set_on_space([&] { woken.fetch_add(1); });
  std::vector<uint8_t> data(60, 1);
  EXPECT_TRUE(pipe.write(data.data(), data.size()));
  EXPECT_FALSE(pipe.write(data.data(), data.size()));  // 120 >= 100
  uint8_t out[80];
  auto n = pipe.read(out, 40);  // 80 left: still above half
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 40u);
  EXPECT_EQ(woken.load(), 0);
  n = pipe.read(out, 80);  // 0 left
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 80u);
  EXPECT_EQ(woken.load(), 1);
  pipe.fail(unavailable("gone"));
  EXPECT_EQ(pipe.read(out, 1).status().code(), StatusCode::kUnavailable);
}

}  // namespace
}  // namespace vamba
