#include "vision/decode/frame_reader.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <cmath>
#include <filesystem>

#include "vision/decode/ffmpeg_util.h"
#include "vision/decode/pipe_io.h"
#include "vision/decode/rgb_converter.h"

namespace vamba::vision {

using ffmpeg::FramePtr;
using ffmpeg::SourceKind;

namespace {

// Decode errors in a row tolerated before the stream is declared garbage (single damaged packets
// are normal on lossy live sources; FFmpeg conceals them).
constexpr int kMaxConsecutiveErrors = 64;

// "pipe:N" / "-" -> N, else -1.
int pipe_fd(const std::string& source) {
  if (source == "-") return 0;
  if (source.rfind("pipe:", 0) != 0) return -1;
  const std::string digits = source.substr(5);
  if (digits.empty()) return 0;  // FFmpeg's "pipe:" is stdin
  for (char c : digits) {
    if (c < '0' || c > '9') return -2;
  }
  return digits.size() > 6 ? -2 : std::stoi(digits);
}

}  // namespace

struct FrameReader::Impl {
  SourceKind kind = SourceKind::kFile;
  std::string label;
  DecodeOptions options;
  ffmpeg::InterruptState interrupt;
  std::unique_ptr<ffmpeg::PipeIo> pipe_io;  // outlives fmt
  AVFormatContext* fmt = nullptr;
  ffmpeg::CodecContextPtr codec;
  int stream_index = -1;
  AVStream* stream = nullptr;
  AVRational time_base{1, 1};
  double frame_period = 1.0 / 25;
  VideoInfo info;
  ffmpeg::PacketPtr packet;
  FramePtr frame;
  ffmpeg::RgbConverter rgb;
  bool demux_eof = false;
  bool decoder_eof = false;
  int consecutive_errors = 0;
  int64_t frames_decoded = 0;
  int64_t discontinuities = 0;
  // The output clock: the first frame's pts is 0 s; `offset` carries the corrections made at
  // discontinuities.
  bool have_last = false;
  int64_t first_pts = 0;
  double last_seconds = 0;
  double offset = 0;

  ~Impl() {
    codec.reset();
    avformat_close_input(&fmt);  // never frees a custom pb; PipeIo does
  }

  Status fail(int averror, const std::string& what) const {
    if (pipe_io && !pipe_io->error().ok()) return pipe_io->error().with_context(label);
    if (interrupt.cancelled) return cancelled(label + ": cancelled while " + what);
    if (interrupt.timed_out) return unavailable(label + ": timed out while " + what);
    return ffmpeg::status_from_averror(averror, kind, label + ": " + what);
  }

  void arm_read() {
    interrupt.arm(kind == SourceKind::kUrl ? options.read_timeout : std::chrono::milliseconds(0));
  }

  Status open(const std::string& url);
  StatusOr<bool> read_packet();
  StatusOr<bool> decode_next();  // into `frame`
  double stream_seconds(const AVFrame* f);
};

Status FrameReader::Impl::open(const std::string& url) {
  ffmpeg::install_log_hook();
  ffmpeg::clear_last_log();
  interrupt.cancel = options.cancel;
  packet.reset(av_packet_alloc());
  frame.reset(av_frame_alloc());
  fmt = avformat_alloc_context();
  if (!packet || !frame || !fmt) return resource_exhausted("cannot allocate FFmpeg contexts");
  fmt->interrupt_callback.callback = &ffmpeg::interrupt_callback;
  fmt->interrupt_callback.opaque = &interrupt;
  if (pipe_io) {
    fmt->pb = pipe_io->context();
    fmt->flags |= AVFMT_FLAG_CUSTOM_IO;
  }
  AVDictionary* opts = nullptr;
  if (kind == SourceKind::kUrl) {
    const int64_t read_us = static_cast<int64_t>(options.read_timeout.count()) * 1000;
    av_dict_set_int(&opts, "rw_timeout", read_us, 0);
    const std::string scheme = url.substr(0, url.find("://"));
    if (scheme == "http" || scheme == "https" || scheme == "tcp" || scheme == "rtsp" ||
        scheme == "rtsps" || scheme == "tls") {
      av_dict_set_int(&opts, "timeout", read_us, 0);
    }
    if ((scheme == "rtsp" || scheme == "rtsps") && options.rtsp_over_tcp) {
      av_dict_set(&opts, "rtsp_transport", "tcp", 0);
    }
    // An HTTP live source that closes the connection is reconnected by FFmpeg itself first.
    if (scheme == "http" || scheme == "https") av_dict_set(&opts, "reconnect", "1", 0);
    interrupt.arm(options.connect_timeout);
  } else {
    interrupt.arm(std::chrono::milliseconds(0));
  }
  int err = avformat_open_input(&fmt, url.c_str(), nullptr, &opts);
  av_dict_free(&opts);
  if (err < 0) return fail(err, "opening the input");
  err = avformat_find_stream_info(fmt, nullptr);
  if (err < 0) return fail(err, "reading stream information");

  const AVCodec* decoder = nullptr;
  const int index = av_find_best_stream(fmt, AVMEDIA_TYPE_VIDEO, -1, -1, &decoder, 0);
  if (index == AVERROR_STREAM_NOT_FOUND) {
    return invalid_argument(label + ": no video stream in the input");
  }
  if (index < 0 || !decoder) {
    const char* name =
        index >= 0 ? avcodec_get_name(fmt->streams[index]->codecpar->codec_id) : "unknown";
    return invalid_argument(label + ": unsupported video codec '" + name + "'");
  }
  if (std::string(fmt->iformat->name) == "tty" ||
      fmt->streams[index]->codecpar->codec_id == AV_CODEC_ID_ANSI) {
    return invalid_argument(label + ": not a video (FFmpeg reads it as text)");
  }
  stream_index = index;
  stream = fmt->streams[index];
  for (unsigned i = 0; i < fmt->nb_streams; ++i) {
    if (static_cast<int>(i) != stream_index) fmt->streams[i]->discard = AVDISCARD_ALL;
  }
  codec.reset(avcodec_alloc_context3(decoder));
  if (!codec) return resource_exhausted("cannot allocate a decoder context");
  err = avcodec_parameters_to_context(codec.get(), stream->codecpar);
  if (err < 0) return fail(err, "configuring the decoder");
  codec->pkt_timebase = stream->time_base;
  codec->thread_count = std::max(0, options.threads);
  codec->thread_type = FF_THREAD_FRAME | FF_THREAD_SLICE;
  err = avcodec_open2(codec.get(), decoder, nullptr);
  if (err < 0) return fail(err, std::string("opening the ") + decoder->name + " decoder");

  time_base = stream->time_base;
  AVRational rate = stream->avg_frame_rate;
  if (rate.num <= 0 || rate.den <= 0) rate = stream->r_frame_rate;
  if (rate.num <= 0 || rate.den <= 0) rate = av_guess_frame_rate(fmt, stream, nullptr);
  if (rate.num <= 0 || rate.den <= 0) rate = AVRational{25, 1};
  info.fps = av_q2d(rate);
  info.fps_num = rate.num;
  info.fps_den = rate.den;
  frame_period = 1.0 / info.fps;
  info.coded_width = stream->codecpar->width;
  info.coded_height = stream->codecpar->height;
  info.rotation = ffmpeg::display_rotation(stream, label);
  const bool swap = info.rotation == 90 || info.rotation == 270;
  info.width = swap ? info.coded_height : info.coded_width;
  info.height = swap ? info.coded_width : info.coded_height;
  info.codec = avcodec_get_name(stream->codecpar->codec_id);
  info.container = fmt->iformat ? fmt->iformat->name : "";
  if (stream->duration != AV_NOPTS_VALUE && stream->duration > 0) {
    info.duration = stream->duration * av_q2d(time_base);
  }
  info.seekable = false;  // this reader never seeks, whatever the source could do
  return ok_status();
}

StatusOr<bool> FrameReader::Impl::read_packet() {
  for (;;) {
    if (options.cancel && options.cancel->load(std::memory_order_relaxed)) {
      return cancelled(label + ": cancelled while reading");
    }
    arm_read();
    const int err = av_read_frame(fmt, packet.get());
    if (err == AVERROR_EOF) {
      if (pipe_io && !pipe_io->error().ok()) return pipe_io->error().with_context(label);
      return false;
    }
    if (err < 0) return fail(err, "reading packets");
    if (packet->stream_index != stream_index) {
      av_packet_unref(packet.get());
      continue;
    }
    return true;
  }
}

StatusOr<bool> FrameReader::Impl::decode_next() {
  for (;;) {
    int err = avcodec_receive_frame(codec.get(), frame.get());
    if (err >= 0) {
      consecutive_errors = 0;
      ++frames_decoded;
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
      decoder_eof = true;
      return false;
    }
    VAMBA_ASSIGN_OR_RETURN(const bool got, read_packet());
    if (!got) {
      demux_eof = true;
      err = avcodec_send_packet(codec.get(), nullptr);  // drain
      if (err < 0 && err != AVERROR_EOF) return fail(err, "draining the decoder");
      continue;
    }
    err = avcodec_send_packet(codec.get(), packet.get());
    av_packet_unref(packet.get());
    if (err < 0 && err != AVERROR(EAGAIN)) {
      if (++consecutive_errors > kMaxConsecutiveErrors) return fail(err, "decoding packets");
    }
  }
}

double FrameReader::Impl::stream_seconds(const AVFrame* f) {
  int64_t pts = f->best_effort_timestamp;
  if (pts == AV_NOPTS_VALUE) pts = f->pts;
  if (!have_last) {
    have_last = true;
    first_pts = pts == AV_NOPTS_VALUE ? 0 : pts;
    last_seconds = 0;
    return 0;
  }
  if (pts == AV_NOPTS_VALUE) {
    last_seconds += frame_period;
    return last_seconds;
  }
  // Ticks times num / den, divided last: a 90 kHz clock gives 1.0 for 90000 ticks, not 0.99999.
  double t = static_cast<double>(pts - first_pts) * time_base.num / time_base.den + offset;
  if (t <= last_seconds - 1e-9 || t > last_seconds + kMaxTimestampJumpSeconds) {
    ++discontinuities;
    spdlog::debug("{}: timestamp discontinuity ({:.3f} s after {:.3f} s)", label, t, last_seconds);
    offset += last_seconds + frame_period - t;
    t = last_seconds + frame_period;
  }
  last_seconds = t;
  return t;
}

FrameReader::FrameReader(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
FrameReader::~FrameReader() = default;

const VideoInfo& FrameReader::info() const { return impl_->info; }
int64_t FrameReader::frames_decoded() const { return impl_->frames_decoded; }
int64_t FrameReader::discontinuities() const { return impl_->discontinuities; }

StatusOr<std::unique_ptr<FrameReader>> FrameReader::open(const std::string& source,
                                                         const DecodeOptions& options) {
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  impl->label = source;
  std::string url;
  const int fd = pipe_fd(source);
  if (fd == -2) return invalid_argument("bad pipe source '" + source + "' (pipe:N or -)");
  if (fd >= 0) {
    impl->kind = SourceKind::kFile;
    url = "pipe:" + std::to_string(fd);
  } else if (is_url(source)) {
    impl->kind = SourceKind::kUrl;
    url = source;
  } else {
    std::string local = source.rfind("file://", 0) == 0 ? source.substr(7) : source;
    std::error_code ec;
    const auto st = std::filesystem::status(local, ec);
    if (ec || !std::filesystem::exists(st)) return not_found("no such video file: " + local);
    if (std::filesystem::is_directory(st)) {
      return invalid_argument(local + " is a directory, not a video file");
    }
    impl->kind = SourceKind::kFile;
    impl->label = local;
    url = "file:" + local;
  }
  VAMBA_RETURN_IF_ERROR(impl->open(url));
  return std::unique_ptr<FrameReader>(new FrameReader(std::move(impl)));
}

StatusOr<std::unique_ptr<FrameReader>> FrameReader::open_pipe(std::shared_ptr<BytePipe> pipe,
                                                              const DecodeOptions& options,
                                                              const std::string& label) {
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  impl->label = label;
  impl->kind = SourceKind::kMemory;
  VAMBA_ASSIGN_OR_RETURN(impl->pipe_io, ffmpeg::PipeIo::create(std::move(pipe), options.cancel));
  VAMBA_RETURN_IF_ERROR(impl->open(""));
  return std::unique_ptr<FrameReader>(new FrameReader(std::move(impl)));
}

StatusOr<std::optional<VideoFrame>> FrameReader::next(double not_before) {
  Impl& d = *impl_;
  for (;;) {
    if (d.decoder_eof) return std::optional<VideoFrame>();
    VAMBA_ASSIGN_OR_RETURN(const bool got, d.decode_next());
    if (!got) return std::optional<VideoFrame>();
    const double t = d.stream_seconds(d.frame.get());
    if (t < not_before - kTimestampSlackSeconds) {
      av_frame_unref(d.frame.get());
      continue;
    }
    VideoFrame out;
    VAMBA_RETURN_IF_ERROR(
        d.rgb.convert(d.frame.get(), d.info.rotation, &out.rgb, &out.width, &out.height));
    av_frame_unref(d.frame.get());
    out.timestamp = t;
    out.index = static_cast<int64_t>(std::floor(t * d.info.fps + 0.5));
    return std::optional<VideoFrame>(std::move(out));
  }
}

}  // namespace vamba::vision
