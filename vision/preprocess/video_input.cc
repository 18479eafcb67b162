#include "vision/preprocess/video_input.h"

namespace vamba::vision {

StatusOr<VideoInput> load_video_input(VideoDecoder& decoder, const VideoInputOptions& options,
                                      const PreprocessorConfig& config) {
  VideoInput input;
  input.info = decoder.info();
  VAMBA_ASSIGN_OR_RETURN(input.samples,
                         sample_frames(input.info.frame_count, input.info.fps, options.sampling));
  std::vector<int64_t> indices;
  indices.reserve(input.samples.size());
  for (const FrameSample& s : input.samples) indices.push_back(s.index);

  std::vector<VideoFrame> frames(indices.size());
  VAMBA_RETURN_IF_ERROR(decoder.visit_indices(indices, [&](size_t position, VideoFrame&& frame) {
    if (!options.pre_resize) {
      frames[position] = std::move(frame);
      return ok_status();
    }
    std::vector<VideoFrame> one;
    one.push_back(std::move(frame));
    VAMBA_ASSIGN_OR_RETURN(std::vector<VideoFrame> resized,
                           pre_resize_frames(one, *options.pre_resize));
    frames[position] = std::move(resized[0]);
    return ok_status();
  }));
  VAMBA_ASSIGN_OR_RETURN(input.patches, process_video(frames, config));
  if (options.keep_frames) input.frames = std::move(frames);
  return input;
}

}  // namespace vamba::vision
