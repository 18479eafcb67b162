// The CUDA side of engine/core: caching allocator, streams, events and tensor copies. Runs on the
// device machine; skips (saying so) where no GPU exists.
#include <gtest/gtest.h>

#include <random>

#include "engine/core/tensor.h"
#include "tests/testing/golden.h"

namespace vamba {
namespace {

TEST(CudaCore, RoundTripThroughDeviceOnAStream) {
  VAMBA_SKIP_WITHOUT_GPU();
  auto stream = Stream::create(Device::cuda(0));
  ASSERT_TRUE(stream.ok()) << stream.status().to_string();
  std::vector<float> v(1 << 20);
  std::mt19937 rng(3);
  std::normal_distribution<float> dist;
  for (auto& x : v) x = dist(rng);
  auto host = Tensor::from_floats({1024, 1024}, v, DType::kBF16);
  ASSERT_TRUE(host.ok());
  auto dev = host->to(Device::cuda(0), &*stream);
  ASSERT_TRUE(dev.ok()) << dev.status().to_string();
  EXPECT_TRUE(dev->is_cuda());
  auto dev2 = Tensor::empty({1024, 1024}, DType::kBF16, Device::cuda(0));
  ASSERT_TRUE(dev2.ok());
  ASSERT_TRUE(dev2->copy_from(*dev, &*stream).ok());  // device to device
  auto back = dev2->to(Device::cpu(), &*stream);
  ASSERT_TRUE(back.ok());
  ASSERT_TRUE(stream->synchronize().ok());
  EXPECT_EQ(0, std::memcmp(back->raw_data(), host->raw_data(), host->nbytes()));
}

TEST(CudaCore, CachingAllocatorAvoidsDriverOnHotPath) {
  VAMBA_SKIP_WITHOUT_GPU();
  auto alloc = cuda_allocator(0);
  ASSERT_TRUE(alloc.ok());
  // Warm the cache once, then many request-sized allocations must not reach cudaMalloc.
  { auto t = Tensor::empty({64, 1 << 20}, DType::kBF16, Device::cuda(0)); ASSERT_TRUE(t.ok()); }
  const uint64_t before = (*alloc)->stats().driver_allocs;
  for (int i = 0; i < 100; ++i) {
    auto t = Tensor::empty({64, 1 << 20}, DType::kBF16, Device::cuda(0));
    ASSERT_TRUE(t.ok());
  }
  EXPECT_EQ((*alloc)->stats().driver_allocs, before);
}

TEST(CudaCore, HugeAllocationIsResourceExhaustedNotACrash) {
  VAMBA_SKIP_WITHOUT_GPU();
  auto t = Tensor::empty({int64_t{1} << 40}, DType::kF32, Device::cuda(0));  // 4 TiB
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().code(), StatusCode::kResourceExhausted);
  auto ok = Tensor::empty({1024}, DType::kF32, Device::cuda(0));  // and the device still works
  EXPECT_TRUE(ok.ok());
}

TEST(CudaCore, EventsTimeAndOrderStreams) {
  VAMBA_SKIP_WITHOUT_GPU();
  auto a = Stream::create(Device::cuda(0));
  auto b = Stream::create(Device::cuda(0));
  ASSERT_TRUE(a.ok() && b.ok());
  auto start = Event::create(true);
  auto end = Event::create(true);
  ASSERT_TRUE(start.ok() && end.ok());
  auto z = Tensor::zeros({1 << 24}, DType::kF32, Device::cuda(0), &*a);
  ASSERT_TRUE(z.ok());
  std::vector<float> ones(1 << 24, 1.0f);
  auto h = Tensor::from_floats({1 << 24}, ones);
  ASSERT_TRUE(h.ok());
  ASSERT_TRUE(start->record(*a).ok());
  ASSERT_TRUE(z->copy_from(*h, &*a).ok());
  ASSERT_TRUE(end->record(*a).ok());
  ASSERT_TRUE(end->wait_on(*b).ok());  // b sees the copy finished
  auto back = z->to(Device::cpu(), &*b);
  ASSERT_TRUE(back.ok());
  ASSERT_TRUE(b->synchronize().ok());
  EXPECT_EQ(back->data<float>()[(1 << 24) - 1], 1.0f);
  auto ms = Event::elapsed_ms(*start, *end);
  ASSERT_TRUE(ms.ok());
  EXPECT_GT(*ms, 0.0f);
}

TEST(CudaCore, PinnedHostMemory) {
  VAMBA_SKIP_WITHOUT_GPU();
  auto pinned = pinned_allocator();
  ASSERT_TRUE(pinned.ok());
  auto p = (*pinned)->allocate(1 << 20);
  ASSERT_TRUE(p.ok());
  (*pinned)->deallocate(*p, 1 << 20);
}

}  // namespace
}  // namespace vamba
