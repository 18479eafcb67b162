// Scene-cut detection: on synthetic frames (what the score measures) and on clips made with the
// ffmpeg CLI whose cuts are known by construction (testsrc, then a solid colour, ...).
#include "vision/sample/scene_detector.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "tests/vision/test_clips.h"
#include "vision/decode/video_decoder.h"
#include "vision/sample/frame_sampler.h"

namespace vamba {
namespace {

using vision::VideoFrame;

VideoFrame solid(int w, int h, uint8_t r, uint8_t g, uint8_t b, double t = 0) {
  VideoFrame f;
  f.width = w;
  f.height = h;
  f.timestamp = t;
  f.rgb.resize(static_cast<size_t>(w) * h * 3);
  for (size_t i = 0; i < f.rgb.size(); i += 3) {
    f.rgb[i] = r;
    f.rgb[i + 1] = g;
    f.rgb[i + 2] = b;
  }
  return f;
}

// Left half black, right half white (or mirrored): the same histogram, opposite layout.
VideoFrame halves(int w, int h, bool white_left) {
  VideoFrame f = solid(w, h, 0, 0, 0);
  for (int y = 0; y < h; ++y) {
    for (int x = 0; x < w; ++x) {
      if ((x < w / 2) == white_left) {
        uint8_t* p = &f.rgb[(static_cast<size_t>(y) * w + x) * 3];
        p[0] = p[1] = p[2] = 255;
      }
    }
  }
  return f;
}

vision::FrameSignature signature(const VideoFrame& f) {
  auto s = vision::frame_signature(f);
  EXPECT_TRUE(s.ok()) << s.status().to_string();
  return s.ok() ? *s : vision::FrameSignature{};
}

TEST(SceneDetector, SignatureIsNormalised) {
  const vision::FrameSignature s = signature(solid(64, 48, 255, 255, 255));
  ASSERT_EQ(s.thumbnail.size(), 32u * 32u);
  for (float v : s.thumbnail) EXPECT_NEAR(v, 1.0f, 1e-6);
  double total = 0;
  for (float v : s.histogram) total += v;
  EXPECT_NEAR(total, 1.0, 1e-6);
  EXPECT_NEAR(s.histogram.back(), 1.0f, 1e-6) << "white is in the top bin";
}

TEST(SceneDetector, DifferenceIsZeroForEqualFramesAndSymmetric) {
  const auto a = signature(halves(64, 48, true));
  const auto b = signature(solid(64, 48, 200, 30, 30));
  EXPECT_DOUBLE_EQ(vision::signature_difference(a, a), 0.0);
  EXPECT_DOUBLE_EQ(vision::signature_difference(a, b), vision::signature_difference(b, a));
}

TEST(SceneDetector, BlackToWhiteIsTheLargestDifference) {
  const auto black = signature(solid(40, 30, 0, 0, 0));
  const auto white = signature(solid(40, 30, 255, 255, 255));
  EXPECT_NEAR(vision::signature_difference(black, white), 1.0, 1e-6);
}

TEST(SceneDetector, MirroredLayoutCountsOnlyThePixelHalf) {
  // Same histogram (half black, half white), every thumbnail pixel flipped: pixels 1, tones 0.
  const auto a = signature(halves(64, 64, true));
  const auto b = signature(halves(64, 64, false));
  EXPECT_NEAR(vision::signature_difference(a, b), 0.5, 1e-6);
}

TEST(SceneDetector, FramesSmallerThanTheThumbnailWork) {
  auto s = vision::frame_signature(solid(5, 3, 10, 20, 30));
  ASSERT_TRUE(s.ok()) << s.status().to_string();
  const auto t = signature(solid(5, 3, 10, 20, 30));
  EXPECT_DOUBLE_EQ(vision::signature_difference(*s, t), 0.0);
}

TEST(SceneDetector, BadFramesAndOptionsAreInvalidArgument) {
  VideoFrame bad = solid(8, 8, 1, 2, 3);
  bad.rgb.pop_back();
  EXPECT_EQ(vision::frame_signature(bad).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(vision::frame_signature(VideoFrame{}).status().code(), StatusCode::kInvalidArgument);
  vision::SceneOptions o;
  o.threshold = 1.5;
  EXPECT_EQ(vision::frame_signature(solid(8, 8, 1, 2, 3), o).status().code(),
            StatusCode::kInvalidArgument);
}

TEST(SceneDetector, CutsAreAtTheFirstFrameOfTheNewScene) {
  std::vector<VideoFrame> frames;
  for (int i = 0; i < 10; ++i) {
    frames.push_back(i < 6 ? solid(32, 24, 20, 20, 20, i * 0.5)
                           : solid(32, 24, 230, 230, 230, i * 0.5));
  }
  auto cuts = vision::detect_scene_cuts(frames);
  ASSERT_TRUE(cuts.ok()) << cuts.status().to_string();
  ASSERT_EQ(cuts->size(), 1u);
  EXPECT_DOUBLE_EQ((*cuts)[0].time, 3.0);
  EXPECT_GT((*cuts)[0].score, 0.3);
}

TEST(SceneSegments, MinAndMaxLength) {
  const std::vector<vision::SceneCut> cuts = {{0.5, 0.9}, {4.0, 0.8}, {4.6, 0.7}, {9.7, 0.6}};
  // 0.5 is too close to the start, 4.6 to the cut at 4.0, 9.7 to the end.
  auto segs = vision::scene_segments(cuts, 0, 10, 1.0, 0);
  ASSERT_TRUE(segs.ok()) << segs.status().to_string();
  ASSERT_EQ(segs->size(), 2u);
  EXPECT_DOUBLE_EQ((*segs)[0].start, 0);
  EXPECT_DOUBLE_EQ((*segs)[0].end, 4.0);
  EXPECT_DOUBLE_EQ((*segs)[0].score, 0);
  EXPECT_DOUBLE_EQ((*segs)[1].start, 4.0);
  EXPECT_DOUBLE_EQ((*segs)[1].end, 10);
  EXPECT_DOUBLE_EQ((*segs)[1].score, 0.8);

  // Max 2.5 s: [0, 4) in two parts, [4, 10) in three; segments tile the range.
  segs = vision::scene_segments(cuts, 0, 10, 1.0, 2.5);
  ASSERT_TRUE(segs.ok());
  ASSERT_EQ(segs->size(), 5u);
  double at = 0;
  for (const auto& s : *segs) {
    EXPECT_DOUBLE_EQ(s.start, at);
    EXPECT_LE(s.end - s.start, 2.5 + 1e-9);
    at = s.end;
  }
  EXPECT_DOUBLE_EQ(at, 10);
  EXPECT_DOUBLE_EQ((*segs)[2].start, 4.0);
  EXPECT_DOUBLE_EQ((*segs)[2].score, 0.8) << "the first part of a scene keeps its cut's score";
  EXPECT_DOUBLE_EQ((*segs)[3].score, 0);

  // No cuts: one segment, the whole range.
  segs = vision::scene_segments({}, 2, 5, 1.0, 0);
  ASSERT_TRUE(segs.ok());
  ASSERT_EQ(segs->size(), 1u);
  EXPECT_DOUBLE_EQ((*segs)[0].start, 2);
  EXPECT_DOUBLE_EQ((*segs)[0].end, 5);

  EXPECT_EQ(vision::scene_segments(cuts, 5, 5, 1, 0).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(vision::scene_segments(cuts, 0, 10, 3, 2).status().code(),
            StatusCode::kInvalidArgument);
}

// Decodes the frames sampled at `fps` over the whole clip and returns the detected cuts; the
// largest difference between consecutive samples that is not a cut goes to *within_scene.
std::vector<vision::SceneCut> cuts_of_clip(const std::string& path, double fps, double* interval,
                                           double* within_scene) {
  auto decoder = vision::VideoDecoder::open_file(path);
  EXPECT_TRUE(decoder.ok()) << decoder.status().to_string();
  if (!decoder.ok()) return {};
  const vision::VideoInfo info = (*decoder)->info();
  vision::SamplingOptions sampling;
  sampling.mode = vision::SampleMode::kFps;
  sampling.sample_fps = fps;
  auto samples = vision::sample_frames(info.frame_count, info.fps, sampling);
  EXPECT_TRUE(samples.ok()) << samples.status().to_string();
  if (!samples.ok()) return {};
  std::vector<int64_t> indices;
  for (const auto& s : *samples) indices.push_back(s.index);
  auto frames = (*decoder)->frames_at_indices(indices);
  EXPECT_TRUE(frames.ok()) << frames.status().to_string();
  if (!frames.ok()) return {};
  *interval = 1.0 / fps;
  *within_scene = 0;
  for (size_t i = 1; i < frames->size(); ++i) {
    const double d =
        vision::signature_difference(signature((*frames)[i - 1]), signature((*frames)[i]));
    if (d <= vision::SceneOptions{}.threshold) *within_scene = std::max(*within_scene, d);
  }
  auto cuts = vision::detect_scene_cuts(*frames);
  EXPECT_TRUE(cuts.ok()) << cuts.status().to_string();
  return cuts.ok() ? *cuts : std::vector<vision::SceneCut>{};
}

// ffmpeg: the given lavfi sources, 2 s each at 25 fps, 160x120, concatenated into one H.264 clip.
std::string concat_clip(const std::string& name, const std::vector<std::string>& sources) {
  std::string args, inputs;
  for (size_t i = 0; i < sources.size(); ++i) {
    const char* sep = sources[i].find('=') == std::string::npos ? "=" : ":";
    args += "-f lavfi -i " + sources[i] + sep + "size=160x120:rate=25:duration=2 ";
    inputs += "[" + std::to_string(i) + ":v]";
  }
  const std::string out = testing::scratch_dir() + "/" + name;
  args += "-filter_complex \"" + inputs + "concat=n=" + std::to_string(sources.size()) +
          ":v=1[v]\" -map \"[v]\" -c:v libx264 -preset ultrafast -g 25 -pix_fmt yuv420p \"" + out +
          "\"";
  return testing::run_ffmpeg(args) ? out : "";
}

TEST(SceneDetectorClip, TestsrcThenSolidColourIsCutAtTwoSeconds) {
  ASSERT_TRUE(testing::ffmpeg_available()) << "the ffmpeg CLI is needed to make the clip";
  const std::string clip = concat_clip("two_scenes.mp4", {"testsrc", "color=c=red"});
  ASSERT_FALSE(clip.empty()) << "ffmpeg could not make the clip";
  double interval = 0, within = 0;
  const auto cuts = cuts_of_clip(clip, 4.0, &interval, &within);
  ASSERT_EQ(cuts.size(), 1u) << "testsrc's own motion must not look like a cut";
  EXPECT_NEAR(cuts[0].time, 2.0, interval) << "the cut is at the first red frame, 2 s";
  // Margins on both sides of the default threshold, so the result is not a near miss.
  EXPECT_LT(within, vision::SceneOptions{}.threshold / 2) << "testsrc's motion scores high";
  EXPECT_GT(cuts[0].score, vision::SceneOptions{}.threshold * 1.5);
}

TEST(SceneDetectorClip, ThreeScenesGiveTwoCuts) {
  ASSERT_TRUE(testing::ffmpeg_available()) << "the ffmpeg CLI is needed to make the clip";
  const std::string clip =
      concat_clip("three_scenes.mp4", {"color=c=navy", "testsrc", "color=c=white"});
  ASSERT_FALSE(clip.empty()) << "ffmpeg could not make the clip";
  double interval = 0, within = 0;
  const auto cuts = cuts_of_clip(clip, 3.0, &interval, &within);
  ASSERT_EQ(cuts.size(), 2u);
  EXPECT_NEAR(cuts[0].time, 2.0, interval);
  EXPECT_NEAR(cuts[1].time, 4.0, interval);
}

}  // namespace
}  // namespace vamba
