#include "timbre/dsp/notes.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>
#include <queue>

#include <fmt/format.h>

namespace timbre::dsp {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr int kMaxNoteBin = kNoteBins - 1;
constexpr int kBendTolerance = 25;  // contour bins either side of a note's own bin

// JavaScript's Math.max of two numbers: NaN wins.
double JsMax(double a, double b) {
  return (std::isnan(a) || std::isnan(b)) ? kNaN : std::max(a, b);
}

// Row-major [frames x 88] in doubles: the package decodes JavaScript numbers, so every sum
// and ratio is formed in double precision from the float32 posteriors.
using Grid = std::vector<double>;

Grid ToGrid(const std::vector<float>& v) { return Grid(v.begin(), v.end()); }

// Onsets also inferred from jumps of the frame posteriors: the smaller of the 1- and 2-frame
// rises, rescaled to the onsets' maximum, then the larger of that and the onset posterior.
Grid InferOnsets(const Grid& onsets, const Grid& frames, size_t n) {
  Grid diff(n * kNoteBins, 0.0);
  for (size_t r = 2; r < n; ++r) {
    for (int c = 0; c < kNoteBins; ++c) {
      const double v = frames[r * kNoteBins + c];
      const double d1 = v - frames[(r - 1) * kNoteBins + c];
      const double d2 = v - frames[(r - 2) * kNoteBins + c];
      diff[r * kNoteBins + c] = std::max(std::min(d1, d2), 0.0);
    }
  }
  double onset_max = 0.0, diff_max = 0.0;
  for (double v : onsets) onset_max = std::max(onset_max, v);
  for (double v : diff) diff_max = std::max(diff_max, v);
  Grid out(n * kNoteBins);
  for (size_t i = 0; i < out.size(); ++i) {
    // With no rise anywhere the package divides 0 by 0: every inferred onset is NaN, and no
    // note starts from an onset at all.
    out[i] = JsMax(onsets[i], (onset_max * diff[i]) / diff_max);
  }
  return out;
}

// Cells that are strict local maxima along time (neighbours one frame away), in the order
// the package visits them: last frame first, and within a frame the highest pitch first.
std::vector<std::pair<int, int>> OnsetPeaks(const Grid& onsets, size_t n, double threshold) {
  std::vector<std::pair<int, int>> peaks;
  for (size_t r = n; r-- > 0;) {
    for (int c = kNoteBins; c-- > 0;) {
      const double v = onsets[r * kNoteBins + c];
      bool peak = true;
      if (r > 0) peak = peak && v > onsets[(r - 1) * kNoteBins + c];
      if (r + 1 < n) peak = peak && v > onsets[(r + 1) * kNoteBins + c];
      if (peak && v > threshold) peaks.emplace_back(static_cast<int>(r), c);
    }
  }
  return peaks;
}

void ClearBins(Grid& energy, size_t row, int bin) {
  energy[row * kNoteBins + bin] = 0.0;
  if (bin < kMaxNoteBin) energy[row * kNoteBins + bin + 1] = 0.0;
  if (bin > 0) energy[row * kNoteBins + bin - 1] = 0.0;
}

double MeanOver(const Grid& frames, int from, int to, int bin) {
  double sum = 0.0;
  for (int r = from; r < to; ++r) sum += frames[static_cast<size_t>(r) * kNoteBins + bin];
  return sum / (to - from);
}

// The package picks the remaining energy's maximum by scanning rows for a strictly larger
// row maximum, starting from cell (0, 0), and takes the last column among equal values in a
// row. This queue hands out cells in that order; cleared cells are skipped when they surface
// (energy only ever drops to zero).
struct Cell {
  double value;
  int row;
  int col;
};
struct PickOrder {
  bool operator()(const Cell& a, const Cell& b) const {  // true when a comes after b
    if (a.value != b.value) return a.value < b.value;
    const bool a_origin = a.row == 0 && a.col == 0, b_origin = b.row == 0 && b.col == 0;
    if (a_origin != b_origin) return b_origin;
    if (a.row != b.row) return a.row > b.row;
    return a.col < b.col;
  }
};

void MelodiaNotes(const Grid& frames, Grid& energy, size_t n, const NoteDecodeOptions& o,
                  std::vector<NoteEvent>* notes) {
  const double threshold = o.frame_threshold;
  std::priority_queue<Cell, std::vector<Cell>, PickOrder> queue;
  for (size_t r = 0; r < n; ++r) {
    for (int c = 0; c < kNoteBins; ++c) {
      const double v = energy[r * kNoteBins + c];
      if (v > threshold) queue.push({v, static_cast<int>(r), c});
    }
  }
  const int frames_n = static_cast<int>(n);
  while (!queue.empty()) {
    const Cell top = queue.top();
    queue.pop();
    double& here = energy[static_cast<size_t>(top.row) * kNoteBins + top.col];
    if (here != top.value) continue;
    const int mid = top.row, bin = top.col;
    here = 0.0;
    auto below = [&](int r) {
      return energy[static_cast<size_t>(r) * kNoteBins + bin] < threshold;
    };
    int i = mid + 1, k = 0;
    while (i < frames_n - 1 && k < o.energy_tolerance) {
      k = below(i) ? k + 1 : 0;
      ClearBins(energy, static_cast<size_t>(i), bin);
      ++i;
    }
    const int end = i - 1 - k;
    i = mid - 1;
    k = 0;
    while (i > 0 && k < o.energy_tolerance) {
      k = below(i) ? k + 1 : 0;
      ClearBins(energy, static_cast<size_t>(i), bin);
      --i;
    }
    const int start = i + 1 + k;
    if (end - start <= o.min_note_frames) continue;
    notes->push_back(
        {start, end - start, bin + kLowestMidi, MeanOver(frames, start, end, bin), {}});
  }
}

// The package's Math.round: halves go up.
double JsRound(double x) { return std::floor(x + 0.5); }

void AddPitchBends(const std::vector<float>& contour, size_t n, NoteEvent* note) {
  constexpr int kWindow = 2 * kBendTolerance + 1;
  static const std::array<double, kWindow> gaussian = [] {
    std::array<double, kWindow> g{};
    for (int i = 0; i < kWindow; ++i) {
      const double x = i - (kWindow - 1) / 2.0;
      g[i] = std::exp((-1 * (x * x)) / (2 * 5.0 * 5.0));
    }
    return g;
  }();
  const double hz = 440.0 * std::pow(2.0, (note->pitch - 69.0) / 12.0);
  const int bin =
      static_cast<int>(std::floor(JsRound(12.0 * kContourBinsPerSemitone * std::log2(hz / 27.5))));
  const int from = std::max(bin - kBendTolerance, 0);
  const int to = std::min(kContourBins, bin + kBendTolerance + 1);
  const int g0 = std::max(0, kBendTolerance - bin);
  const int shift = kBendTolerance - std::max(0, kBendTolerance - bin);
  note->pitch_bends.clear();
  const size_t last = std::min(n, static_cast<size_t>(note->start_frame + note->duration_frames));
  for (size_t r = static_cast<size_t>(note->start_frame); r < last; ++r) {
    const float* row = contour.data() + r * kContourBins;
    int best = -1;
    double best_value = 0.0;
    for (int c = from; c < to; ++c) {
      const double v = static_cast<double>(row[c]) * gaussian[g0 + (c - from)];
      if (best < 0 || !(best_value > v)) {  // ties go to the later bin
        best = c - from;
        best_value = v;
      }
    }
    note->pitch_bends.push_back(best - shift);
  }
}

}  // namespace

size_t NoteFramesFor(size_t samples) {
  return static_cast<size_t>(
      std::floor(static_cast<double>(samples) *
                 (static_cast<double>(kNoteFramesPerSecond) / kNoteSampleRate)));
}

std::vector<NoteEvent> DecodeNotes(const Posteriorgrams& p, const NoteDecodeOptions& o) {
  const size_t n = p.frames;
  std::vector<NoteEvent> notes;
  if (n == 0) return notes;
  const Grid frames = ToGrid(p.note);
  Grid onsets = ToGrid(p.onset);
  if (o.infer_onsets) onsets = InferOnsets(onsets, frames, n);
  Grid energy = frames;
  const int frames_n = static_cast<int>(n);
  for (const auto& [start, bin] : OnsetPeaks(onsets, n, o.onset_threshold)) {
    if (start >= frames_n - 1) continue;
    int i = start + 1, k = 0;
    while (i < frames_n - 1 && k < o.energy_tolerance) {
      k = energy[static_cast<size_t>(i) * kNoteBins + bin] < o.frame_threshold ? k + 1 : 0;
      ++i;
    }
    i -= k;
    if (i - start <= o.min_note_frames) continue;
    for (int j = start; j < i; ++j) ClearBins(energy, static_cast<size_t>(j), bin);
    notes.push_back({start, i - start, bin + kLowestMidi, MeanOver(frames, start, i, bin), {}});
  }
  if (o.melodia_trick) MelodiaNotes(frames, energy, n, o, &notes);
  for (auto& note : notes) AddPitchBends(p.contour, n, &note);
  return notes;
}

double NoteFrameSeconds(int frame) {
  const double window_offset =
      (static_cast<double>(kNoteFrameHop) / kNoteSampleRate) *
          (2.0 * kNoteFramesPerSecond - static_cast<double>(kNoteWindow) / kNoteFrameHop) +
      0.0018;
  return (static_cast<double>(frame) * kNoteFrameHop) / kNoteSampleRate -
         window_offset * std::floor(static_cast<double>(frame) / (2 * kNoteFramesPerSecond));
}

NoteSummary SummariseNotes(const std::vector<NoteEvent>& notes, double seconds) {
  NoteSummary s;
  s.count = notes.size();
  if (notes.empty()) return s;
  s.density = seconds > 0.0 ? static_cast<double>(notes.size()) / seconds : 0.0;
  s.lowest = notes.front().pitch;
  s.highest = notes.front().pitch;
  double weight = 0.0, pitch_sum = 0.0;
  for (const auto& note : notes) {
    s.lowest = std::min(s.lowest, note.pitch);
    s.highest = std::max(s.highest, note.pitch);
    const double d = note.duration_frames;
    s.pitch_classes[static_cast<size_t>(note.pitch % 12)] += d;
    pitch_sum += d * note.pitch;
    weight += d;
  }
  if (weight > 0.0) {
    s.mean_pitch = pitch_sum / weight;
    for (double& v : s.pitch_classes) v /= weight;
  }
  return s;
}

std::vector<float> NoteFeatures(const std::vector<NoteEvent>& notes, const NoteSummary& summary,
                                int tonic, bool minor, double seconds) {
  std::vector<float> out;
  if (notes.empty() || seconds <= 0.0) return out;
  // Intervals between overlapping notes, by onset order so each pair counts once.
  std::vector<const NoteEvent*> sorted;
  for (const auto& n : notes) sorted.push_back(&n);
  std::sort(sorted.begin(), sorted.end(),
            [](const NoteEvent* a, const NoteEvent* b) { return a->start_frame < b->start_frame; });
  std::array<double, 12> intervals{};
  double overlap_total = 0.0, sounding = 0.0, duration = 0.0, amplitude = 0.0;
  for (size_t i = 0; i < sorted.size(); ++i) {
    const NoteEvent& a = *sorted[i];
    const int a_end = a.start_frame + a.duration_frames;
    for (size_t j = i + 1; j < sorted.size() && sorted[j]->start_frame < a_end; ++j) {
      const NoteEvent& b = *sorted[j];
      const int overlap = std::min(a_end, b.start_frame + b.duration_frames) - b.start_frame;
      if (overlap <= 0) continue;
      intervals[static_cast<size_t>(std::abs(a.pitch - b.pitch) % 12)] += overlap;
      overlap_total += overlap;
    }
    sounding += a.duration_frames;
    duration +=
        NoteFrameSeconds(a.start_frame + a.duration_frames) - NoteFrameSeconds(a.start_frame);
    amplitude += a.amplitude;
  }
  for (double v : intervals)
    out.push_back(static_cast<float>(overlap_total > 0 ? v / overlap_total : 0.0));
  for (int k = 0; k < 12; ++k) {
    out.push_back(static_cast<float>(summary.pitch_classes[static_cast<size_t>((tonic + k) % 12)]));
  }
  out.push_back(minor ? 1.0f : 0.0f);
  const double frames = seconds * kNoteFramesPerSecond;
  const double count = static_cast<double>(notes.size());
  out.push_back(static_cast<float>(std::log1p(summary.density) / 3.0));
  out.push_back(static_cast<float>(summary.mean_pitch / 127.0));
  out.push_back(static_cast<float>((summary.highest - summary.lowest) / 88.0));
  out.push_back(static_cast<float>(std::log1p(duration / count)));
  out.push_back(static_cast<float>(std::min(1.0, sounding / frames / 8.0)));
  out.push_back(static_cast<float>(amplitude / count));
  return out;
}

std::string EncodeNotes(const std::vector<NoteEvent>& notes) {
  std::string out = "bp1";
  int previous = 0;
  for (const auto& note : notes) {
    const long amplitude = std::lround(std::clamp(note.amplitude, 0.0, 1.0) * 1000.0);
    out += fmt::format(";{},{},{},{},", note.start_frame - previous, note.duration_frames,
                       note.pitch, amplitude);
    for (int b : note.pitch_bends) {
      const int clamped = std::clamp(b, -kBendTolerance, kBendTolerance);
      out += clamped >= 0 ? static_cast<char>('a' + clamped) : static_cast<char>('A' - clamped - 1);
    }
    previous = note.start_frame;
  }
  return out;
}

Result<std::vector<NoteEvent>> DecodeNoteText(std::string_view text) {
  auto bad = [](std::string_view why) {
    return Corrupt(fmt::format("stored note events cannot be read: {}", why))
        .WithReason("bad_note_events");
  };
  if (text.substr(0, 3) != "bp1") return bad("unknown format");
  std::vector<NoteEvent> notes;
  int previous = 0;
  size_t pos = 3;
  while (pos < text.size()) {
    if (text[pos] != ';') return bad("expected ';'");
    ++pos;
    std::array<long, 4> fields{};
    for (long& f : fields) {
      const char* begin = text.data() + pos;
      const char* end = text.data() + text.size();
      auto [ptr, ec] = std::from_chars(begin, end, f);
      if (ec != std::errc() || ptr == end || *ptr != ',') return bad("a number is malformed");
      pos += static_cast<size_t>(ptr - begin) + 1;
    }
    if (fields[1] < 0 || fields[2] < 0 || fields[2] > 127 || fields[3] < 0 || fields[3] > 1000 ||
        std::abs(fields[0]) > (1L << 30) || fields[1] > (1L << 30)) {
      return bad("a value is out of range");
    }
    NoteEvent note;
    note.start_frame = previous + static_cast<int>(fields[0]);
    note.duration_frames = static_cast<int>(fields[1]);
    note.pitch = static_cast<int>(fields[2]);
    note.amplitude = static_cast<double>(fields[3]) / 1000.0;
    while (pos < text.size() && text[pos] != ';') {
      const char c = text[pos++];
      if (c >= 'a' && c <= 'z') {
        note.pitch_bends.push_back(c - 'a');
      } else if (c >= 'A' && c <= 'Y') {
        note.pitch_bends.push_back(-(c - 'A' + 1));
      } else {
        return bad("a pitch bend is malformed");
      }
    }
    previous = note.start_frame;
    notes.push_back(std::move(note));
  }
  return notes;
}

}  // namespace timbre::dsp
