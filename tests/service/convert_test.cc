// Request checks: each refusal is INVALID_ARGUMENT and names the field; defaults fill the gaps.
#include <gtest/gtest.h>

#include "service/convert.h"
#include "service/status_map.h"

namespace vamba::service {
namespace {

void expect_invalid(const Status& s, const std::string& field) {
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find(field), std::string::npos) << s.message();
}

TEST(Convert, SamplingDefaultsAndChecks) {
  RequestLimits limits;
  limits.default_frames = 16;
  limits.max_frames = 64;
  v1::Sampling s;
  auto o = to_encode_options(s, limits);
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->sampling.num_frames, 16);
  EXPECT_EQ(o->sampling.mode, vision::SampleMode::kUniform);

  s.set_fps(2);
  s.set_end_s(3);
  o = to_encode_options(s, limits);
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->sampling.mode, vision::SampleMode::kFps);
  EXPECT_EQ(o->sampling.max_frames, 64) << "the server cap applies to fps sampling";
  EXPECT_EQ(o->sampling.end, 3);

  v1::Sampling both;
  both.set_frames(8);
  both.set_fps(1);
  expect_invalid(to_encode_options(both, limits).status(), "sampling.fps");
  v1::Sampling too_many;
  too_many.set_frames(65);
  expect_invalid(to_encode_options(too_many, limits).status(), "sampling.frames");
  v1::Sampling backwards;
  backwards.set_start_s(5);
  backwards.set_end_s(2);
  expect_invalid(to_encode_options(backwards, limits).status(), "sampling.end_s");
}

TEST(Convert, GenerationDefaultsAndChecks) {
  RequestLimits limits;
  limits.default_max_tokens = 33;
  limits.max_tokens = 100;
  v1::GenerationOptions g;
  auto o = to_ask_options(g, limits);
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->max_new_tokens, 33);
  EXPECT_EQ(o->top_p, 1.0f);
  EXPECT_EQ(o->temperature, 0.0f);
  g.set_max_tokens(101);
  expect_invalid(to_ask_options(g, limits).status(), "generation.max_tokens");
  v1::GenerationOptions t;
  t.set_temperature(-1);
  expect_invalid(to_ask_options(t, limits).status(), "generation.temperature");
  v1::GenerationOptions stop;
  stop.add_stop("");
  expect_invalid(to_ask_options(stop, limits).status(), "generation.stop");
}

TEST(Convert, SourceAndQuestion) {
  RequestLimits limits;
  expect_invalid(check_source(v1::VideoSource()), "video");
  v1::VideoSource empty_uri;
  empty_uri.set_uri("");
  expect_invalid(check_source(empty_uri), "video.uri");
  expect_invalid(check_question("", limits), "question");
  EXPECT_TRUE(check_question("why?", limits).ok());
}

TEST(StatusMap, CodesKeepTheirNumbersAndMessages) {
  for (int c = 0; c <= 16; ++c) {
    const Status s(static_cast<StatusCode>(c), c == 0 ? "" : "msg");
    const grpc::Status g = to_grpc_status(s);
    EXPECT_EQ(static_cast<int>(g.error_code()), c);
    if (c != 0) {
      EXPECT_EQ(g.error_message(), "msg");
    }
  }
  EXPECT_EQ(to_grpc_status(Status(static_cast<StatusCode>(99), "x")).error_code(), grpc::INTERNAL);
}

}  // namespace
}  // namespace vamba::service
