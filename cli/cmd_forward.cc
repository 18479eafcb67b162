// vamba forward --model DIR --inputs IN.safetensors --out OUT.safetensors [--device cpu|cuda]
//               [--new-tokens N] [--kv-store bf16|fp8]
// Runs the model on given inputs and writes what parity checks compare:
//   in:  input_ids (i64 [n] or [1, n]) and the video, either as
//        - vision_embeds (f32/bf16/f16 [M, hidden] or [1, M, hidden], the vision tower's output =
//          v_0) with video_grid_thw (i64 [g, 3], optional: checked against M), or as
//        - pixel_values_videos (f32/bf16/f16 [rows, C·T·P·P], the processor's output, e.g. from
//          `vamba preprocess`) with video_grid_thw (i64 [1, 3], required): the vision tower runs
//          first, on --device.
//   out: logits_last (f32 [vocab]), last_hidden_state (f32 [n, hidden]),
//        greedy_ids (i64 [N]: N greedy tokens by cached decode, no stop token, N = --new-tokens).
#include <array>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cli/command.h"
#include "engine/core/device.h"
#include "engine/generate/generate.h"
#include "engine/model/checkpoint.h"
#include "engine/model/safetensors.h"
#include "engine/models/vamba_lm.h"
#include "engine/state/kv_store.h"
#include "vision/tower/vision_tower.h"

namespace {

using vamba::DType;
using vamba::Status;
using vamba::StatusOr;
using vamba::Tensor;

struct ForwardArgs {
  std::string model;
  std::string inputs;
  std::string out;
  std::string device = "cpu";
  int64_t new_tokens = 16;
  std::string kv_store = "bf16";  // the video's cross-attention K/V: exact, or fp8 (kv_store.h)
};

StatusOr<std::vector<int64_t>> read_ids(const vamba::SafetensorsFile& in) {
  if (!in.contains("input_ids")) return vamba::invalid_argument(in.path() + ": no input_ids");
  VAMBA_ASSIGN_OR_RETURN(Tensor ids, in.tensor("input_ids"));
  const bool shape_ok = ids.rank() == 1 || (ids.rank() == 2 && ids.dim(0) == 1);
  if (!shape_ok || ids.numel() == 0 || (ids.dtype() != DType::kI64 && ids.dtype() != DType::kI32)) {
    return vamba::invalid_argument("input_ids must be i64 [n] or [1, n] with n > 0, got " +
                                   ids.describe());
  }
  std::vector<int64_t> out(static_cast<size_t>(ids.numel()));
  for (int64_t i = 0; i < ids.numel(); ++i) {
    out[i] = ids.dtype() == DType::kI64 ? ids.data<int64_t>()[i] : ids.data<int32_t>()[i];
  }
  return out;
}

// video_grid_thw as (g, 3) rows; INVALID_ARGUMENT unless i64 with positive entries.
StatusOr<std::vector<std::array<int64_t, 3>>> read_grid(const vamba::SafetensorsFile& in) {
  VAMBA_ASSIGN_OR_RETURN(Tensor grid, in.tensor("video_grid_thw"));
  if (grid.dtype() != DType::kI64 || grid.numel() % 3 != 0 || grid.numel() == 0) {
    return vamba::invalid_argument("video_grid_thw must be i64 [g, 3], got " + grid.describe());
  }
  std::vector<std::array<int64_t, 3>> rows(static_cast<size_t>(grid.numel() / 3));
  for (size_t g = 0; g < rows.size(); ++g) {
    for (int k = 0; k < 3; ++k) {
      rows[g][k] = grid.data<int64_t>()[3 * g + k];
      if (rows[g][k] <= 0) {
        return vamba::invalid_argument("video_grid_thw entries must be positive, got " +
                                       std::to_string(rows[g][k]));
      }
    }
  }
  return rows;
}

// v_0 from pixel_values_videos: the vision tower on `device` over the one video's grid.
StatusOr<Tensor> run_tower(const vamba::SafetensorsFile& in, const vamba::Checkpoint& checkpoint,
                           vamba::Device device, const vamba::Stream& stream) {
  if (!in.contains("video_grid_thw")) {
    return vamba::invalid_argument(in.path() +
                                   ": pixel_values_videos needs video_grid_thw (i64 [1, 3])");
  }
  VAMBA_ASSIGN_OR_RETURN(auto grid, read_grid(in));
  if (grid.size() != 1) {
    return vamba::invalid_argument("video_grid_thw: one video per forward, got " +
                                   std::to_string(grid.size()) + " grid rows");
  }
  const auto [t, h, w] = grid[0];
  VAMBA_ASSIGN_OR_RETURN(Tensor pixels, in.tensor("pixel_values_videos"));
  if (pixels.rank() == 3 && pixels.dim(0) == 1) {
    VAMBA_ASSIGN_OR_RETURN(pixels, pixels.reshape({pixels.dim(1), pixels.dim(2)}));
  }
  const vamba::VisionConfig& vc = checkpoint.config.vision;
  const int64_t cols =
      static_cast<int64_t>(vc.in_channels) * vc.temporal_patch_size * vc.patch_size * vc.patch_size;
  if (pixels.rank() != 2 || pixels.dim(0) != t * h * w || pixels.dim(1) != cols ||
      (pixels.dtype() != DType::kF32 && pixels.dtype() != DType::kBF16 &&
       pixels.dtype() != DType::kF16)) {
    return vamba::invalid_argument(
        "pixel_values_videos must be floating [" + std::to_string(t * h * w) + ", " +
        std::to_string(cols) + "] for video_grid_thw (" + std::to_string(t) + ", " +
        std::to_string(h) + ", " + std::to_string(w) + "), got " + pixels.describe());
  }
  // The tower takes f32 rows on the CPU; a copy also aligns rows from a foreign file.
  VAMBA_ASSIGN_OR_RETURN(std::vector<float> values, pixels.to_float_vector());
  VAMBA_ASSIGN_OR_RETURN(pixels, Tensor::from_floats(pixels.shape(), values));
  VAMBA_ASSIGN_OR_RETURN(vamba::vision::VisionTower tower,
                         vamba::vision::VisionTower::load(checkpoint, device, &stream));
  return tower.encode(pixels, t, h, w, vamba::vision::VisionEncodeOptions{}, stream);
}

// v_0 as (M, hidden): given, or computed by the vision tower from pixel_values_videos; checked
// against video_grid_thw when present.
StatusOr<Tensor> read_video(const vamba::SafetensorsFile& in, const vamba::Checkpoint& checkpoint,
                            vamba::Device device, const vamba::Stream& stream) {
  const vamba::VambaConfig& config = checkpoint.config;
  if (!in.contains("vision_embeds")) {
    if (in.contains("pixel_values_videos")) return run_tower(in, checkpoint, device, stream);
    return vamba::invalid_argument(in.path() + ": no vision_embeds and no pixel_values_videos");
  }
  VAMBA_ASSIGN_OR_RETURN(Tensor v, in.tensor("vision_embeds"));
  if (v.rank() == 3 && v.dim(0) == 1) {
    VAMBA_ASSIGN_OR_RETURN(v, v.reshape({v.dim(1), v.dim(2)}));
  }
  if (v.rank() != 2 || v.dim(1) != config.hidden_size) {
    return vamba::invalid_argument("vision_embeds must be [M, " +
                                   std::to_string(config.hidden_size) + "], got " + v.describe());
  }
  if (in.contains("video_grid_thw")) {
    VAMBA_ASSIGN_OR_RETURN(auto grid, read_grid(in));
    const int64_t merge = config.vision.spatial_merge_size;
    int64_t tokens = 0;
    for (const auto& thw : grid) tokens += thw[0] * thw[1] * thw[2] / (merge * merge);
    if (tokens != v.dim(0)) {
      return vamba::invalid_argument("video_grid_thw implies " + std::to_string(tokens) +
                                     " video tokens but vision_embeds has " +
                                     std::to_string(v.dim(0)));
    }
  }
  return v;
}

StatusOr<Tensor> host_f32(const Tensor& t) { return t.to_dtype_cpu(DType::kF32); }

Status run_forward(const ForwardArgs& a) {
  VAMBA_ASSIGN_OR_RETURN(vamba::Device device, vamba::parse_device(a.device));
  if (device.is_cuda() && !vamba::cuda::available()) {
    return vamba::failed_precondition(
        "--device " + a.device + ": no usable CUDA device (or this build has no CUDA backend)");
  }
  if (a.new_tokens < 0) return vamba::invalid_argument("--new-tokens must be >= 0");
  const std::optional<vamba::KvStore> kv_store = vamba::parse_kv_store(a.kv_store);
  if (!kv_store) {
    return vamba::invalid_argument("--kv-store " + a.kv_store + ": expected bf16 or fp8");
  }
  VAMBA_ASSIGN_OR_RETURN(vamba::Checkpoint checkpoint, vamba::Checkpoint::open(a.model));
  VAMBA_ASSIGN_OR_RETURN(auto in, vamba::SafetensorsFile::open(a.inputs));
  VAMBA_ASSIGN_OR_RETURN(std::vector<int64_t> ids, read_ids(*in));

  vamba::Stream stream;
  if (device.is_cuda()) {
    VAMBA_ASSIGN_OR_RETURN(stream, vamba::Stream::create(device));
  }
  VAMBA_ASSIGN_OR_RETURN(Tensor video_embeds, read_video(*in, checkpoint, device, stream));
  VAMBA_ASSIGN_OR_RETURN(auto lm, vamba::VambaLm::load(checkpoint, device, stream));
  VAMBA_ASSIGN_OR_RETURN(vamba::VideoState video,
                         lm->new_video_state(stream, video_embeds.dim(0), *kv_store));
  VAMBA_RETURN_IF_ERROR(lm->append_video(video_embeds, &video, stream));
  VAMBA_ASSIGN_OR_RETURN(
      vamba::TextState text,
      lm->new_text_state(stream, static_cast<int64_t>(ids.size()) + a.new_tokens));

  vamba::GenerateOptions gen;
  gen.max_new_tokens = a.new_tokens;  // exactly N tokens: no stop token
  VAMBA_ASSIGN_OR_RETURN(vamba::GenerateResult result,
                         vamba::generate(*lm, ids, video, &text, gen, stream));
  VAMBA_RETURN_IF_ERROR(stream.synchronize());

  VAMBA_ASSIGN_OR_RETURN(Tensor logits, host_f32(result.prefill.logits_last));
  VAMBA_ASSIGN_OR_RETURN(Tensor hidden, host_f32(result.prefill.hidden));
  VAMBA_ASSIGN_OR_RETURN(
      Tensor greedy,
      Tensor::from_int64({static_cast<int64_t>(result.tokens.size())}, result.tokens));
  return vamba::write_safetensors(
      a.out, {{"logits_last", logits}, {"last_hidden_state", hidden}, {"greedy_ids", greedy}},
      {{"device", device.to_string()}});
}

vamba::cli::RunFn setup_forward(CLI::App& sub) {
  auto a = std::make_shared<ForwardArgs>();
  sub.add_option("--model,-m", a->model, "Checkpoint folder")->required();
  sub.add_option("--inputs", a->inputs,
                 "safetensors with input_ids and vision_embeds [+ video_grid_thw], or "
                 "pixel_values_videos + video_grid_thw (the vision tower runs first)")
      ->required();
  sub.add_option("--out", a->out,
                 "safetensors to write: logits_last, last_hidden_state, greedy_ids")
      ->required();
  sub.add_option("--device", a->device, "cpu or cuda[:i]")->capture_default_str();
  sub.add_option("--new-tokens", a->new_tokens, "Greedy tokens to decode (cached)")
      ->capture_default_str();
  sub.add_option("--kv-store", a->kv_store,
                 "Video cross-attention K/V store: bf16 (the activation dtype, exact) or fp8 "
                 "(e4m3 with block scales: half the memory)")
      ->capture_default_str();
  return [a]() -> int {
    const Status st = run_forward(*a);
    if (!st.ok()) {
      const bool usage = st.code() == vamba::StatusCode::kInvalidArgument ||
                         st.code() == vamba::StatusCode::kNotFound;
      return vamba::cli::fail("forward", st.to_string(), usage ? 2 : 1);
    }
    return 0;
  };
}

const bool registered = vamba::cli::register_command(
    {"forward",
     "Run the model on input_ids + vision_embeds (or pixel_values_videos); write logits, "
     "hidden states and greedy tokens",
     &setup_forward});

}  // namespace
