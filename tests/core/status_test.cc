#include "engine/core/status.h"

#include <gtest/gtest.h>

namespace vamba {
namespace {

StatusOr<int> parse_positive(int v) {
  if (v <= 0) return invalid_argument("not positive: " + std::to_string(v));
  return v;
}

StatusOr<int> doubled(int v) {
  VAMBA_ASSIGN_OR_RETURN(int x, parse_positive(v));
  return 2 * x;
}

Status check_both(int a, int b) {
  VAMBA_RETURN_IF_ERROR(parse_positive(a).status());
  VAMBA_RETURN_IF_ERROR(parse_positive(b).status());
  return ok_status();
}

TEST(Status, CodesAndMessages) {
  EXPECT_TRUE(Status().ok());
  const Status s = not_found("video 7");
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_EQ(s.to_string(), "NOT_FOUND: video 7");
  EXPECT_EQ(s.with_context("ask").message(), "ask: video 7");
  EXPECT_EQ(s.with_context("ask").code(), StatusCode::kNotFound);
}

TEST(Status, MacrosPropagate) {
  auto ok = doubled(4);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(*ok, 8);
  auto bad = doubled(-1);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("-1"), std::string::npos);
  EXPECT_TRUE(check_both(1, 2).ok());
  EXPECT_EQ(check_both(1, 0).message(), "not positive: 0");
}

TEST(Status, StatusOrFromOkStatusIsAnError) {
  StatusOr<int> s{Status()};
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), StatusCode::kInternal);
}

}  // namespace
}  // namespace vamba
