// The generation loop on the tiny checkpoint: stop tokens, the per-token callback, cancellation,
// seeded sampling, and a conversation continuing from the text cache.
#include "engine/generate/generate.h"

#include <gtest/gtest.h>

#include "tests/testing/golden.h"
#include "tests/testing/golden_tensors.h"

namespace vamba {
namespace {

struct Fixture {
  Checkpoint checkpoint;
  std::unique_ptr<VambaLm> lm;
  VideoState video;
};

Fixture* fixture() {
  static Fixture* f = [] {
    auto* out = new Fixture();
    auto ck = Checkpoint::open(testing::golden_path("vamba-tiny"));
    EXPECT_TRUE(ck.ok()) << ck.status().to_string();
    if (!ck.ok()) return out;
    out->checkpoint = std::move(ck).value();
    auto lm = VambaLm::load(out->checkpoint, Device::cpu(), Stream());
    EXPECT_TRUE(lm.ok()) << lm.status().to_string();
    if (!lm.ok()) return out;
    out->lm = std::move(lm).value();
    auto video = out->lm->new_video_state(Stream());
    auto v0 = testing::golden_tensor("vision_embeds");
    EXPECT_TRUE(video.ok() && v0.ok());
    out->video = std::move(video).value();
    EXPECT_TRUE(out->lm->append_video(*v0, &out->video, Stream()).ok());
    return out;
  }();
  return f;
}

class Generate : public ::testing::Test {
 protected:
  void SetUp() override {
    f_ = fixture();
    ASSERT_NE(f_->lm, nullptr);
    prompt_ = testing::golden_ints("input_ids");
    want_ = testing::golden_ints("greedy_ids");
    ASSERT_EQ(want_.size(), 16u);
  }
  TextState text() {
    auto t = f_->lm->new_text_state(stream_);
    EXPECT_TRUE(t.ok());
    return std::move(t).value();
  }
  StatusOr<GenerateResult> gen(const GenerateOptions& opt, TextState* t) {
    return generate(*f_->lm, prompt_, f_->video, t, opt, stream_);
  }

  Fixture* f_ = nullptr;
  Stream stream_;
  std::vector<int64_t> prompt_, want_;
};

TEST_F(Generate, StopsAtAStopTokenAndIncludesIt) {
  GenerateOptions opt;
  opt.max_new_tokens = 16;
  opt.stop_token_ids = {want_[3]};  // the 4th greedy token
  TextState t = text();
  auto r = gen(opt, &t);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->reason, StopReason::kStopToken);
  EXPECT_EQ(r->tokens, std::vector<int64_t>(want_.begin(), want_.begin() + 4));
}

TEST_F(Generate, CallbackStreamsTokensAndCanStop) {
  GenerateOptions opt;
  opt.max_new_tokens = 16;
  std::vector<int64_t> streamed;
  opt.on_token = [&](int64_t token, int64_t index) {
    EXPECT_EQ(index, static_cast<int64_t>(streamed.size()));
    streamed.push_back(token);
    return streamed.size() < 5;
  };
  TextState t = text();
  auto r = gen(opt, &t);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->reason, StopReason::kCallback);
  EXPECT_EQ(streamed, r->tokens);
  EXPECT_EQ(r->tokens, std::vector<int64_t>(want_.begin(), want_.begin() + 5));
}

TEST_F(Generate, CancellationStopsBeforeTheNextStep) {
  std::atomic<bool> cancel{false};
  GenerateOptions opt;
  opt.max_new_tokens = 16;
  opt.cancel = &cancel;
  opt.on_token = [&](int64_t, int64_t index) {
    if (index == 2) cancel = true;
    return true;
  };
  TextState t = text();
  auto r = gen(opt, &t);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->reason, StopReason::kCancelled);
  EXPECT_EQ(r->tokens.size(), 3u);
  // Cancelled before it starts: no work at all.
  TextState t2 = text();
  auto r2 = gen(opt, &t2);
  ASSERT_TRUE(r2.ok());
  EXPECT_EQ(r2->reason, StopReason::kCancelled);
  EXPECT_TRUE(r2->tokens.empty());
  EXPECT_EQ(t2.length, 0);
}

TEST_F(Generate, SamplingIsSeededAndTemperatureChangesTheTokens) {
  GenerateOptions opt;
  opt.max_new_tokens = 8;
  opt.sampling = {1.5f, 50, 0.95f};
  opt.seed = 1234;
  TextState a = text(), b = text(), c = text();
  auto ra = gen(opt, &a), rb = gen(opt, &b);
  ASSERT_TRUE(ra.ok() && rb.ok());
  EXPECT_EQ(ra->tokens, rb->tokens);
  opt.seed = 99;
  auto rc = gen(opt, &c);
  ASSERT_TRUE(rc.ok());
  EXPECT_EQ(rc->tokens.size(), 8u);
  // Greedy and two seeds all agreeing on 8 hot-temperature tokens would mean sampling is ignored.
  const std::vector<int64_t> greedy(want_.begin(), want_.begin() + 8);
  EXPECT_FALSE(ra->tokens == greedy && rc->tokens == greedy);
}

TEST_F(Generate, ConversationContinuesFromTheCache) {
  // Generating 8 then feeding the 8th token and generating 8 more equals generating 16 at once.
  GenerateOptions opt;
  opt.max_new_tokens = 8;
  TextState t = text();
  auto first = gen(opt, &t);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(t.length, 28 + 7);
  auto second = generate(*f_->lm, {first->tokens.back()}, f_->video, &t, opt, stream_);
  ASSERT_TRUE(second.ok());
  std::vector<int64_t> all = first->tokens;
  all.insert(all.end(), second->tokens.begin(), second->tokens.end());
  EXPECT_EQ(all, want_);
}

}  // namespace
}  // namespace vamba
