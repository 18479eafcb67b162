// The hybrid LM on CUDA (bf16 weights and activations, fp32 accumulation and recurrent state) from
// the golden vision_embeds and input_ids: every per-layer intermediate, the final hidden states and
// the logits within 2x the reference's own bf16 spread, the 16 greedy ids by cached decode equal to
// the reference's, and video fed in two pieces equal to video fed at once.
#include <gtest/gtest.h>

#include <iostream>

#include "engine/generate/generate.h"
#include "engine/models/vamba_lm.h"
#include "tests/gpu_golden/bf16_tolerance.h"
#include "tests/testing/golden.h"
#include "tests/testing/golden_tensors.h"

namespace vamba {
namespace {

using testing::bf16_tolerance;
using testing::golden_floats;
using testing::golden_ints;
using testing::rel_l2;

std::vector<float> host_values(const Tensor& t) {
  auto v = t.to_float_vector();
  EXPECT_TRUE(v.ok()) << v.status().to_string();
  return v.ok() ? *v : std::vector<float>();
}

void expect_bf16_close(const std::string& name, const Tensor& got) {
  const double d = rel_l2(host_values(got), golden_floats(name));
  const double tol = bf16_tolerance(name);
  std::cout << "  cuda rel_l2 " << name << " = " << d << " (tolerance " << tol << ")\n";
  EXPECT_LE(d, tol) << name;
}

class LmCudaGolden : public ::testing::Test {
 protected:
  void SetUp() override {
    VAMBA_SKIP_WITHOUT_GPU();
    auto ck = Checkpoint::open(testing::golden_path("vamba-tiny"));
    ASSERT_TRUE(ck.ok()) << ck.status().to_string();
    checkpoint_ = std::move(ck).value();
    auto stream = Stream::create(Device::cuda(0));
    ASSERT_TRUE(stream.ok()) << stream.status().to_string();
    stream_ = std::move(stream).value();
    auto lm = VambaLm::load(checkpoint_, Device::cuda(0), stream_);
    ASSERT_TRUE(lm.ok()) << lm.status().to_string();
    lm_ = std::move(lm).value();
    auto video = testing::golden_tensor("vision_embeds");
    ASSERT_TRUE(video.ok()) << video.status().to_string();
    video_ = *video;
    ids_ = golden_ints("input_ids");
  }

  Checkpoint checkpoint_;
  Stream stream_;
  std::unique_ptr<VambaLm> lm_;
  Tensor video_;
  std::vector<int64_t> ids_;
};

TEST_F(LmCudaGolden, EveryIntermediateWithinTwiceTheReferenceBf16Spread) {
  auto video = lm_->new_video_state(stream_);
  ASSERT_TRUE(video.ok()) << video.status().to_string();
  // Video layers: capture each layer's Mamba norm, mixer and output while appending all tokens.
  VideoCapture vcap;
  ASSERT_TRUE(lm_->append_video(video_, &*video, stream_, {}, &vcap).ok());
  auto text = lm_->new_text_state(stream_);
  ASSERT_TRUE(text.ok());
  TextOutput out;
  TextCapture tcap;
  Status st = lm_->forward_text(ids_, *video, &*text, &out, stream_, {}, &tcap);
  ASSERT_TRUE(st.ok()) << st.to_string();
  ASSERT_TRUE(stream_.synchronize().ok());

  expect_bf16_close("text_embeds", tcap.text_embeds);
  ASSERT_EQ(vcap.layers.size(), tcap.layers.size());
  for (size_t l = 0; l < tcap.layers.size(); ++l) {
    const std::string p = "layers." + std::to_string(l) + ".";
    expect_bf16_close(p + "self_attn_out", tcap.layers[l].self_attn_out);
    expect_bf16_close(p + "cross_attn_out", tcap.layers[l].cross_attn_out);
    expect_bf16_close(p + "mlp_out", tcap.layers[l].mlp_out);
    expect_bf16_close(p + "text_layer_out", tcap.layers[l].text_layer_out);
    expect_bf16_close(p + "mamba_norm_out", vcap.layers[l].mamba_norm_out);
    expect_bf16_close(p + "mamba_mixer_out", vcap.layers[l].mamba_mixer_out);
    expect_bf16_close(p + "video_layer_out", vcap.layers[l].video_layer_out);
  }
  expect_bf16_close("last_hidden_state", out.hidden);
  expect_bf16_close("logits_last", out.logits_last);
}

TEST_F(LmCudaGolden, GreedyIdsByCachedDecodeEqualTheReference) {
  auto video = lm_->new_video_state(stream_);
  ASSERT_TRUE(video.ok());
  ASSERT_TRUE(lm_->append_video(video_, &*video, stream_).ok());
  auto text = lm_->new_text_state(stream_);
  ASSERT_TRUE(text.ok());
  const std::vector<int64_t> want = golden_ints("greedy_ids");
  GenerateOptions opts;
  opts.max_new_tokens = static_cast<int64_t>(want.size());  // no stop tokens: exactly N tokens
  auto result = generate(*lm_, ids_, *video, &*text, opts, stream_);
  ASSERT_TRUE(result.ok()) << result.status().to_string();
  EXPECT_EQ(result->tokens, want);
}

// Batched decode on the GPU: the weight products run with m = 5 (the streaming GEMV) instead of 1,
// and the five questions share one cross-attention call; each must still decode the reference ids.
TEST_F(LmCudaGolden, BatchedDecodeOfFiveCopiesGivesTheReferenceIds) {
  auto video = lm_->new_video_state(stream_);
  ASSERT_TRUE(video.ok());
  ASSERT_TRUE(lm_->append_video(video_, &*video, stream_).ok());
  const std::vector<int64_t> want = golden_ints("greedy_ids");
  std::vector<TextState> texts;
  for (int i = 0; i < 5; ++i) {
    auto t = lm_->new_text_state(stream_);
    ASSERT_TRUE(t.ok());
    texts.push_back(std::move(*t));
  }
  std::vector<GenerateItem> items;
  for (int i = 0; i < 5; ++i) {
    GenerateItem item;
    item.prompt = ids_;
    item.video = &*video;
    item.text = &texts[i];
    item.options.max_new_tokens = static_cast<int64_t>(want.size());
    items.push_back(std::move(item));
  }
  auto results = generate_batch(*lm_, std::move(items), stream_);
  ASSERT_TRUE(results.ok()) << results.status().to_string();
  for (const GenerateResult& r : *results) EXPECT_EQ(r.tokens, want);
}

TEST_F(LmCudaGolden, VideoInTwoPiecesEqualsVideoAtOnce) {
  auto run = [&](const std::vector<int64_t>& cuts) {
    auto video = lm_->new_video_state(stream_);
    EXPECT_TRUE(video.ok());
    int64_t begin = 0;
    for (int64_t end : cuts) {
      auto piece = video_.slice_rows(begin, end);
      EXPECT_TRUE(piece.ok());
      EXPECT_TRUE(lm_->append_video(*piece, &*video, stream_).ok());
      begin = end;
    }
    auto text = lm_->new_text_state(stream_);
    TextOutput out;
    EXPECT_TRUE(lm_->forward_text(ids_, *video, &*text, &out, stream_).ok());
    return host_values(out.logits_last);
  };
  const int64_t m = video_.dim(0);
  const std::vector<float> whole = run({m});
  const std::vector<float> pieces = run({m / 2 - 3, m});  // a cut inside an SSD chunk
  const double d = rel_l2(pieces, whole);
  std::cout << "  cuda rel_l2 logits (two pieces vs one) = " << d << "\n";
  // Only bf16 rounding of the pieces' boundaries differs; far below the bf16 spread of the logits.
  EXPECT_LE(d, bf16_tolerance("logits_last") / 2);
}

}  // namespace
}  // namespace vamba
