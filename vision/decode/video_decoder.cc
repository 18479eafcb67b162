#include "vision/decode/video_decoder.h"

extern "C" {
#include <libavutil/hwcontext.h>
#include <libavutil/mathematics.h>
}

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <limits>
#include <numeric>
#include <system_error>

#include "vision/decode/ffmpeg_util.h"
#include "vision/decode/memory_io.h"
#include "vision/decode/rgb_converter.h"

namespace vamba::vision {

using ffmpeg::display_rotation;
using ffmpeg::FramePtr;
using ffmpeg::interrupt_callback;
using ffmpeg::InterruptState;
using ffmpeg::SourceKind;

namespace {

// Decode errors in a row tolerated before the input is declared corrupt (FFmpeg conceals single
// damaged packets; a long run means the stream is garbage).
constexpr int kMaxConsecutiveErrors = 64;
// Without a seek index, a target this far ahead (seconds) is reached by seeking, not decoding.
constexpr double kForwardWindowSeconds = 2.0;
// Seeks that land after the target are retried this many times, each further back.
constexpr int kMaxSeekRetries = 6;

bool valid_rational(AVRational r) { return r.num > 0 && r.den > 0; }

enum AVPixelFormat pick_hw_format(AVCodecContext* ctx, const enum AVPixelFormat* formats);

}  // namespace

struct VideoDecoder::Impl {
  SourceKind kind = SourceKind::kFile;
  std::string label;  // the path or URL, for messages
  DecodeOptions options;
  InterruptState interrupt;
  std::unique_ptr<ffmpeg::MemoryIo> memory;  // outlives fmt (declared first, destroyed last)
  AVFormatContext* fmt = nullptr;
  ffmpeg::CodecContextPtr codec;
  AVBufferRef* hw_device = nullptr;
  AVPixelFormat hw_format = AV_PIX_FMT_NONE;
  int stream_index = -1;
  AVStream* stream = nullptr;
  AVRational time_base{1, 1};
  AVRational frame_rate{0, 1};
  int64_t start_pts = 0;         // the first frame's timestamp, in time_base ticks
  double ticks_per_frame = 1.0;  // nominal frame period in ticks
  VideoInfo info;
  Stats stats;

  ffmpeg::PacketPtr packet;
  FramePtr scratch;  // avcodec_receive_frame target
  FramePtr held;     // the last frame consumed (the answer for targets between it and `ahead`)
  FramePtr ahead;    // a decoded frame not yet consumed: the first one past the last target
  bool demux_eof = false;
  bool decoder_eof = false;
  Status demux_error;  // a data error that ended the stream early (truncated / corrupt input)
  bool fresh = true;   // nothing consumed since open or rewind: positioned at the first frame
  int consecutive_errors = 0;
  int64_t last_pts = AV_NOPTS_VALUE;
  // How far decode timestamps run ahead of presentation ones (B-frame reordering), in ticks. Seek
  // indexes are by decode time: a keyframe whose dts <= t may still be shown after t, so index
  // look-ups and seeks aim this much earlier.
  int64_t dts_lead = 0;
  // The container carries a real keyframe index (MP4's sample table, Matroska's cues, ...). Other
  // demuxers (MPEG-TS) only fill the index with whatever their timestamp searches passed, which
  // says nothing about keyframes; there the decision to seek goes by distance.
  bool index_trusted = false;
  ffmpeg::RgbConverter rgb;

  ~Impl() {
    codec.reset();
    avformat_close_input(&fmt);  // never frees a custom pb; MemoryIo does that
    av_buffer_unref(&hw_device);
  }

  // Status for a failed FFmpeg call, telling cancellation and timeouts apart from FFmpeg's code.
  Status fail(int averror, const std::string& what) const {
    if (interrupt.cancelled) return cancelled(label + ": cancelled while " + what);
    if (interrupt.timed_out) {
      return unavailable(label + ": timed out while " + what);
    }
    return ffmpeg::status_from_averror(averror, kind, label + ": " + what);
  }

  std::chrono::milliseconds read_budget() const { return options.read_timeout; }

  Status open(const std::string& url);
  Status open_decoder(const AVCodec* decoder);
  void probe();

  StatusOr<bool> read_packet();
  StatusOr<bool> decode_next(FramePtr* out);
  StatusOr<bool> pull(FramePtr* out);
  Status seek_to(int64_t ts);
  bool should_seek(int64_t target, int64_t threshold) const;
  StatusOr<const AVFrame*> frame_at(int64_t target, int64_t threshold);
  StatusOr<VideoFrame> to_video_frame(const AVFrame* frame, int64_t index);
  // At the end of a file: INVALID_ARGUMENT if the frames stopped well before the stated duration
  // (a truncated file whose demuxer reports a plain end of file).
  Status check_complete() const;

  int64_t pts_of(const AVFrame* f) const { return f->pts; }
  double seconds_of(int64_t pts) const { return (pts - start_pts) * av_q2d(time_base); }
  int64_t nominal_index(int64_t pts) const {
    return static_cast<int64_t>(std::floor(seconds_of(pts) * info.fps + 0.5));
  }
};

namespace {

enum AVPixelFormat pick_hw_format(AVCodecContext* ctx, const enum AVPixelFormat* formats) {
  auto* impl = static_cast<VideoDecoder::Impl*>(ctx->opaque);
  for (const enum AVPixelFormat* p = formats; *p != AV_PIX_FMT_NONE; ++p) {
    if (*p == impl->hw_format) return *p;
  }
  // The GPU cannot take this stream (profile, size): decode it in software.
  spdlog::warn("{}: GPU decode not possible for this stream; using the CPU", impl->label);
  impl->stats.gpu_active = false;
  return formats[0] == impl->hw_format ? formats[1] : formats[0];
}

}  // namespace

Status VideoDecoder::Impl::open(const std::string& url) {
  ffmpeg::install_log_hook();
  ffmpeg::clear_last_log();
  interrupt.cancel = options.cancel;
  packet.reset(av_packet_alloc());
  scratch.reset(av_frame_alloc());
  fmt = avformat_alloc_context();
  if (!packet || !scratch || !fmt) return resource_exhausted("cannot allocate FFmpeg contexts");
  fmt->interrupt_callback.callback = &interrupt_callback;
  fmt->interrupt_callback.opaque = &interrupt;
  if (memory) {
    fmt->pb = memory->context();
    fmt->flags |= AVFMT_FLAG_CUSTOM_IO;
  }

  AVDictionary* opts = nullptr;
  if (kind == SourceKind::kUrl) {
    const int64_t read_us = static_cast<int64_t>(options.read_timeout.count()) * 1000;
    // rw_timeout: every protocol read/write; timeout: the socket I/O timeout of http(s), tcp and
    // rtsp (other protocols give "timeout" other meanings: rtmp takes it as "listen").
    av_dict_set_int(&opts, "rw_timeout", read_us, 0);
    const std::string scheme = url.substr(0, url.find("://"));
    if (scheme == "http" || scheme == "https" || scheme == "tcp" || scheme == "rtsp" ||
        scheme == "rtsps" || scheme == "tls") {
      av_dict_set_int(&opts, "timeout", read_us, 0);
    }
    if ((scheme == "rtsp" || scheme == "rtsps") && options.rtsp_over_tcp) {
      av_dict_set(&opts, "rtsp_transport", "tcp", 0);
    }
    interrupt.arm(options.connect_timeout);
  } else {
    interrupt.arm_cancel_only();
  }
  int err = avformat_open_input(&fmt, url.c_str(), nullptr, &opts);
  av_dict_free(&opts);
  if (err < 0) return fail(err, "opening the input");  // fmt is freed and null on failure
  err = avformat_find_stream_info(fmt, nullptr);
  if (err < 0) return fail(err, "reading stream information");
  interrupt.arm_cancel_only();

  const AVCodec* decoder = nullptr;
  int index = av_find_best_stream(fmt, AVMEDIA_TYPE_VIDEO, -1, -1, &decoder, 0);
  if (index >= 0 && (fmt->streams[index]->disposition & AV_DISPOSITION_ATTACHED_PIC)) {
    index = AVERROR_STREAM_NOT_FOUND;  // cover art of an audio file is not a video
    for (unsigned i = 0; i < fmt->nb_streams; ++i) {
      const AVStream* s = fmt->streams[i];
      if (s->codecpar->codec_type == AVMEDIA_TYPE_VIDEO &&
          !(s->disposition & AV_DISPOSITION_ATTACHED_PIC)) {
        index = static_cast<int>(i);
        decoder = avcodec_find_decoder(s->codecpar->codec_id);
        break;
      }
    }
  }
  if (index == AVERROR_STREAM_NOT_FOUND) {
    return invalid_argument(label + ": no video stream in the input");
  }
  if (index < 0 || !decoder) {
    const char* name =
        index >= 0 ? avcodec_get_name(fmt->streams[index]->codecpar->codec_id) : "unknown";
    return invalid_argument(label + ": unsupported video codec '" + name +
                            "' (no decoder in this FFmpeg build)");
  }
  // FFmpeg renders text files as ANSI-art "video" (the tty demuxer); nobody means that.
  if (std::string(fmt->iformat->name) == "tty" ||
      fmt->streams[index]->codecpar->codec_id == AV_CODEC_ID_ANSI) {
    return invalid_argument(label + ": not a video (FFmpeg reads it as text)");
  }
  if (fmt->streams[index]->codecpar->width <= 0 || fmt->streams[index]->codecpar->height <= 0) {
    return invalid_argument(label + ": the video stream has no picture size");
  }
  stream_index = index;
  stream = fmt->streams[index];
  // Only the chosen stream's packets are wanted; the demuxer may then skip the others cheaply.
  for (unsigned i = 0; i < fmt->nb_streams; ++i) {
    if (static_cast<int>(i) != stream_index) fmt->streams[i]->discard = AVDISCARD_ALL;
  }
  VAMBA_RETURN_IF_ERROR(open_decoder(decoder));
  probe();
  return ok_status();
}

Status VideoDecoder::Impl::open_decoder(const AVCodec* decoder) {
  codec.reset(avcodec_alloc_context3(decoder));
  if (!codec) return resource_exhausted("cannot allocate a decoder context");
  int err = avcodec_parameters_to_context(codec.get(), stream->codecpar);
  if (err < 0) return fail(err, "configuring the decoder");
  codec->pkt_timebase = stream->time_base;
  codec->thread_count = std::max(0, options.threads);
  codec->thread_type = FF_THREAD_FRAME | FF_THREAD_SLICE;
  // Fast seeks: the decoder drops every frame but keyframes without decoding them, so "the frame
  // on screen at t" becomes the last keyframe at or before t, reached by the same seek logic.
  if (options.nearest_keyframe) codec->skip_frame = AVDISCARD_NONKEY;

  if (options.gpu) {
    for (int i = 0;; ++i) {
      const AVCodecHWConfig* config = avcodec_get_hw_config(decoder, i);
      if (!config) break;
      if ((config->methods & AV_CODEC_HW_CONFIG_METHOD_HW_DEVICE_CTX) &&
          config->device_type == AV_HWDEVICE_TYPE_CUDA) {
        hw_format = config->pix_fmt;
        break;
      }
    }
    if (hw_format == AV_PIX_FMT_NONE) {
      spdlog::warn("{}: no CUDA decoder for codec {}; decoding on the CPU", label, decoder->name);
    } else if ((err = av_hwdevice_ctx_create(&hw_device, AV_HWDEVICE_TYPE_CUDA, nullptr, nullptr,
                                             0)) < 0) {
      spdlog::warn("{}: CUDA decode unavailable ({}); decoding on the CPU", label,
                   ffmpeg::error_string(err));
      hw_format = AV_PIX_FMT_NONE;
    } else {
      codec->hw_device_ctx = av_buffer_ref(hw_device);
      codec->opaque = this;
      codec->get_format = &pick_hw_format;
      codec->thread_count = 1;  // NVDEC pipelines internally; frame threads only add copies
      stats.gpu_active = true;
    }
  }
  err = avcodec_open2(codec.get(), decoder, nullptr);
  if (err < 0) return fail(err, std::string("opening the ") + decoder->name + " decoder");
  return ok_status();
}

void VideoDecoder::Impl::probe() {
  time_base = stream->time_base;
  AVRational rate = stream->avg_frame_rate;
  if (!valid_rational(rate)) rate = stream->r_frame_rate;
  if (!valid_rational(rate)) rate = av_guess_frame_rate(fmt, stream, nullptr);
  if (!valid_rational(rate)) {
    spdlog::warn("{}: the frame rate is unknown; assuming 25 fps", label);
    rate = AVRational{25, 1};
  }
  frame_rate = rate;
  info.fps = av_q2d(rate);
  info.fps_num = rate.num;
  info.fps_den = rate.den;
  ticks_per_frame = 1.0 / (info.fps * av_q2d(time_base));
  start_pts = stream->start_time != AV_NOPTS_VALUE ? stream->start_time : 0;
  dts_lead = static_cast<int64_t>(std::max(0, stream->codecpar->video_delay) * ticks_per_frame);
  info.start_time = start_pts * av_q2d(time_base);

  if (stream->duration != AV_NOPTS_VALUE && stream->duration > 0) {
    info.duration = stream->duration * av_q2d(time_base);
  } else if (fmt->duration != AV_NOPTS_VALUE && fmt->duration > 0) {
    info.duration = static_cast<double>(fmt->duration) / AV_TIME_BASE;
  }
  if (stream->nb_frames > 0) {
    info.frame_count = stream->nb_frames;
  } else if (info.duration > 0) {
    info.frame_count = static_cast<int64_t>(std::floor(info.duration * info.fps + 0.5));
    info.frame_count_estimated = true;
  }
  info.coded_width = stream->codecpar->width;
  info.coded_height = stream->codecpar->height;
  info.rotation = display_rotation(stream, label);
  const bool swap = info.rotation == 90 || info.rotation == 270;
  info.width = swap ? info.coded_height : info.coded_width;
  info.height = swap ? info.coded_width : info.coded_height;
  info.codec = avcodec_get_name(stream->codecpar->codec_id);
  info.container = fmt->iformat ? fmt->iformat->name : "";
  for (const char* name : {"mov", "matroska", "avi", "flv", "asf", "mxf"}) {
    if (info.container.rfind(name, 0) == 0) index_trusted = true;
  }
  info.seekable = fmt->pb ? (fmt->pb->seekable & AVIO_SEEKABLE_NORMAL) != 0 : false;
}

StatusOr<bool> VideoDecoder::Impl::read_packet() {
  for (;;) {
    // FFmpeg polls the interrupt callback only around protocol I/O (never for bytes in memory or
    // reads served from its buffer), so cancellation is checked here per packet as well.
    if (options.cancel && options.cancel->load(std::memory_order_relaxed)) {
      return cancelled(label + ": cancelled while reading packets");
    }
    if (kind == SourceKind::kUrl) {
      interrupt.arm(read_budget());
    } else {
      interrupt.arm_cancel_only();
    }
    const int err = av_read_frame(fmt, packet.get());
    if (err == AVERROR_EOF) return false;
    if (err < 0) {
      if (interrupt.cancelled || interrupt.timed_out) return fail(err, "reading packets");
      const Status status = fail(err, "reading packets");
      if (status.code() == StatusCode::kInvalidArgument) {
        // Damaged or cut-off data: what was read so far stays usable; a frame past this point
        // reports this error.
        demux_error = status;
        return false;
      }
      return status;
    }
    if (packet->stream_index != stream_index) {
      av_packet_unref(packet.get());
      continue;
    }
    ++stats.packets_read;
    if (packet->pts != AV_NOPTS_VALUE && packet->dts != AV_NOPTS_VALUE) {
      dts_lead = std::max(dts_lead, packet->pts - packet->dts);
    }
    return true;
  }
}

StatusOr<bool> VideoDecoder::Impl::decode_next(FramePtr* out) {
  for (;;) {
    int err = avcodec_receive_frame(codec.get(), scratch.get());
    if (err >= 0) {
      consecutive_errors = 0;
      ++stats.frames_decoded;
      int64_t pts = scratch->best_effort_timestamp;
      if (pts == AV_NOPTS_VALUE) pts = scratch->pts;
      if (pts == AV_NOPTS_VALUE) {
        pts = last_pts == AV_NOPTS_VALUE ? start_pts
                                         : last_pts + static_cast<int64_t>(ticks_per_frame);
      }
      scratch->pts = pts;
      last_pts = pts;
      *out = std::move(scratch);
      scratch.reset(av_frame_alloc());
      if (!scratch) return resource_exhausted("cannot allocate a frame");
      return true;
    }
    if (err == AVERROR_EOF) {
      decoder_eof = true;
      return false;
    }
    if (err != AVERROR(EAGAIN)) {
      if (++consecutive_errors > kMaxConsecutiveErrors) return fail(err, "decoding frames");
      continue;
    }
    if (demux_eof) {
      // Draining was requested and the decoder still wants input: nothing more will come.
      decoder_eof = true;
      return false;
    }
    VAMBA_ASSIGN_OR_RETURN(const bool got, read_packet());
    if (!got) {
      demux_eof = true;
      err = avcodec_send_packet(codec.get(), nullptr);  // drain the frames still in the decoder
      if (err < 0 && err != AVERROR_EOF) return fail(err, "draining the decoder");
      continue;
    }
    err = avcodec_send_packet(codec.get(), packet.get());
    av_packet_unref(packet.get());
    if (err < 0 && err != AVERROR(EAGAIN)) {
      // A damaged packet: skip it as the ffmpeg CLI does, unless damage is all there is.
      if (++consecutive_errors > kMaxConsecutiveErrors) return fail(err, "decoding packets");
    }
  }
}

StatusOr<bool> VideoDecoder::Impl::pull(FramePtr* out) {
  if (ahead) {
    *out = std::move(ahead);
    return true;
  }
  if (decoder_eof) return false;
  return decode_next(out);
}

Status VideoDecoder::Impl::seek_to(int64_t ts) {
  if (kind == SourceKind::kUrl) {
    interrupt.arm(options.connect_timeout);
  } else {
    interrupt.arm_cancel_only();
  }
  int err = av_seek_frame(fmt, stream_index, ts, AVSEEK_FLAG_BACKWARD);
  if (err < 0) err = avformat_seek_file(fmt, stream_index, INT64_MIN, ts, ts, 0);
  if (err < 0) return fail(err, "seeking");
  avcodec_flush_buffers(codec.get());
  held.reset();
  ahead.reset();
  demux_eof = decoder_eof = false;
  demux_error = ok_status();
  fresh = false;
  last_pts = AV_NOPTS_VALUE;
  ++stats.seeks;
  return ok_status();
}

bool VideoDecoder::Impl::should_seek(int64_t target, int64_t threshold) const {
  if (!info.seekable) return false;
  const int64_t position = ahead   ? pts_of(ahead.get())
                           : held  ? pts_of(held.get())
                           : fresh ? start_pts
                                   : std::numeric_limits<int64_t>::min();
  if (position == std::numeric_limits<int64_t>::min()) return true;  // after a failed fetch
  if (held && pts_of(held.get()) > threshold) return true;           // the target is behind us
  if (decoder_eof && !ahead) return true;                            // drained: nothing ahead
  // The target is ahead: decode forward unless a keyframe lies between here and there.
  if (index_trusted && avformat_index_get_entries_count(stream) > 0) {
    const int k = av_index_search_timestamp(stream, target - dts_lead, AVSEEK_FLAG_BACKWARD);
    if (k < 0) return false;
    const AVIndexEntry* entry = avformat_index_get_entry(stream, k);
    return entry && entry->timestamp > position;
  }
  return (target - position) * av_q2d(time_base) > kForwardWindowSeconds;
}

// The frame on screen at `target` (ticks): the last one with pts <= threshold. Returned pointer is
// `held`, valid until the next fetch.
StatusOr<const AVFrame*> VideoDecoder::Impl::frame_at(int64_t target, int64_t threshold) {
  if (should_seek(target, threshold)) {
    const Status status = seek_to(target - dts_lead);
    if (!status.ok()) {
      if (held && pts_of(held.get()) > threshold) return status;  // cannot go back without it
      spdlog::debug("{}: seek failed ({}); decoding forward", label, status.message());
    }
  }
  int64_t backoff = std::max<int64_t>(static_cast<int64_t>(1.0 / av_q2d(time_base)),
                                      static_cast<int64_t>(4 * ticks_per_frame));
  int64_t seek_target = target - dts_lead;
  for (int attempt = 0;; ++attempt) {
    const bool was_fresh = fresh;
    for (;;) {
      FramePtr frame;
      VAMBA_ASSIGN_OR_RETURN(const bool got, pull(&frame));
      if (!got) break;
      fresh = false;
      if (pts_of(frame.get()) <= threshold) {
        held = std::move(frame);
        // Keyframes only: when the index says the next keyframe lies past the target, this one
        // is the answer — no need to read on to it (two seconds of packets at a GOP of 2 s).
        if (options.nearest_keyframe && index_trusted &&
            avformat_index_get_entries_count(stream) > 0) {
          const int k = av_index_search_timestamp(stream, pts_of(held.get()) - dts_lead + 1, 0);
          const AVIndexEntry* next = k >= 0 ? avformat_index_get_entry(stream, k) : nullptr;
          if (next == nullptr || next->timestamp + dts_lead > threshold) break;
        }
      } else {
        ahead = std::move(frame);
        break;
      }
    }
    if (held && pts_of(held.get()) <= threshold) break;
    if (held) return internal_error("frame selection lost its place");  // cannot happen
    // Nothing at or before the target since the last seek.
    if (ahead && (was_fresh || seek_target <= start_pts)) {
      // The target precedes the stream's first frame: that frame is the one on screen.
      held = std::move(ahead);
      break;
    }
    if (!ahead) {
      if (!demux_error.ok()) return demux_error;
      return invalid_argument(label + ": no decodable frame near " +
                              std::to_string(seconds_of(target)) +
                              " s (truncated or corrupt input?)");
    }
    if (attempt >= kMaxSeekRetries || !info.seekable) {
      return invalid_argument(label + ": seeking cannot reach the frame at " +
                              std::to_string(seconds_of(target)) + " s");
    }
    // The seek landed after the target (a keyframe indexed by decode time, an open GOP): go
    // further back and decode forward again.
    seek_target = std::max(start_pts, seek_target - backoff);
    backoff *= 2;
    VAMBA_RETURN_IF_ERROR(seek_to(seek_target));
  }
  // The stream ended well before the target: the frames there are missing, not merely held.
  // (With keyframes only, the last one may lie a whole GOP before the end.)
  if (!ahead && decoder_eof && !options.nearest_keyframe) {
    const double frame_ticks = std::max(ticks_per_frame, static_cast<double>(held->pkt_duration));
    if (static_cast<double>(target - pts_of(held.get())) > 1.5 * frame_ticks) {
      if (!demux_error.ok()) return demux_error;
      return invalid_argument(label + ": the frame at " + std::to_string(seconds_of(target)) +
                              " s is missing; decoding ended at " +
                              std::to_string(seconds_of(pts_of(held.get()))) +
                              " s (truncated or corrupt input?)");
    }
  }
  return static_cast<const AVFrame*>(held.get());
}

Status VideoDecoder::Impl::check_complete() const {
  if (kind == SourceKind::kUrl || info.duration <= 0 || last_pts == AV_NOPTS_VALUE) {
    return ok_status();
  }
  const double period = 1.0 / info.fps;
  const double reached = seconds_of(last_pts) + period;
  if (reached + 2 * period < info.duration) {
    return invalid_argument(label + ": frames end at " + std::to_string(reached) +
                            " s of a stated " + std::to_string(info.duration) +
                            " s (truncated or corrupt input?)");
  }
  return ok_status();
}

StatusOr<VideoFrame> VideoDecoder::Impl::to_video_frame(const AVFrame* frame, int64_t index) {
  VideoFrame out;
  VAMBA_RETURN_IF_ERROR(rgb.convert(frame, info.rotation, &out.rgb, &out.width, &out.height));
  out.index = index;
  out.timestamp = seconds_of(pts_of(frame));
  return out;
}

// ---- VideoDecoder ------------------------------------------------------------------------------

VideoDecoder::VideoDecoder(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
VideoDecoder::~VideoDecoder() = default;

const VideoInfo& VideoDecoder::info() const { return impl_->info; }
const VideoDecoder::Stats& VideoDecoder::stats() const { return impl_->stats; }

bool is_url(const std::string& source) {
  const size_t colon = source.find("://");
  if (colon == std::string::npos || colon == 0) return false;
  for (size_t i = 0; i < colon; ++i) {
    const char c = source[i];
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '-' || c == '.')) {
      return false;
    }
  }
  return source.compare(0, colon, "file") != 0;
}

StatusOr<std::unique_ptr<VideoDecoder>> VideoDecoder::open_file(const std::string& path,
                                                                const DecodeOptions& options) {
  std::string local = path;
  if (local.rfind("file://", 0) == 0) local = local.substr(7);
  std::error_code ec;
  const auto status = std::filesystem::status(local, ec);
  if (ec || !std::filesystem::exists(status)) return not_found("no such video file: " + local);
  if (std::filesystem::is_directory(status)) {
    return invalid_argument(local + " is a directory, not a video file");
  }
  auto impl = std::make_unique<Impl>();
  impl->kind = SourceKind::kFile;
  impl->label = local;
  impl->options = options;
  // "file:" keeps a path with a colon in it from being read as a protocol.
  VAMBA_RETURN_IF_ERROR(impl->open("file:" + local));
  return std::unique_ptr<VideoDecoder>(new VideoDecoder(std::move(impl)));
}

StatusOr<std::unique_ptr<VideoDecoder>> VideoDecoder::open_memory(
    std::shared_ptr<const std::vector<uint8_t>> bytes, const DecodeOptions& options) {
  auto impl = std::make_unique<Impl>();
  impl->kind = SourceKind::kMemory;
  impl->label = "<video bytes>";
  impl->options = options;
  VAMBA_ASSIGN_OR_RETURN(impl->memory, ffmpeg::MemoryIo::create(std::move(bytes)));
  VAMBA_RETURN_IF_ERROR(impl->open(""));
  return std::unique_ptr<VideoDecoder>(new VideoDecoder(std::move(impl)));
}

StatusOr<std::unique_ptr<VideoDecoder>> VideoDecoder::open_url(const std::string& url,
                                                               const DecodeOptions& options) {
  if (!is_url(url)) return invalid_argument("not a URL: " + url);
  auto impl = std::make_unique<Impl>();
  impl->kind = SourceKind::kUrl;
  impl->label = url;
  impl->options = options;
  VAMBA_RETURN_IF_ERROR(impl->open(url));
  return std::unique_ptr<VideoDecoder>(new VideoDecoder(std::move(impl)));
}

StatusOr<std::unique_ptr<VideoDecoder>> VideoDecoder::open(const std::string& source,
                                                           const DecodeOptions& options) {
  if (is_url(source)) return open_url(source, options);
  return open_file(source, options);
}

Status VideoDecoder::visit_indices(
    const std::vector<int64_t>& indices,
    const std::function<Status(size_t position, VideoFrame&& frame)>& visit) {
  Impl& d = *impl_;
  for (const int64_t i : indices) {
    if (i < 0 || (d.info.frame_count > 0 && i >= d.info.frame_count)) {
      return out_of_range(d.label + ": frame index " + std::to_string(i) + " outside [0, " +
                          std::to_string(d.info.frame_count) + ")");
    }
  }
  std::vector<size_t> order(indices.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return indices[a] < indices[b]; });
  VideoFrame previous;
  for (size_t n = 0; n < order.size(); ++n) {
    const size_t k = order[n];
    const int64_t i = indices[k];
    if (previous.index != i) {
      // Frame i is shown at i / fps: exact rational arithmetic in the stream's ticks, then one
      // tick of slack for containers that round timestamps to a coarse time base.
      const int64_t offset =
          av_rescale_rnd(i, static_cast<int64_t>(d.frame_rate.den) * d.time_base.den,
                         static_cast<int64_t>(d.frame_rate.num) * d.time_base.num, AV_ROUND_DOWN);
      const int64_t target = d.start_pts + offset;
      VAMBA_ASSIGN_OR_RETURN(const AVFrame* frame, d.frame_at(target, target + 1));
      VAMBA_ASSIGN_OR_RETURN(previous, d.to_video_frame(frame, i));
    }
    // Duplicates each get their own copy; the last use of a frame hands it over.
    const bool reused = n + 1 < order.size() && indices[order[n + 1]] == i;
    VideoFrame out = reused ? previous : std::move(previous);
    if (!reused) previous.index = -1;
    VAMBA_RETURN_IF_ERROR(visit(k, std::move(out)));
  }
  return ok_status();
}

StatusOr<std::vector<VideoFrame>> VideoDecoder::frames_at_indices(
    const std::vector<int64_t>& indices) {
  std::vector<VideoFrame> frames(indices.size());
  VAMBA_RETURN_IF_ERROR(visit_indices(indices, [&](size_t position, VideoFrame&& frame) {
    frames[position] = std::move(frame);
    return ok_status();
  }));
  return frames;
}

StatusOr<std::vector<VideoFrame>> VideoDecoder::frames_at_times(
    const std::vector<double>& seconds) {
  Impl& d = *impl_;
  for (const double t : seconds) {
    if (!(t >= 0.0) || (d.info.duration > 0 && t > d.info.duration)) {
      return out_of_range(d.label + ": time " + std::to_string(t) + " s outside [0, " +
                          std::to_string(d.info.duration) + "]");
    }
  }
  std::vector<size_t> order(seconds.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return seconds[a] < seconds[b]; });
  std::vector<VideoFrame> frames(seconds.size());
  for (const size_t k : order) {
    const double ticks = std::floor(seconds[k] / av_q2d(d.time_base) + 1e-6);
    const int64_t target = d.start_pts + static_cast<int64_t>(ticks);
    VAMBA_ASSIGN_OR_RETURN(const AVFrame* frame, d.frame_at(target, target + 1));
    VAMBA_ASSIGN_OR_RETURN(frames[k], d.to_video_frame(frame, d.nominal_index(d.pts_of(frame))));
  }
  return frames;
}

StatusOr<std::optional<VideoFrame>> VideoDecoder::next_frame() {
  Impl& d = *impl_;
  FramePtr frame;
  VAMBA_ASSIGN_OR_RETURN(const bool got, d.pull(&frame));
  if (!got) {
    if (!d.demux_error.ok()) return d.demux_error;
    VAMBA_RETURN_IF_ERROR(d.check_complete());
    return std::optional<VideoFrame>();
  }
  d.fresh = false;
  d.held = std::move(frame);
  VAMBA_ASSIGN_OR_RETURN(VideoFrame out,
                         d.to_video_frame(d.held.get(), d.nominal_index(d.pts_of(d.held.get()))));
  return std::optional<VideoFrame>(std::move(out));
}

Status VideoDecoder::rewind() {
  Impl& d = *impl_;
  if (!d.info.seekable) return failed_precondition(d.label + ": the input cannot seek back");
  VAMBA_RETURN_IF_ERROR(d.seek_to(d.start_pts));
  d.fresh = true;
  return ok_status();
}

}  // namespace vamba::vision
