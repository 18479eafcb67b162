#include "vision/decode/rgb_converter.h"

extern "C" {
#include <libavutil/hwcontext.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>
}

#include <cstring>
#include <opencv2/core.hpp>

namespace vamba::vision::ffmpeg {
namespace {

// The SWS_CS_* matrix for a frame's colour space, as libavfilter's scale filter picks it.
int swscale_colorspace(AVColorSpace space) {
  switch (space) {
    case AVCOL_SPC_BT709:
      return SWS_CS_ITU709;
    case AVCOL_SPC_FCC:
      return SWS_CS_FCC;
    case AVCOL_SPC_SMPTE240M:
      return SWS_CS_SMPTE240M;
    case AVCOL_SPC_BT470BG:
    case AVCOL_SPC_SMPTE170M:
      return SWS_CS_ITU601;
    case AVCOL_SPC_BT2020_NCL:
    case AVCOL_SPC_BT2020_CL:
      return SWS_CS_BT2020;
    default:
      return SWS_CS_DEFAULT;
  }
}

}  // namespace

RgbConverter::~RgbConverter() { sws_freeContext(sws_); }

Status RgbConverter::convert(const AVFrame* frame, int rotation, std::vector<uint8_t>* rgb,
                             int* width, int* height) {
  const AVFrame* src = frame;
  if (frame->hw_frames_ctx) {
    if (!download_) download_.reset(av_frame_alloc());
    if (!download_) return resource_exhausted("cannot allocate a frame");
    av_frame_unref(download_.get());
    const int err = av_hwframe_transfer_data(download_.get(), frame, 0);
    if (err < 0) return internal_error("downloading a GPU-decoded frame: " + error_string(err));
    src = download_.get();
  }
  const int w = src->width;
  const int h = src->height;
  if (w <= 0 || h <= 0) return invalid_argument("decoded frame has no size");
  const auto fmt = static_cast<AVPixelFormat>(src->format);
  sws_ = sws_getCachedContext(sws_, w, h, fmt, w, h, AV_PIX_FMT_RGB24, SWS_BICUBIC, nullptr,
                              nullptr, nullptr);
  if (!sws_) {
    const char* name = av_get_pix_fmt_name(fmt);
    return invalid_argument(std::string("unsupported pixel format ") + (name ? name : "?"));
  }
  // The source's YUV matrix and range as the frame states them, exactly as the ffmpeg CLI's scale
  // filter sets them (in_color_matrix=auto): magic.mp4 is BT.709 limited range, and swscale's
  // built-in default (BT.601) would be off by up to 11 levels from the reference's frames.
  int* inv_table = nullptr;
  int* table = nullptr;
  int src_full = 0, dst_full = 0, brightness = 0, contrast = 0, saturation = 0;
  if (sws_getColorspaceDetails(sws_, &inv_table, &src_full, &table, &dst_full, &brightness,
                               &contrast, &saturation) >= 0) {
    const int* coefficients = sws_getCoefficients(swscale_colorspace(src->colorspace));
    if (src->color_range != AVCOL_RANGE_UNSPECIFIED) {
      src_full = src->color_range == AVCOL_RANGE_JPEG;
    }
    sws_setColorspaceDetails(sws_, coefficients, src_full, coefficients, dst_full, brightness,
                             contrast, saturation);
  }
  // swscale writes into an aligned frame buffer as OpenCV's backend does (align 32): its SIMD
  // paths depend on alignment, and we want the same code path as the reference.
  if (!staging_ || staging_->width != w || staging_->height != h) {
    staging_.reset(av_frame_alloc());
    if (!staging_) return resource_exhausted("cannot allocate a frame");
    staging_->format = AV_PIX_FMT_RGB24;
    staging_->width = w;
    staging_->height = h;
    if (av_frame_get_buffer(staging_.get(), 32) < 0) {
      return resource_exhausted("cannot allocate an RGB frame buffer");
    }
  }
  const int rows =
      sws_scale(sws_, src->data, src->linesize, 0, h, staging_->data, staging_->linesize);
  if (rows != h) return internal_error("swscale converted " + std::to_string(rows) + " rows");

  // Pack the rows (drop the stride padding), then rotate for display.
  const size_t row_bytes = static_cast<size_t>(w) * 3;
  const auto pack_into = [&](uint8_t* dst) {
    for (int y = 0; y < h; ++y) {
      std::memcpy(dst + static_cast<size_t>(y) * row_bytes,
                  staging_->data[0] + static_cast<size_t>(y) * staging_->linesize[0], row_bytes);
    }
  };
  if (rotation != 90 && rotation != 180 && rotation != 270) {
    rgb->resize(row_bytes * h);
    pack_into(rgb->data());
    *width = w;
    *height = h;
    return ok_status();
  }
  cv::Mat packed(h, w, CV_8UC3);
  pack_into(packed.data);
  cv::Mat out;
  const int code = rotation == 90    ? cv::ROTATE_90_CLOCKWISE
                   : rotation == 180 ? cv::ROTATE_180
                                     : cv::ROTATE_90_COUNTERCLOCKWISE;
  cv::rotate(packed, out, code);
  *width = out.cols;
  *height = out.rows;
  rgb->assign(out.data, out.data + out.total() * out.elemSize());
  return ok_status();
}

}  // namespace vamba::vision::ffmpeg
