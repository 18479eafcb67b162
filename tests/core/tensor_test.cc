#include "engine/core/tensor.h"

#include <gtest/gtest.h>

namespace vamba {
namespace {

TEST(Tensor, EmptyShapeAndBytes) {
  auto t = Tensor::empty({2, 3, 4}, DType::kBF16);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->numel(), 24);
  EXPECT_EQ(t->nbytes(), 48u);
  EXPECT_EQ(t->rank(), 3);
  EXPECT_EQ(t->dim(-1), 4);
  EXPECT_EQ(t->describe(), "bf16[2, 3, 4] on cpu");
  EXPECT_FALSE(Tensor::empty({2, -1}, DType::kF32).ok());
}

TEST(Tensor, ReshapeAndSliceShareStorage) {
  std::vector<float> v(12);
  for (int i = 0; i < 12; ++i) v[i] = static_cast<float>(i);
  auto t = Tensor::from_floats({3, 4}, v);
  ASSERT_TRUE(t.ok());
  auto r = t->reshape({2, -1});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->shape(), (Shape{2, 6}));
  EXPECT_FALSE(t->reshape({5, -1}).ok());
  EXPECT_FALSE(t->reshape({-1, -1}).ok());
  auto s = t->slice_rows(1, 3);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->shape(), (Shape{2, 4}));
  EXPECT_EQ(s->data<float>()[0], 4.0f);
  s->data<float>()[0] = 100.f;  // a view: writes show through
  EXPECT_EQ(t->data<float>()[4], 100.f);
  EXPECT_FALSE(t->slice_rows(2, 4).ok());
  EXPECT_FALSE(t->slice_rows(-1, 1).ok());
}

TEST(Tensor, CopiesAndConversions) {
  auto t = Tensor::from_floats({2, 2}, {1.f, 2.f, 3.f, 4.f}, DType::kBF16);
  ASSERT_TRUE(t.ok());
  auto f = t->to_float_vector();
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(*f, (std::vector<float>{1.f, 2.f, 3.f, 4.f}));
  auto c = t->to(Device::cpu());
  ASSERT_TRUE(c.ok());
  EXPECT_NE(c->raw_data(), t->raw_data());
  auto wrong = Tensor::empty({4}, DType::kBF16);
  ASSERT_TRUE(wrong.ok());
  EXPECT_FALSE(wrong->copy_from(*t).ok());  // shape mismatch is an error, not a silent copy
  auto z = Tensor::zeros({3}, DType::kI32);
  ASSERT_TRUE(z.ok());
  EXPECT_EQ(z->data<int32_t>()[2], 0);
}

TEST(Tensor, WrapKeepsOwnerAlive) {
  auto owner = std::make_shared<std::vector<float>>(std::vector<float>{5.f, 6.f});
  std::weak_ptr<std::vector<float>> weak = owner;
  Tensor t = Tensor::wrap(owner->data(), {2}, DType::kF32, Device::cpu(), owner);
  owner.reset();
  EXPECT_FALSE(weak.expired());
  EXPECT_EQ(t.data<float>()[1], 6.f);
  t = Tensor();
  EXPECT_TRUE(weak.expired());
}

TEST(Device, Parse) {
  EXPECT_TRUE(parse_device("cpu")->is_cpu());
  EXPECT_EQ(parse_device("cuda:1")->index, 1);
  EXPECT_TRUE(parse_device("cuda")->is_cuda());
  EXPECT_FALSE(parse_device("tpu").ok());
  EXPECT_FALSE(parse_device("cuda:x").ok());
}

}  // namespace
}  // namespace vamba
