// Stream ingestion in the pipeline (pipelines/stream_ingest.h, frame_pairs.h) on the tiny
// checkpoint with synthetic frames: pairs sampled at the requested rate, captions per segment on
// the grid of --caption-every with increasing times, standing questions when due and at the end,
// a segment caption equal to captioning that segment's frames alone, and a window that keeps the
// cross-attention memory bounded however many pairs arrive.
#include <gtest/gtest.h>

#include <cmath>

#include "pipelines/batch_caption.h"
#include "pipelines/stream_ingest.h"
#include "tests/testing/golden.h"

namespace vamba::pipelines {
namespace {

constexpr double kSourceFps = 10;
constexpr double kSampleFps = 2;
constexpr double kSeconds = 8;

VideoQa* qa() {
  static VideoQa* q = [] {
    auto loaded = VideoQa::load(testing::golden_path("vamba-tiny"), Device::cpu());
    EXPECT_TRUE(loaded.ok()) << loaded.status().to_string();
    return loaded.ok() ? loaded->release() : nullptr;
  }();
  return q;
}

// A moving colour pattern, different in every frame.
vision::VideoFrame synthetic_frame(int64_t index) {
  vision::VideoFrame f;
  f.width = 160;
  f.height = 120;
  f.index = index;
  f.timestamp = index / kSourceFps;
  f.rgb.resize(static_cast<size_t>(f.width * f.height * 3));
  for (int y = 0; y < f.height; ++y) {
    for (int x = 0; x < f.width; ++x) {
      uint8_t* p = &f.rgb[static_cast<size_t>((y * f.width + x) * 3)];
      p[0] = static_cast<uint8_t>(x * 2 + index * 9);
      p[1] = static_cast<uint8_t>(y * 2 + index * 5);
      p[2] = static_cast<uint8_t>((x + y) ^ (index * 31));
    }
  }
  return f;
}

std::vector<FramePair> sample_pairs() {
  FramePairSampler sampler(kSampleFps, {56, 112}, qa()->checkpoint().preprocessor);
  std::vector<FramePair> pairs;
  for (int64_t i = 0; i < kSeconds * kSourceFps; ++i) {
    vision::VideoFrame f = synthetic_frame(i);
    if (f.timestamp < sampler.next_time()) continue;  // what FrameReader::next skips
    auto pair = sampler.add(std::move(f));
    EXPECT_TRUE(pair.ok()) << pair.status().to_string();
    if (pair.ok() && pair->has_value()) pairs.push_back(std::move(**pair));
  }
  return pairs;
}

TEST(FramePairSampler, SamplesOnTheRateGridAndPairsFrames) {
  ASSERT_NE(qa(), nullptr);
  const std::vector<FramePair> pairs = sample_pairs();
  ASSERT_EQ(pairs.size(), static_cast<size_t>(kSeconds * kSampleFps / 2));
  for (size_t i = 0; i < pairs.size(); ++i) {
    EXPECT_NEAR(pairs[i].start, i * 2 / kSampleFps, 1e-9);
    EXPECT_NEAR(pairs[i].end, (i + 1) * 2 / kSampleFps, 1e-9);
    EXPECT_EQ(pairs[i].patches.grid_t, 1);
    ASSERT_EQ(pairs[i].patches.timestamps.size(), 2u);
  }
  // A frame offered before next_time() is ignored.
  FramePairSampler sampler(kSampleFps, {56, 112}, qa()->checkpoint().preprocessor);
  ASSERT_TRUE(sampler.add(synthetic_frame(0)).ok());
  auto early = sampler.add(synthetic_frame(1));  // 0.1 s < 0.5 s
  ASSERT_TRUE(early.ok());
  EXPECT_FALSE(early->has_value());
  EXPECT_EQ(sampler.frames_sampled(), 1);
}

struct Recorded {
  std::vector<StreamCaption> captions;
  std::vector<StreamAnswer> answers;
};

StreamSink recording_sink(Recorded* r) {
  StreamSink sink;
  sink.on_caption = [r](const StreamCaption& c) { r->captions.push_back(c); };
  sink.on_answer = [r](const StreamAnswer& a) { r->answers.push_back(a); };
  return sink;
}

TEST(StreamIngest, CaptionsQuestionsAndABoundedWindow) {
  ASSERT_NE(qa(), nullptr);
  const std::vector<FramePair> pairs = sample_pairs();
  StreamIngestOptions options;
  options.caption_every_s = 2;
  options.questions = {"What is shown?"};
  options.ask_every_s = 3;
  options.window_tokens = 40;
  options.ask.max_new_tokens = 3;
  Recorded rec;
  auto ingest = StreamIngest::create(qa(), options, recording_sink(&rec));
  ASSERT_TRUE(ingest.ok()) << ingest.status().to_string();
  size_t bytes_after_first = 0;
  for (size_t i = 0; i < pairs.size(); ++i) {
    ASSERT_TRUE((*ingest)->add_pair(pairs[i]).ok());
    const StreamStats& st = (*ingest)->stats();
    EXPECT_LE(st.tokens_held, options.window_tokens) << "pair " << i;
    if (i == 0) bytes_after_first = (*ingest)->state().bytes();
    // The K/V capacity was reserved for the window: it never grows.
    EXPECT_EQ((*ingest)->state().bytes(), bytes_after_first) << "pair " << i;
  }
  ASSERT_TRUE((*ingest)->finish().ok());
  const StreamStats& st = (*ingest)->stats();
  const int64_t per_pair = st.tokens_appended / st.pairs;
  EXPECT_EQ(st.pairs, static_cast<int64_t>(pairs.size()));
  EXPECT_GT(st.tokens_dropped, 0);
  EXPECT_EQ(st.tokens_appended - st.tokens_dropped, st.tokens_held);
  EXPECT_NEAR(st.ingested_until, kSeconds, 1e-9);

  // One caption per 2 s segment, in order, each of its own 4 frames.
  ASSERT_EQ(rec.captions.size(), 4u);
  for (size_t k = 0; k < rec.captions.size(); ++k) {
    EXPECT_NEAR(rec.captions[k].start, 2.0 * k, 1e-9);
    EXPECT_NEAR(rec.captions[k].end, 2.0 * (k + 1), 1e-9);
    EXPECT_EQ(rec.captions[k].frames, 4);
    EXPECT_EQ(rec.captions[k].video_tokens, 2 * per_pair);
    EXPECT_FALSE(rec.captions[k].answer.tokens.empty());
  }
  // Questions after 3 s and 6 s of stream, and once more at the end.
  ASSERT_EQ(rec.answers.size(), 3u);
  EXPECT_NEAR(rec.answers[0].at, 3.0, 1e-9);
  EXPECT_NEAR(rec.answers[1].at, 6.0, 1e-9);
  EXPECT_NEAR(rec.answers[2].at, 8.0, 1e-9);
  for (const auto& a : rec.answers) EXPECT_LE(a.video_tokens, options.window_tokens);

  // The caption of segment [2, 4) is what the model says about those two pairs alone.
  EncodedVideo alone;
  auto state = qa()->new_video_state();
  ASSERT_TRUE(state.ok());
  alone.state = std::move(*state);
  for (size_t i : {2u, 3u}) {
    auto embeds = qa()->encode_vision(pairs[i].patches);
    ASSERT_TRUE(embeds.ok());
    ASSERT_TRUE(qa()->append_video(*embeds, &alone.state).ok());
  }
  auto want = qa()->ask(alone, kDefaultCaptionPrompt, options.ask);
  ASSERT_TRUE(want.ok());
  EXPECT_EQ(rec.captions[1].answer.tokens, want->tokens);
}

TEST(StreamIngest, StreamContextAsksTheWholeStateWithTheTimeRange) {
  ASSERT_NE(qa(), nullptr);
  const std::vector<FramePair> pairs = sample_pairs();
  StreamIngestOptions options;
  options.caption_every_s = 4;
  options.caption_context = CaptionContext::kStream;
  options.ask.max_new_tokens = 2;
  Recorded rec;
  auto ingest = StreamIngest::create(qa(), options, recording_sink(&rec));
  ASSERT_TRUE(ingest.ok());
  for (const FramePair& p : pairs) ASSERT_TRUE((*ingest)->add_pair(p).ok());
  ASSERT_TRUE((*ingest)->finish().ok());
  ASSERT_EQ(rec.captions.size(), 2u);
  const int64_t per_pair = (*ingest)->stats().tokens_appended / (*ingest)->stats().pairs;
  // No window: the second caption sees everything ingested so far.
  // (a pair is 1 s at 2 fps: 4 pairs per 4 s segment).
  EXPECT_EQ(rec.captions[0].video_tokens, 4 * per_pair);
  EXPECT_EQ(rec.captions[1].video_tokens, 8 * per_pair);
}

TEST(StreamIngest, RejectsAWindowSmallerThanAPair) {
  ASSERT_NE(qa(), nullptr);
  const std::vector<FramePair> pairs = sample_pairs();
  StreamIngestOptions options;
  options.caption_every_s = 2;
  options.window_tokens = 3;
  Recorded rec;
  auto ingest = StreamIngest::create(qa(), options, recording_sink(&rec));
  ASSERT_TRUE(ingest.ok());
  const Status st = (*ingest)->add_pair(pairs[0]);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << st.to_string();
}

}  // namespace
}  // namespace vamba::pipelines
