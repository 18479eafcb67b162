// vamba forward --model DIR --inputs IN.safetensors --out OUT.safetensors [--device cpu|cuda]
//               [--new-tokens N]
// Runs the hybrid language model on given inputs and writes what parity checks compare:
//   in:  input_ids (i64 [n] or [1, n]); vision_embeds (f32/bf16/f16 [M, hidden] or [1, M, hidden],
//        the vision tower's output = v_0); video_grid_thw (i64 [g, 3], optional: checked against M)
//   out: logits_last (f32 [vocab]), last_hidden_state (f32 [n, hidden]),
//        greedy_ids (i64 [N]: N greedy tokens by cached decode, no stop token, N = --new-tokens).
#include <iostream>
#include <memory>
#include <string>

#include "cli/command.h"
#include "engine/core/device.h"
#include "engine/generate/generate.h"
#include "engine/model/checkpoint.h"
#include "engine/model/safetensors.h"
#include "engine/models/vamba_lm.h"

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

// v_0 as (M, hidden), checked against video_grid_thw when present.
StatusOr<Tensor> read_video(const vamba::SafetensorsFile& in, const vamba::VambaConfig& config) {
  if (!in.contains("vision_embeds")) {
    if (in.contains("pixel_values_videos")) {
      return vamba::unimplemented(
          in.path() +
          ": has pixel_values_videos but no vision_embeds; this command runs the language model "
          "only (no vision tower is linked into `vamba forward` yet): pass vision_embeds");
    }
    return vamba::invalid_argument(in.path() + ": no vision_embeds");
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
    VAMBA_ASSIGN_OR_RETURN(Tensor grid, in.tensor("video_grid_thw"));
    if (grid.dtype() != DType::kI64 || grid.numel() % 3 != 0 || grid.numel() == 0) {
      return vamba::invalid_argument("video_grid_thw must be i64 [g, 3], got " + grid.describe());
    }
    const int64_t merge = config.vision.spatial_merge_size;
    int64_t tokens = 0;
    for (int64_t g = 0; g < grid.numel() / 3; ++g) {
      const int64_t* thw = grid.data<int64_t>() + 3 * g;
      tokens += thw[0] * thw[1] * thw[2] / (merge * merge);
    }
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
  VAMBA_ASSIGN_OR_RETURN(vamba::Checkpoint checkpoint, vamba::Checkpoint::open(a.model));
  VAMBA_ASSIGN_OR_RETURN(auto in, vamba::SafetensorsFile::open(a.inputs));
  VAMBA_ASSIGN_OR_RETURN(std::vector<int64_t> ids, read_ids(*in));
  VAMBA_ASSIGN_OR_RETURN(Tensor video_embeds, read_video(*in, checkpoint.config));

  vamba::Stream stream;
  if (device.is_cuda()) {
    VAMBA_ASSIGN_OR_RETURN(stream, vamba::Stream::create(device));
  }
  VAMBA_ASSIGN_OR_RETURN(auto lm, vamba::VambaLm::load(checkpoint, device, stream));
  VAMBA_ASSIGN_OR_RETURN(vamba::VideoState video, lm->new_video_state(stream, video_embeds.dim(0)));
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
                 "safetensors with input_ids, vision_embeds [, video_grid_thw]")
      ->required();
  sub.add_option("--out", a->out,
                 "safetensors to write: logits_last, last_hidden_state, greedy_ids")
      ->required();
  sub.add_option("--device", a->device, "cpu or cuda[:i]")->capture_default_str();
  sub.add_option("--new-tokens", a->new_tokens, "Greedy tokens to decode (cached)")
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
     "Run the language model on input_ids + vision_embeds; write logits, hidden states "
     "and greedy tokens",
     &setup_forward});

}  // namespace
