// The FFmpeg decoder: probing and exact frames on magic.mp4 (golden frame0_decoded_rgb), sparse
// fetches that seek instead of decoding everything, rotation, variable frame rate, bytes in memory,
// and clean errors on missing, truncated, corrupt and non-video inputs.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>

#include "tests/testing/golden.h"
#include "tests/testing/golden_tensors.h"
#include "tests/vision/test_clips.h"
#include "vision/decode/video_decoder.h"

namespace vamba::vision {
namespace {

using testing::byte_diff;
using testing::golden_path;

std::string magic_path() { return golden_path("vamba-tiny/magic.mp4"); }

// The clips are made with the ffmpeg CLI, which scripts/setup.sh installs: no clip is a failure.
#define SKIP_WITHOUT(clip) \
  if ((clip).empty())      \
  GTEST_FAIL() << "the ffmpeg CLI could not make this test clip (" << VAMBA_FFMPEG_EXE << ")"

TEST(Decode, ProbesMagicLikeTheReference) {
  auto decoder = VideoDecoder::open_file(magic_path());
  ASSERT_TRUE(decoder.ok()) << decoder.status().to_string();
  const VideoInfo& info = (*decoder)->info();
  std::ifstream in(golden_path("vamba-tiny/inputs.json"));
  const nlohmann::json ref = nlohmann::json::parse(in, nullptr, false);
  ASSERT_FALSE(ref.is_discarded());
  EXPECT_EQ(info.frame_count, ref.value("total_frames", int64_t{-1}));
  EXPECT_FALSE(info.frame_count_estimated);
  EXPECT_NEAR(info.fps, ref.value("fps", 0.0), 1e-12);
  const Shape frame0 = testing::golden_shape("frame0_decoded_rgb");  // (H, W, 3)
  ASSERT_EQ(frame0.size(), 3u);
  EXPECT_EQ(info.height, frame0[0]);
  EXPECT_EQ(info.width, frame0[1]);
  EXPECT_EQ(info.rotation, 0);
  EXPECT_EQ(info.codec, "h264");
  EXPECT_TRUE(info.seekable);
  // The duration agrees with frame_count / fps to within a frame.
  EXPECT_NEAR(info.duration, info.frame_count / info.fps, 1.0 / info.fps);
}

TEST(Decode, FrameMatchesGoldenBitForBit) {
  auto decoder = VideoDecoder::open_file(magic_path());
  ASSERT_TRUE(decoder.ok()) << decoder.status().to_string();
  const std::vector<int64_t> indices = testing::golden_ints("frame_indices");
  ASSERT_FALSE(indices.empty());
  auto frames = (*decoder)->frames_at_indices({indices[0]});
  ASSERT_TRUE(frames.ok()) << frames.status().to_string();
  auto golden = testing::golden_tensor("frame0_decoded_rgb");
  ASSERT_TRUE(golden.ok()) << golden.status().to_string();
  const VideoFrame& f = (*frames)[0];
  ASSERT_EQ(f.height, golden->dim(0));
  ASSERT_EQ(f.width, golden->dim(1));
  ASSERT_EQ(f.rgb.size(), golden->nbytes());
  const auto d = byte_diff(f.rgb.data(), golden->data<uint8_t>(), f.rgb.size());
  std::printf("[ metric ] frame0_decoded_rgb: max abs diff %d, %lld of %zu bytes differ\n",
              d.max_abs, static_cast<long long>(d.count), f.rgb.size());
  EXPECT_EQ(d.max_abs, 0);
  EXPECT_EQ(f.index, indices[0]);
}

TEST(Decode, GoldenIndicesHaveGoldenTimestamps) {
  auto decoder = VideoDecoder::open_file(magic_path());
  ASSERT_TRUE(decoder.ok()) << decoder.status().to_string();
  const std::vector<int64_t> indices = testing::golden_ints("frame_indices");
  auto timestamps = testing::golden_tensor("frame_timestamps");
  ASSERT_TRUE(timestamps.ok());
  auto frames = (*decoder)->frames_at_indices(indices);
  ASSERT_TRUE(frames.ok()) << frames.status().to_string();
  ASSERT_EQ(frames->size(), indices.size());
  for (size_t i = 0; i < indices.size(); ++i) {
    EXPECT_EQ((*frames)[i].index, indices[i]);
    // The container stores ticks of 1/60000 s; index / fps is exact in them.
    EXPECT_NEAR((*frames)[i].timestamp, timestamps->data<double>()[i], 1e-9) << "frame " << i;
  }
}

TEST(Decode, SparseFetchEqualsSequentialDecode) {
  const std::string clip = testing::testsrc_clip();
  SKIP_WITHOUT(clip);
  const std::vector<VideoFrame> all = testing::decode_all(clip);
  ASSERT_EQ(all.size(), 300u);
  auto decoder = VideoDecoder::open_file(clip);
  ASSERT_TRUE(decoder.ok()) << decoder.status().to_string();
  EXPECT_EQ((*decoder)->info().frame_count, 300);
  // Unsorted with a duplicate: answered in the order asked.
  const std::vector<int64_t> wanted = {295, 5, 150, 151, 153, 5, 0, 299};
  auto frames = (*decoder)->frames_at_indices(wanted);
  ASSERT_TRUE(frames.ok()) << frames.status().to_string();
  for (size_t i = 0; i < wanted.size(); ++i) {
    const VideoFrame& got = (*frames)[i];
    const VideoFrame& want = all[wanted[i]];
    EXPECT_EQ(got.index, wanted[i]);
    EXPECT_NEAR(got.timestamp, want.timestamp, 1e-9);
    ASSERT_EQ(got.rgb.size(), want.rgb.size());
    EXPECT_EQ(byte_diff(got.rgb.data(), want.rgb.data(), got.rgb.size()).count, 0)
        << "frame " << wanted[i];
  }
  const auto& stats = (*decoder)->stats();
  std::printf("[ metric ] sparse fetch of %zu frames: %lld decoded of 300, %lld seeks\n",
              wanted.size(), static_cast<long long>(stats.frames_decoded),
              static_cast<long long>(stats.seeks));
  // Keyframes every 10 frames: each target costs at most a GOP plus decoder delay.
  EXPECT_LT(stats.frames_decoded, 100);
  EXPECT_GE(stats.seeks, 2);
}

TEST(Decode, NearestKeyframeGivesTheKeyframeAtOrBeforeEachTarget) {
  const std::string clip = testing::testsrc_clip();
  SKIP_WITHOUT(clip);
  const std::vector<VideoFrame> all = testing::decode_all(clip);
  ASSERT_EQ(all.size(), 300u);
  DecodeOptions options;
  options.nearest_keyframe = true;
  auto decoder = VideoDecoder::open_file(clip, options);
  ASSERT_TRUE(decoder.ok()) << decoder.status().to_string();
  // The clip has a keyframe every 10 frames: 37 -> 30, 39 -> 30 (the same keyframe, held), 295 ->
  // 290, 10 -> 10, 0 -> 0.
  const std::vector<int64_t> wanted = {37, 39, 295, 10, 0};
  const std::vector<int64_t> keyframe = {30, 30, 290, 10, 0};
  auto frames = (*decoder)->frames_at_indices(wanted);
  ASSERT_TRUE(frames.ok()) << frames.status().to_string();
  for (size_t i = 0; i < wanted.size(); ++i) {
    const VideoFrame& got = (*frames)[i];
    const VideoFrame& want = all[keyframe[i]];
    EXPECT_EQ(got.index, wanted[i]);
    EXPECT_NEAR(got.timestamp, want.timestamp, 1e-9) << "frame " << wanted[i];
    ASSERT_EQ(got.rgb.size(), want.rgb.size());
    EXPECT_EQ(byte_diff(got.rgb.data(), want.rgb.data(), got.rgb.size()).count, 0)
        << "frame " << wanted[i];
  }
  // One keyframe per distinct target, plus the decoder's reorder delay (B-frames): far fewer than
  // the exact path's decode from keyframe to target.
  const auto& stats = (*decoder)->stats();
  std::printf("[ metric ] keyframe fetch of %zu frames: %lld decoded, %lld seeks\n", wanted.size(),
              static_cast<long long>(stats.frames_decoded), static_cast<long long>(stats.seeks));
  EXPECT_LE(stats.frames_decoded, 4 * 4);
}

// Containers without a frame count (Matroska) or without a seek index (MPEG-TS, which also starts
// its clock at 1.4 s): counts are estimated, and sparse fetches still land on the exact frames.
class DecodeContainers : public ::testing::TestWithParam<const char*> {};

TEST_P(DecodeContainers, SparseFetchEqualsSequentialDecode) {
  const std::string src = testing::testsrc_clip();
  SKIP_WITHOUT(src);
  const std::string clip = testing::scratch_dir() + "/testsrc." + GetParam();
  ASSERT_TRUE(testing::run_ffmpeg("-i \"" + src + "\" -c copy \"" + clip + "\""));
  const std::vector<VideoFrame> all = testing::decode_all(clip);
  ASSERT_EQ(all.size(), 300u);
  auto decoder = VideoDecoder::open_file(clip);
  ASSERT_TRUE(decoder.ok()) << decoder.status().to_string();
  EXPECT_EQ((*decoder)->info().frame_count, 300);
  const std::vector<int64_t> wanted = {7, 150, 151, 260, 299, 42, 0};
  auto frames = (*decoder)->frames_at_indices(wanted);
  ASSERT_TRUE(frames.ok()) << frames.status().to_string();
  for (size_t i = 0; i < wanted.size(); ++i) {
    const VideoFrame& got = (*frames)[i];
    const VideoFrame& want = all[wanted[i]];
    EXPECT_NEAR(got.timestamp, want.timestamp, 1e-9) << GetParam() << " frame " << wanted[i];
    ASSERT_EQ(got.rgb.size(), want.rgb.size());
    EXPECT_EQ(byte_diff(got.rgb.data(), want.rgb.data(), got.rgb.size()).count, 0)
        << GetParam() << " frame " << wanted[i];
  }
  std::printf("[ metric ] %s sparse fetch of %zu frames: %lld decoded of 300, %lld seeks\n",
              GetParam(), wanted.size(), static_cast<long long>((*decoder)->stats().frames_decoded),
              static_cast<long long>((*decoder)->stats().seeks));
}

INSTANTIATE_TEST_SUITE_P(Formats, DecodeContainers, ::testing::Values("mkv", "ts", "mov"));

TEST(Decode, FramesInOneGopDecodeForwardWithoutSeeking) {
  const std::string clip = testing::testsrc_clip();
  SKIP_WITHOUT(clip);
  auto decoder = VideoDecoder::open_file(clip);
  ASSERT_TRUE(decoder.ok()) << decoder.status().to_string();
  ASSERT_TRUE((*decoder)->frames_at_indices({141}).ok());
  const int64_t seeks = (*decoder)->stats().seeks;
  EXPECT_EQ(seeks, 1);
  auto frames = (*decoder)->frames_at_indices({143, 145, 148});
  ASSERT_TRUE(frames.ok()) << frames.status().to_string();
  EXPECT_EQ((*decoder)->stats().seeks, seeks);
  // Going back needs a seek.
  ASSERT_TRUE((*decoder)->frames_at_indices({20}).ok());
  EXPECT_EQ((*decoder)->stats().seeks, seeks + 1);
}

TEST(Decode, TimestampFetchPicksTheFrameOnScreen) {
  const std::string clip = testing::vfr_clip();
  SKIP_WITHOUT(clip);
  const std::vector<VideoFrame> all = testing::decode_all(clip);
  ASSERT_EQ(all.size(), 60u);
  // The clip's timing really is variable: 1/30 s steps, then 1/10 s steps from 1.0 s.
  EXPECT_NEAR(all[1].timestamp - all[0].timestamp, 1.0 / 30, 1e-4);
  EXPECT_NEAR(all[30].timestamp, 1.0, 1e-4);
  EXPECT_NEAR(all[31].timestamp - all[30].timestamp, 0.1, 1e-4);
  auto decoder = VideoDecoder::open_file(clip);
  ASSERT_TRUE(decoder.ok()) << decoder.status().to_string();
  const std::vector<double> times = {0.0, 0.5, 0.99, 1.0, 1.05, 1.25, 2.0, 3.0, 3.91};
  auto frames = (*decoder)->frames_at_times(times);
  ASSERT_TRUE(frames.ok()) << frames.status().to_string();
  for (size_t i = 0; i < times.size(); ++i) {
    // Expected: the last frame whose timestamp is <= t (one 1/90000 s tick of slack).
    size_t k = 0;
    while (k + 1 < all.size() && all[k + 1].timestamp <= times[i] + 1.0 / 90000) ++k;
    const VideoFrame& got = (*frames)[i];
    EXPECT_NEAR(got.timestamp, all[k].timestamp, 1e-9) << "t = " << times[i];
    ASSERT_EQ(got.rgb.size(), all[k].rgb.size());
    EXPECT_EQ(byte_diff(got.rgb.data(), all[k].rgb.data(), got.rgb.size()).count, 0)
        << "t = " << times[i];
  }
  EXPECT_EQ((*decoder)->frames_at_times({-1.0}).status().code(), StatusCode::kOutOfRange);
  EXPECT_EQ((*decoder)->frames_at_times({100.0}).status().code(), StatusCode::kOutOfRange);
}

TEST(Decode, RotationFromTheDisplayMatrixIsApplied) {
  const std::string rotated = testing::rotated_clip();
  SKIP_WITHOUT(rotated);
  auto decoder = VideoDecoder::open_file(rotated);
  ASSERT_TRUE(decoder.ok()) << decoder.status().to_string();
  const VideoInfo& info = (*decoder)->info();
  // A quarter turn (which way is the muxer's convention for "rotate=90"; the ffmpeg CLI decides
  // below), so display width and height swap.
  EXPECT_TRUE(info.rotation == 90 || info.rotation == 270) << info.rotation;
  EXPECT_EQ(info.width, 240);
  EXPECT_EQ(info.height, 320);
  EXPECT_EQ(info.coded_width, 320);
  EXPECT_EQ(info.coded_height, 240);
  auto frames = (*decoder)->frames_at_indices({42});
  ASSERT_TRUE(frames.ok()) << frames.status().to_string();
  const VideoFrame& got = (*frames)[0];
  ASSERT_EQ(got.width, 240);
  ASSERT_EQ(got.height, 320);
  // The ffmpeg CLI (autorotate on, same swscale conversion) is the reference for what a player
  // shows.
  const std::string raw = testing::scratch_dir() + "/rotated_42.rgb";
  ASSERT_TRUE(testing::run_ffmpeg(
      "-i \"" + rotated + "\" -vf \"select=eq(n\\,42)\" -vframes 1 -pix_fmt rgb24 -f rawvideo \"" +
      raw + "\""));
  const std::vector<uint8_t> expected = testing::read_bytes(raw);
  ASSERT_EQ(expected.size(), got.rgb.size());
  EXPECT_EQ(byte_diff(got.rgb.data(), expected.data(), expected.size()).count, 0);
}

TEST(Decode, MemoryBytesDecodeLikeTheFile) {
  auto bytes = std::make_shared<const std::vector<uint8_t>>(testing::read_bytes(magic_path()));
  ASSERT_FALSE(bytes->empty());
  auto from_memory = VideoDecoder::open_memory(bytes);
  ASSERT_TRUE(from_memory.ok()) << from_memory.status().to_string();
  auto from_file = VideoDecoder::open_file(magic_path());
  ASSERT_TRUE(from_file.ok());
  EXPECT_EQ((*from_memory)->info().frame_count, (*from_file)->info().frame_count);
  EXPECT_EQ((*from_memory)->info().fps, (*from_file)->info().fps);
  const std::vector<int64_t> indices = testing::golden_ints("frame_indices");
  auto m = (*from_memory)->frames_at_indices(indices);
  auto f = (*from_file)->frames_at_indices(indices);
  ASSERT_TRUE(m.ok()) << m.status().to_string();
  ASSERT_TRUE(f.ok()) << f.status().to_string();
  for (size_t i = 0; i < indices.size(); ++i) {
    EXPECT_EQ((*m)[i].rgb, (*f)[i].rgb) << "frame " << indices[i];
    EXPECT_EQ((*m)[i].timestamp, (*f)[i].timestamp);
  }
}

TEST(Decode, GpuDecodeFallsBackToTheCpu) {
  DecodeOptions options;
  options.gpu = true;
  auto gpu = VideoDecoder::open_file(magic_path(), options);
  ASSERT_TRUE(gpu.ok()) << gpu.status().to_string();
  auto cpu = VideoDecoder::open_file(magic_path());
  ASSERT_TRUE(cpu.ok());
  auto a = (*gpu)->frames_at_indices({21, 300});
  auto b = (*cpu)->frames_at_indices({21, 300});
  ASSERT_TRUE(a.ok()) << a.status().to_string();
  ASSERT_TRUE(b.ok());
  for (size_t i = 0; i < 2; ++i) {
    ASSERT_EQ((*a)[i].rgb.size(), (*b)[i].rgb.size());
    const auto d = byte_diff((*a)[i].rgb.data(), (*b)[i].rgb.data(), (*a)[i].rgb.size());
    std::printf("[ metric ] gpu=%d frame %zu: max abs diff vs CPU %d\n",
                (*gpu)->stats().gpu_active ? 1 : 0, i, d.max_abs);
    // On the CPU fallback the frames are the CPU's; NVDEC hands NV12 to swscale, whose rounding
    // may differ slightly from the planar path.
    EXPECT_LE(d.max_abs, (*gpu)->stats().gpu_active ? 2 : 0);
  }
}

TEST(Decode, SequentialReadingCountsEveryFrame) {
  auto decoder = VideoDecoder::open_file(magic_path());
  ASSERT_TRUE(decoder.ok());
  int64_t n = 0;
  for (;;) {
    auto frame = (*decoder)->next_frame();
    ASSERT_TRUE(frame.ok()) << frame.status().to_string();
    if (!frame->has_value()) break;
    EXPECT_EQ((*frame)->index, n);
    ++n;
  }
  EXPECT_EQ(n, (*decoder)->info().frame_count);
  ASSERT_TRUE((*decoder)->rewind().ok());
  auto first = (*decoder)->next_frame();
  ASSERT_TRUE(first.ok() && first->has_value());
  EXPECT_EQ((*first)->index, 0);
}

// ---- errors ------------------------------------------------------------------------------------

TEST(DecodeErrors, MissingFileIsNotFound) {
  auto decoder = VideoDecoder::open_file(testing::scratch_dir() + "/no_such_video.mp4");
  EXPECT_EQ(decoder.status().code(), StatusCode::kNotFound);
  EXPECT_NE(decoder.status().message().find("no_such_video.mp4"), std::string::npos);
  EXPECT_EQ(VideoDecoder::open(testing::scratch_dir()).status().code(),
            StatusCode::kInvalidArgument);  // a directory
}

TEST(DecodeErrors, NonVideoFilesAreInvalidArgument) {
  const std::string text = testing::scratch_dir() + "/notes.txt";
  ASSERT_TRUE(testing::write_bytes(text, std::vector<uint8_t>(4096, 'x')));
  auto decoder = VideoDecoder::open_file(text);
  EXPECT_EQ(decoder.status().code(), StatusCode::kInvalidArgument) << decoder.status().to_string();
  const std::string empty = testing::scratch_dir() + "/empty.mp4";
  ASSERT_TRUE(testing::write_bytes(empty, {}));
  EXPECT_EQ(VideoDecoder::open_file(empty).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(
      VideoDecoder::open_memory(std::make_shared<const std::vector<uint8_t>>()).status().code(),
      StatusCode::kInvalidArgument);
  // Audio only: a media file, but no video stream.
  const std::string audio = testing::scratch_dir() + "/tone.wav";
  if (testing::run_ffmpeg("-f lavfi -i sine=duration=0.5 \"" + audio + "\"")) {
    decoder = VideoDecoder::open_file(audio);
    EXPECT_EQ(decoder.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(decoder.status().message().find("no video stream"), std::string::npos)
        << decoder.status().to_string();
  }
}

TEST(DecodeErrors, TruncatedFileIsInvalidArgument) {
  // magic.mp4 keeps its index (moov) at the end: cut in half it cannot even be opened.
  std::vector<uint8_t> bytes = testing::read_bytes(magic_path());
  ASSERT_GT(bytes.size(), 1000u);
  bytes.resize(bytes.size() / 2);
  const std::string cut = testing::scratch_dir() + "/magic_cut.mp4";
  ASSERT_TRUE(testing::write_bytes(cut, bytes));
  auto decoder = VideoDecoder::open_file(cut);
  EXPECT_EQ(decoder.status().code(), StatusCode::kInvalidArgument) << decoder.status().to_string();
  auto memory = VideoDecoder::open_memory(std::make_shared<const std::vector<uint8_t>>(bytes));
  EXPECT_EQ(memory.status().code(), StatusCode::kInvalidArgument);

  // With the index first, the cut file opens; early frames decode, late ones fail cleanly.
  const std::string faststart = testing::faststart_magic();
  SKIP_WITHOUT(faststart);
  bytes = testing::read_bytes(faststart);
  bytes.resize(bytes.size() / 2);
  const std::string cut2 = testing::scratch_dir() + "/magic_faststart_cut.mp4";
  ASSERT_TRUE(testing::write_bytes(cut2, bytes));
  decoder = VideoDecoder::open_file(cut2);
  ASSERT_TRUE(decoder.ok()) << decoder.status().to_string();
  auto early = (*decoder)->frames_at_indices({10});
  EXPECT_TRUE(early.ok()) << early.status().to_string();
  auto late = (*decoder)->frames_at_indices({350});
  EXPECT_EQ(late.status().code(), StatusCode::kInvalidArgument) << late.status().to_string();
  // Sequential reading stops with the same kind of error, never a crash.
  ASSERT_TRUE((*decoder)->rewind().ok());
  Status status;
  int64_t n = 0;
  for (;;) {
    auto frame = (*decoder)->next_frame();
    if (!frame.ok()) {
      status = frame.status();
      break;
    }
    if (!frame->has_value()) break;
    ++n;
  }
  EXPECT_LT(n, 359);
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument) << status.to_string();
}

TEST(DecodeErrors, CorruptBytesNeverCrash) {
  std::vector<uint8_t> bytes = testing::read_bytes(magic_path());
  ASSERT_GT(bytes.size(), 400000u);
  std::mt19937 rng(1234);
  // Garbage over a stretch of the frame data: FFmpeg conceals or reports; either is fine.
  for (size_t i = 200000; i < 400000; ++i) bytes[i] = static_cast<uint8_t>(rng());
  auto decoder = VideoDecoder::open_memory(std::make_shared<const std::vector<uint8_t>>(bytes));
  ASSERT_TRUE(decoder.ok()) << decoder.status().to_string();
  auto frames = (*decoder)->frames_at_indices({21, 66, 111, 336});
  EXPECT_TRUE(frames.ok() || frames.status().code() == StatusCode::kInvalidArgument)
      << frames.status().to_string();
  // Garbage in the header: rejected at open.
  bytes = testing::read_bytes(magic_path());
  for (size_t i = 0; i < 64; ++i) bytes[i] = static_cast<uint8_t>(rng());
  for (size_t i = bytes.size() - 5000; i < bytes.size(); ++i)
    bytes[i] = static_cast<uint8_t>(rng());
  decoder = VideoDecoder::open_memory(std::make_shared<const std::vector<uint8_t>>(bytes));
  if (decoder.ok()) {
    auto f = (*decoder)->frames_at_indices({21});
    EXPECT_TRUE(f.ok() || f.status().code() == StatusCode::kInvalidArgument);
  } else {
    EXPECT_EQ(decoder.status().code(), StatusCode::kInvalidArgument)
        << decoder.status().to_string();
  }
}

TEST(DecodeErrors, IndicesOutsideTheVideoAreOutOfRange) {
  auto decoder = VideoDecoder::open_file(magic_path());
  ASSERT_TRUE(decoder.ok());
  const int64_t n = (*decoder)->info().frame_count;
  EXPECT_EQ((*decoder)->frames_at_indices({n}).status().code(), StatusCode::kOutOfRange);
  EXPECT_EQ((*decoder)->frames_at_indices({-1}).status().code(), StatusCode::kOutOfRange);
  auto last = (*decoder)->frames_at_indices({n - 1});
  ASSERT_TRUE(last.ok()) << last.status().to_string();
  EXPECT_EQ((*last)[0].index, n - 1);
}

TEST(DecodeErrors, UnknownSchemeIsInvalidArgument) {
  EXPECT_TRUE(is_url("http://example.com/a.mp4"));
  EXPECT_TRUE(is_url("rtsp://10.0.0.1/stream"));
  EXPECT_FALSE(is_url("/data/video.mp4"));
  EXPECT_FALSE(is_url("file:///data/video.mp4"));
  EXPECT_FALSE(is_url("C:/video.mp4"));
  auto decoder = VideoDecoder::open("nosuchproto://host/x.mp4");
  EXPECT_EQ(decoder.status().code(), StatusCode::kInvalidArgument) << decoder.status().to_string();
}

}  // namespace
}  // namespace vamba::vision
