#include "pipelines/pair_producer.h"

#include <algorithm>
#include <chrono>
#include <cstring>

namespace vamba::pipelines {
namespace {

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

}  // namespace

StatusOr<std::unique_ptr<PairProducer>> PairProducer::start(
    std::unique_ptr<vision::VideoDecoder> first, DecoderFactory open_more,
    std::vector<vision::FrameSample> samples, const PreprocessorConfig& config,
    const PairProducerOptions& options) {
  if (!first) return invalid_argument("pair producer: no decoder");
  const int tp = std::max(1, config.temporal_patch_size);
  const int64_t pairs = static_cast<int64_t>(samples.size()) / tp;
  if (pairs == 0) {
    return invalid_argument("the video needs at least " + std::to_string(tp) +
                            " sampled frames, got " + std::to_string(samples.size()));
  }
  std::unique_ptr<PairProducer> p(new PairProducer());
  p->open_more_ = std::move(open_more);
  p->samples_ = std::move(samples);
  p->config_ = config;
  p->options_ = options;
  p->pair_count_ = pairs;
  p->frames_per_pair_ = tp;
  p->slots_.resize(static_cast<size_t>(pairs));
  p->start_s_ = now_s();
  int workers = options.workers > 0
                    ? options.workers
                    : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  if (!p->open_more_) workers = 1;
  workers = static_cast<int>(std::min<int64_t>(workers, pairs));
  for (int w = 0; w < workers; ++w) {
    std::unique_ptr<vision::VideoDecoder> d = w == 0 ? std::move(first) : nullptr;
    p->threads_.emplace_back(
        [raw = p.get(), w, dec = std::move(d)]() mutable { raw->work(w, std::move(dec)); });
  }
  return p;
}

PairProducer::~PairProducer() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  room_cv_.notify_all();
  for (std::thread& t : threads_) t.join();
}

void PairProducer::work(int worker, std::unique_ptr<vision::VideoDecoder> decoder) {
  auto fail = [this](Status st) {
    std::lock_guard<std::mutex> lock(mu_);
    if (error_.ok()) error_ = std::move(st);
    stop_ = true;
    ready_cv_.notify_all();
    room_cv_.notify_all();
  };
  if (!decoder) {
    auto opened = open_more_();
    if (!opened.ok()) return fail(opened.status());
    decoder = std::move(opened).value();
  }
  (void)worker;
  int64_t counted = 0;  // this decoder's frames already added to frames_decoded_
  while (true) {
    int64_t pair = 0;
    {
      std::unique_lock<std::mutex> lock(mu_);
      room_cv_.wait(lock, [&] {
        return stop_ || next_claim_ >= pair_count_ || next_claim_ < next_take_ + options_.max_ahead;
      });
      if (stop_ || next_claim_ >= pair_count_) break;
      pair = next_claim_++;
    }
    const Status st = produce(*decoder, pair);
    const int64_t decoded = decoder->stats().frames_decoded;
    frames_decoded_ += decoded - counted;
    counted = decoded;
    if (!st.ok()) return fail(st);
  }
}

Status PairProducer::produce(vision::VideoDecoder& decoder, int64_t pair) {
  std::vector<int64_t> indices;
  for (int f = 0; f < frames_per_pair_; ++f) {
    indices.push_back(samples_[static_cast<size_t>(pair * frames_per_pair_ + f)].index);
  }
  std::vector<vision::VideoFrame> frames(indices.size());
  VAMBA_RETURN_IF_ERROR(decoder.visit_indices(indices, [&](size_t pos, vision::VideoFrame&& frame) {
    if (!options_.pre_resize) {
      frames[pos] = std::move(frame);
      return ok_status();
    }
    std::vector<vision::VideoFrame> one;
    one.push_back(std::move(frame));
    VAMBA_ASSIGN_OR_RETURN(std::vector<vision::VideoFrame> resized,
                           vision::pre_resize_frames(one, *options_.pre_resize));
    frames[pos] = std::move(resized[0]);
    return ok_status();
  }));
  VAMBA_ASSIGN_OR_RETURN(vision::VideoPatches patches, vision::process_video(frames, config_));
  std::lock_guard<std::mutex> lock(mu_);
  slots_[static_cast<size_t>(pair)] = std::move(patches);
  if (++finished_ == pair_count_) done_s_ = now_s();
  ready_cv_.notify_all();
  return ok_status();
}

StatusOr<vision::VideoPatches> PairProducer::next() {
  std::unique_lock<std::mutex> lock(mu_);
  if (next_take_ >= pair_count_) return out_of_range("pair producer: no more pairs");
  const size_t slot = static_cast<size_t>(next_take_);
  ready_cv_.wait(lock, [&] { return !error_.ok() || slots_[slot].has_value(); });
  if (!error_.ok()) return error_;
  vision::VideoPatches out = std::move(*slots_[slot]);
  slots_[slot].reset();
  ++next_take_;
  room_cv_.notify_all();
  return out;
}

double PairProducer::decode_seconds() const {
  std::lock_guard<std::mutex> lock(const_cast<std::mutex&>(mu_));
  return finished_ == pair_count_ ? done_s_ - start_s_ : 0.0;
}

int64_t PairProducer::frames_decoded() const { return frames_decoded_.load(); }

StatusOr<vision::VideoPatches> join_pairs(std::vector<vision::VideoPatches>& pairs) {
  if (pairs.empty()) return invalid_argument("join_pairs: no pairs");
  if (pairs.size() == 1) return std::move(pairs[0]);
  vision::VideoPatches out;
  out.grid_h = pairs[0].grid_h;
  out.grid_w = pairs[0].grid_w;
  out.frame_size = pairs[0].frame_size;
  const int64_t cols = pairs[0].pixel_values.dim(1);
  int64_t rows = 0;
  for (const vision::VideoPatches& p : pairs) {
    if (p.grid_h != out.grid_h || p.grid_w != out.grid_w || p.pixel_values.dim(1) != cols ||
        p.pixel_values.dtype() != DType::kF32) {
      return invalid_argument("join_pairs: frames of different sizes in one video");
    }
    rows += p.pixel_values.dim(0);
    out.grid_t += p.grid_t;
  }
  VAMBA_ASSIGN_OR_RETURN(out.pixel_values, Tensor::empty({rows, cols}, DType::kF32));
  char* dst = static_cast<char*>(out.pixel_values.raw_data());
  for (vision::VideoPatches& p : pairs) {
    std::memcpy(dst, p.pixel_values.raw_data(), p.pixel_values.nbytes());
    dst += p.pixel_values.nbytes();
    out.timestamps.insert(out.timestamps.end(), p.timestamps.begin(), p.timestamps.end());
    p.pixel_values = Tensor();
  }
  return out;
}

}  // namespace vamba::pipelines
