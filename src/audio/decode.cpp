#include "timbre/audio/decode.h"

#include <cerrno>
#include <memory>

#include <fmt/format.h>

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/channel_layout.h>
#include <libavutil/error.h>
#include <libavutil/opt.h>
#include <libswresample/swresample.h>
}

namespace timbre::audio {
namespace {

std::string AvError(int err) {
  char buf[AV_ERROR_MAX_STRING_SIZE] = {};
  av_strerror(err, buf, sizeof(buf));
  return buf;
}

struct FormatCloser {
  void operator()(AVFormatContext* c) const { avformat_close_input(&c); }
};
struct CodecFreer {
  void operator()(AVCodecContext* c) const { avcodec_free_context(&c); }
};
struct PacketFreer {
  void operator()(AVPacket* p) const { av_packet_free(&p); }
};
struct FrameFreer {
  void operator()(AVFrame* f) const { av_frame_free(&f); }
};
struct SwrFreer {
  void operator()(SwrContext* s) const { swr_free(&s); }
};
using FormatPtr = std::unique_ptr<AVFormatContext, FormatCloser>;

// Quiet FFmpeg once per process: its messages about damaged files would flood a scan's
// output, and every failure is reported through Status instead.
void QuietFfmpeg() {
  static const bool once = [] {
    av_log_set_level(AV_LOG_QUIET);
    return true;
  }();
  (void)once;
}

Status OpenStatus(int err) {
  if (err == AVERROR(EACCES) || err == AVERROR(EPERM)) {
    return IoError("permission denied").WithReason("permission_denied");
  }
  if (err == AVERROR(ENOENT)) return NotFound("file does not exist").WithReason("vanished");
  if (err == AVERROR(EISDIR)) return Unsupported("is a directory").WithReason("not_audio");
  if (err == AVERROR_INVALIDDATA) {
    return Unsupported("not an audio file: format not recognised").WithReason("not_audio");
  }
  return IoError(fmt::format("cannot open: {}", AvError(err))).WithReason("unreadable");
}

struct OpenedStream {
  FormatPtr format;
  int stream_index = -1;
  const AVCodec* codec = nullptr;
  StreamInfo info;
};

Result<OpenedStream> OpenStream(const std::filesystem::path& path) {
  QuietFfmpeg();
  std::error_code ec;
  if (std::filesystem::is_regular_file(path, ec) && std::filesystem::file_size(path, ec) == 0 &&
      !ec) {
    return Unsupported("empty file").WithReason("empty_file");
  }
  AVFormatContext* raw = nullptr;
  int err = avformat_open_input(&raw, path.c_str(), nullptr, nullptr);
  if (err < 0) return OpenStatus(err);
  OpenedStream s;
  s.format.reset(raw);
  err = avformat_find_stream_info(raw, nullptr);
  if (err < 0) return Corrupt(fmt::format("cannot read stream info: {}", AvError(err)));
  const AVCodec* codec = nullptr;
  int index = av_find_best_stream(raw, AVMEDIA_TYPE_AUDIO, -1, -1, &codec, 0);
  if (index == AVERROR_STREAM_NOT_FOUND) {
    return Unsupported(fmt::format("no audio stream (read as {} with {} other streams)",
                                   raw->iformat->name, raw->nb_streams))
        .WithReason(raw->nb_streams == 0 ? "not_audio" : "no_audio_stream");
  }
  if (index == AVERROR_DECODER_NOT_FOUND || codec == nullptr) {
    return Unsupported("no decoder for the audio stream's codec").WithReason("unsupported_codec");
  }
  if (index < 0) return Corrupt(fmt::format("cannot select audio stream: {}", AvError(index)));
  const AVStream* stream = raw->streams[index];
  const AVCodecParameters* par = stream->codecpar;
  s.stream_index = index;
  s.codec = codec;
  s.info.container = raw->iformat->name;
  s.info.codec = codec->name;
  s.info.sample_rate = par->sample_rate;
  s.info.channels = par->ch_layout.nb_channels;
  s.info.bitrate = par->bit_rate > 0 ? static_cast<long>(par->bit_rate)
                                     : static_cast<long>(std::max<int64_t>(raw->bit_rate, 0));
  // A duration guessed from the bitrate is no promise of length; only header durations
  // count, so a VBR file without an index is not mistaken for a truncated one.
  if (raw->duration_estimation_method == AVFMT_DURATION_FROM_BITRATE) {
    // unknown
  } else if (stream->duration > 0 && stream->duration != AV_NOPTS_VALUE) {
    s.info.declared_seconds = static_cast<double>(stream->duration) * av_q2d(stream->time_base);
  } else if (raw->duration > 0 && raw->duration != AV_NOPTS_VALUE) {
    s.info.declared_seconds = static_cast<double>(raw->duration) / AV_TIME_BASE;
  }
  return s;
}

// Converts decoded frames into one view (format, layout and rate in a single swr pass).
class ViewConverter {
 public:
  explicit ViewConverter(ViewSpec spec) : spec_(spec) {}

  // (Re)configures for a frame's input shape; cheap when unchanged.
  Status Configure(const AVFrame* frame) {
    if (swr_ && frame->format == in_format_ && frame->sample_rate == in_rate_ &&
        av_channel_layout_compare(&frame->ch_layout, &frame_layout_) == 0) {
      return Status::Ok();
    }
    // Remember the layout as frames carry it (possibly unspecified), so the next frame of
    // the same stream compares equal and the resampler keeps its state.
    av_channel_layout_uninit(&frame_layout_);
    if (av_channel_layout_copy(&frame_layout_, &frame->ch_layout) < 0) {
      return Internal("cannot copy channel layout");
    }
    AVChannelLayout in_layout{};
    if (frame->ch_layout.order == AV_CHANNEL_ORDER_UNSPEC || frame->ch_layout.nb_channels == 0) {
      av_channel_layout_default(&in_layout, std::max(frame->ch_layout.nb_channels, 1));
    } else if (av_channel_layout_copy(&in_layout, &frame->ch_layout) < 0) {
      return Internal("cannot copy channel layout");
    }
    AVChannelLayout out_layout{};
    if (spec_.channels == 0) {
      av_channel_layout_copy(&out_layout, &in_layout);
    } else {
      av_channel_layout_default(&out_layout, spec_.channels);
    }
    out_rate_ = spec_.sample_rate == 0 ? frame->sample_rate : spec_.sample_rate;
    out_channels_ = out_layout.nb_channels;
    SwrContext* raw = nullptr;
    int err = swr_alloc_set_opts2(&raw, &out_layout, AV_SAMPLE_FMT_FLT, out_rate_, &in_layout,
                                  static_cast<AVSampleFormat>(frame->format), frame->sample_rate, 0,
                                  nullptr);
    av_channel_layout_uninit(&out_layout);
    if (err < 0 || raw == nullptr) {
      av_channel_layout_uninit(&in_layout);
      return Internal(fmt::format("cannot configure resampler: {}", AvError(err)));
    }
    // Downmix as the average of the channels (Essentia's MonoMixer does the same), not the
    // louder default matrix that can push a mono mix past full scale.
    av_opt_set_double(raw, "rematrix_maxval", 1.0, 0);
    std::unique_ptr<SwrContext, SwrFreer> swr(raw);
    err = swr_init(swr.get());
    if (err < 0) {
      av_channel_layout_uninit(&in_layout);
      return Unsupported(fmt::format("cannot convert this audio: {}", AvError(err)));
    }
    swr_ = std::move(swr);
    av_channel_layout_uninit(&in_layout_);
    in_layout_ = in_layout;
    in_format_ = frame->format;
    in_rate_ = frame->sample_rate;
    return Status::Ok();
  }

  // Converts `frame` (or flushes when null) and hands the result to `sink`.
  bool Convert(const AVFrame* frame, size_t view, const BlockSink& sink) {
    if (!swr_) return true;
    const int in_frames = frame != nullptr ? frame->nb_samples : 0;
    // Room for everything the resampler holds plus this frame, so nothing stays buffered.
    const int capacity =
        static_cast<int>(av_rescale_rnd(swr_get_delay(swr_.get(), in_rate_) + in_frames, out_rate_,
                                        in_rate_, AV_ROUND_UP) +
                         32);
    buffer_.resize(static_cast<size_t>(capacity) * out_channels_);
    uint8_t* out[1] = {reinterpret_cast<uint8_t*>(buffer_.data())};
    const uint8_t** in =
        frame != nullptr ? const_cast<const uint8_t**>(frame->extended_data) : nullptr;
    const int n = swr_convert(swr_.get(), out, capacity, in, in_frames);
    if (n <= 0) return true;
    AudioBlock block{buffer_.data(), static_cast<size_t>(n), out_channels_, out_rate_};
    return sink(view, block);
  }

  // Drains what the resampler still holds at the end of the stream.
  bool Flush(size_t view, const BlockSink& sink) {
    if (!swr_) return true;
    return Convert(nullptr, view, sink);
  }

  ~ViewConverter() {
    av_channel_layout_uninit(&in_layout_);
    av_channel_layout_uninit(&frame_layout_);
  }
  ViewConverter(const ViewConverter&) = delete;
  ViewConverter& operator=(const ViewConverter&) = delete;
  ViewConverter(ViewConverter&&) = delete;

 private:
  ViewSpec spec_;
  std::unique_ptr<SwrContext, SwrFreer> swr_;
  AVChannelLayout in_layout_{};
  AVChannelLayout frame_layout_{};
  int in_format_ = -1;
  int in_rate_ = 0;
  int out_rate_ = 0;
  int out_channels_ = 0;
  std::vector<float> buffer_;
};

}  // namespace

Result<StreamInfo> ProbeFile(const std::filesystem::path& path) {
  auto opened = OpenStream(path);
  if (!opened.ok()) return opened.status();
  return opened->info;
}

Result<DecodeReport> DecodeFile(const std::filesystem::path& path,
                                const std::vector<ViewSpec>& views, const OpenedCallback& on_open,
                                const BlockSink& sink) {
  auto opened = OpenStream(path);
  if (!opened.ok()) return opened.status();
  AVFormatContext* format = opened->format.get();
  // Skip every other stream's packets (cover art, video) at the demuxer.
  for (unsigned i = 0; i < format->nb_streams; ++i) {
    if (static_cast<int>(i) != opened->stream_index) format->streams[i]->discard = AVDISCARD_ALL;
  }
  std::unique_ptr<AVCodecContext, CodecFreer> codec(avcodec_alloc_context3(opened->codec));
  if (!codec) return Internal("cannot allocate decoder");
  int err =
      avcodec_parameters_to_context(codec.get(), format->streams[opened->stream_index]->codecpar);
  if (err < 0) return Corrupt(fmt::format("bad codec parameters: {}", AvError(err)));
  codec->thread_count = 1;  // the scan parallelises across files, not inside one
  err = avcodec_open2(codec.get(), opened->codec, nullptr);
  if (err < 0)
    return Unsupported(fmt::format("cannot open decoder: {}", AvError(err)))
        .WithReason("unsupported_codec");

  DecodeReport report;
  report.info = opened->info;
  if (report.info.sample_rate <= 0) report.info.sample_rate = codec->sample_rate;
  if (report.info.channels <= 0) report.info.channels = codec->ch_layout.nb_channels;
  if (report.info.sample_rate <= 0 || report.info.channels <= 0) {
    return Corrupt("audio stream has no sample rate or channel count");
  }
  if (on_open) TIMBRE_RETURN_IF_ERROR(on_open(report.info));

  std::vector<std::unique_ptr<ViewConverter>> converters;
  for (const auto& v : views) converters.push_back(std::make_unique<ViewConverter>(v));

  std::unique_ptr<AVPacket, PacketFreer> packet(av_packet_alloc());
  std::unique_ptr<AVFrame, FrameFreer> frame(av_frame_alloc());
  if (!packet || !frame) return Internal("out of memory");

  // A view stops being converted once its consumer says it has enough; decoding stops when
  // no view is wanted any more.
  std::vector<bool> wanted(converters.size(), true);
  bool keep_going = !converters.empty();
  auto drain = [&]() -> Status {
    while (keep_going) {
      int r = avcodec_receive_frame(codec.get(), frame.get());
      if (r == AVERROR(EAGAIN) || r == AVERROR_EOF) return Status::Ok();
      if (r < 0) {
        ++report.decode_errors;
        return Status::Ok();
      }
      report.frames += frame->nb_samples;
      keep_going = false;
      for (size_t i = 0; i < converters.size(); ++i) {
        if (!wanted[i]) continue;
        TIMBRE_RETURN_IF_ERROR(converters[i]->Configure(frame.get()));
        wanted[i] = converters[i]->Convert(frame.get(), i, sink);
        keep_going = keep_going || wanted[i];
      }
      av_frame_unref(frame.get());
    }
    return Status::Ok();
  };

  int read_failures = 0;
  while (keep_going) {
    err = av_read_frame(format, packet.get());
    if (err == AVERROR_EOF) break;
    if (err < 0) {
      // A damaged container: count it and stop reading after a few in a row.
      ++report.decode_errors;
      if (++read_failures > 8 || err == AVERROR(EIO)) break;
      continue;
    }
    read_failures = 0;
    if (packet->stream_index == opened->stream_index) {
      int s = avcodec_send_packet(codec.get(), packet.get());
      if (s < 0 && s != AVERROR(EAGAIN)) ++report.decode_errors;
      TIMBRE_RETURN_IF_ERROR(drain());
    }
    av_packet_unref(packet.get());
  }
  if (keep_going) {
    avcodec_send_packet(codec.get(), nullptr);
    TIMBRE_RETURN_IF_ERROR(drain());
    for (size_t i = 0; i < converters.size(); ++i) {
      if (wanted[i]) converters[i]->Flush(i, sink);
    }
  }
  report.stopped_early = !keep_going;
  if (report.frames == 0 && !report.stopped_early) {
    return Corrupt(
        report.decode_errors > 0
            ? fmt::format("no audio could be decoded ({} damaged packets)", report.decode_errors)
            : std::string("the audio stream holds no samples"));
  }
  return report;
}

}  // namespace timbre::audio
