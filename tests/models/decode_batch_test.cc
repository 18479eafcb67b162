// Batched decode (VambaLm::decode_step, generate_batch) against one sequence at a time, on the tiny
// checkpoint in f32: sequences at different positions, over the same video, another video, and a
// video with no tokens, must get the logits and tokens they get alone.
#include <gtest/gtest.h>

#include <cmath>

#include "engine/generate/generate.h"
#include "tests/testing/golden.h"
#include "tests/testing/golden_tensors.h"

namespace vamba {
namespace {

class DecodeBatch : public ::testing::Test {
 protected:
  void SetUp() override {
    auto ck = Checkpoint::open(testing::golden_path("vamba-tiny"));
    ASSERT_TRUE(ck.ok()) << ck.status().to_string();
    checkpoint_ = std::move(ck).value();
    auto lm = VambaLm::load(checkpoint_, Device::cpu(), stream_);
    ASSERT_TRUE(lm.ok()) << lm.status().to_string();
    lm_ = std::move(lm).value();
    auto v0 = testing::golden_tensor("vision_embeds");
    ASSERT_TRUE(v0.ok()) << v0.status().to_string();
    // Video A: the golden embeddings. Video B: the second half of them reversed in sign, so the
    // two videos differ in length and content. Video C: no tokens at all.
    const int64_t m = v0->dim(0);
    auto half = v0->slice_rows(m / 2, m);
    ASSERT_TRUE(half.ok());
    auto b0 = Tensor::empty(half->shape(), DType::kF32);
    ASSERT_TRUE(b0.ok());
    for (int64_t i = 0; i < b0->numel(); ++i) b0->data<float>()[i] = -half->data<float>()[i];
    for (auto* v : {&video_a_, &video_b_, &video_c_}) {
      auto s = lm_->new_video_state(stream_);
      ASSERT_TRUE(s.ok());
      *v = std::move(s).value();
    }
    ASSERT_TRUE(lm_->append_video(*v0, &video_a_, stream_).ok());
    ASSERT_TRUE(lm_->append_video(*b0, &video_b_, stream_).ok());
    prompt_ = testing::golden_ints("input_ids");
  }

  TextState text() {
    auto t = lm_->new_text_state(stream_);
    EXPECT_TRUE(t.ok());
    return std::move(t).value();
  }

  // Relative L2 distance of two f32 tensors' values.
  static double distance(const Tensor& a, const Tensor& b) {
    auto x = a.to_float_vector();
    auto y = b.to_float_vector();
    EXPECT_TRUE(x.ok() && y.ok());
    EXPECT_EQ(x->size(), y->size());
    return testing::rel_l2(*x, *y);
  }

  Checkpoint checkpoint_;
  std::unique_ptr<VambaLm> lm_;
  Stream stream_;
  VideoState video_a_, video_b_, video_c_;
  std::vector<int64_t> prompt_;
};

TEST_F(DecodeBatch, EachRowEqualsItsSequenceDecodedAlone) {
  // Four sequences: two questions about video A (different prompt lengths, so different
  // positions), one about video B, one about the empty video C.
  const std::vector<const VideoState*> videos = {&video_a_, &video_a_, &video_b_, &video_c_};
  std::vector<std::vector<int64_t>> prompts = {
      prompt_, std::vector<int64_t>(prompt_.begin(), prompt_.end() - 3), prompt_,
      std::vector<int64_t>(prompt_.begin() + 2, prompt_.end())};
  const size_t n = videos.size();
  std::vector<TextState> batched, alone;
  std::vector<int64_t> next(n);
  for (size_t i = 0; i < n; ++i) {
    batched.push_back(text());
    alone.push_back(text());
    TextOutput o1, o2;
    ASSERT_TRUE(lm_->forward_text(prompts[i], *videos[i], &batched[i], &o1, stream_).ok());
    ASSERT_TRUE(lm_->forward_text(prompts[i], *videos[i], &alone[i], &o2, stream_).ok());
    auto id = ops::argmax(o1.logits_last, stream_);
    ASSERT_TRUE(id.ok());
    next[i] = *id;
  }
  for (int step = 0; step < 4; ++step) {
    std::vector<DecodeRequest> batch;
    for (size_t i = 0; i < n; ++i) batch.push_back({next[i], videos[i], &batched[i]});
    Tensor logits;
    ASSERT_TRUE(lm_->decode_step(batch, &logits, stream_).ok());
    ASSERT_EQ(logits.dim(0), static_cast<int64_t>(n));
    for (size_t i = 0; i < n; ++i) {
      TextOutput one;
      ASSERT_TRUE(lm_->forward_text({next[i]}, *videos[i], &alone[i], &one, stream_).ok());
      auto row = logits.slice_rows(static_cast<int64_t>(i), static_cast<int64_t>(i) + 1);
      ASSERT_TRUE(row.ok());
      auto flat = row->reshape({lm_->vocab_size()});
      ASSERT_TRUE(flat.ok());
      EXPECT_LT(distance(*flat, one.logits_last), 1e-5) << "sequence " << i << " step " << step;
      EXPECT_EQ(batched[i].length, alone[i].length);
      auto id = ops::argmax(one.logits_last, stream_);
      ASSERT_TRUE(id.ok());
      next[i] = *id;
    }
  }
}

TEST_F(DecodeBatch, GenerateBatchGivesTheSameTokensAsGenerate) {
  std::vector<GenerateItem> items;
  std::vector<TextState> texts;
  texts.reserve(3);
  const std::vector<const VideoState*> videos = {&video_a_, &video_b_, &video_a_};
  for (int i = 0; i < 3; ++i) texts.push_back(text());
  for (int i = 0; i < 3; ++i) {
    GenerateItem item;
    item.prompt = prompt_;
    item.prompt.back() += i;  // three different questions
    item.video = videos[i];
    item.text = &texts[i];
    item.options.max_new_tokens = 6 + 3 * i;  // they finish at different steps
    if (i == 2) {
      item.options.sampling = {0.8f, 20, 0.9f};
      item.options.seed = 7;
    }
    items.push_back(item);
  }
  const std::vector<GenerateItem> copy = items;
  auto batched = generate_batch(*lm_, std::move(items), stream_);
  ASSERT_TRUE(batched.ok()) << batched.status().to_string();
  ASSERT_EQ(batched->size(), 3u);
  for (int i = 0; i < 3; ++i) {
    TextState t = text();
    auto alone = generate(*lm_, copy[i].prompt, *copy[i].video, &t, copy[i].options, stream_);
    ASSERT_TRUE(alone.ok());
    EXPECT_EQ((*batched)[i].tokens, alone->tokens) << "sequence " << i;
    EXPECT_EQ((*batched)[i].reason, alone->reason);
    EXPECT_EQ(texts[i].length, t.length);
  }
}

TEST_F(DecodeBatch, RejectsASharedTextStateAndEmptyBatch) {
  TextState t = text();
  TextOutput o;
  ASSERT_TRUE(lm_->forward_text(prompt_, video_a_, &t, &o, stream_).ok());
  Tensor logits;
  auto shared = lm_->decode_step({{1, &video_a_, &t}, {2, &video_a_, &t}}, &logits, stream_);
  EXPECT_EQ(shared.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(lm_->decode_step({}, &logits, stream_).code(), StatusCode::kInvalidArgument);
  auto bad_token = lm_->decode_step({{-5, &video_a_, &t}}, &logits, stream_);
  EXPECT_EQ(bad_token.code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace vamba
