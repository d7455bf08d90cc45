// Note decoding from posteriorgrams built by hand: where a note starts, how long it lasts,
// which notes the second (remaining energy) pass finds, pitch bends, and the stored text form.
#include "timbre/dsp/notes.h"

#include <gtest/gtest.h>

#include <cmath>

namespace timbre::dsp {
namespace {

Posteriorgrams Empty(size_t frames) {
  Posteriorgrams p;
  p.frames = frames;
  p.note.assign(frames * kNoteBins, 0.0f);
  p.onset.assign(frames * kNoteBins, 0.0f);
  p.contour.assign(frames * kContourBins, 0.0f);
  return p;
}

// A note of `pitch` sounding over [from, to) with an onset peak at `from`, and its contour
// peak `bend` thirds of a semitone off.
void AddNote(Posteriorgrams& p, int pitch, size_t from, size_t to, float level, int bend = 0) {
  const int bin = pitch - kLowestMidi;
  for (size_t r = from; r < to; ++r) {
    p.note[r * kNoteBins + bin] = level;
    p.contour[r * kContourBins + bin * kContourBinsPerSemitone + bend] = 0.9f;
  }
  p.onset[from * kNoteBins + bin] = 0.9f;
}

TEST(NoteDecodingTest, OneNoteStartsAtItsOnsetAndEndsWhereItsPosteriorFalls) {
  Posteriorgrams p = Empty(200);
  AddNote(p, 60, 20, 80, 0.8f);
  const auto notes = DecodeNotes(p);
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_EQ(notes[0].pitch, 60);
  EXPECT_EQ(notes[0].start_frame, 20);
  EXPECT_EQ(notes[0].duration_frames, 60);
  EXPECT_NEAR(notes[0].amplitude, 0.8, 1e-6);
  ASSERT_EQ(notes[0].pitch_bends.size(), 60u);
  for (int b : notes[0].pitch_bends) EXPECT_EQ(b, 0);
}

TEST(NoteDecodingTest, AChordGivesOneNotePerPitch) {
  Posteriorgrams p = Empty(150);
  for (int pitch : {60, 64, 67}) AddNote(p, pitch, 10, 100, 0.7f);
  auto notes = DecodeNotes(p);
  ASSERT_EQ(notes.size(), 3u);
  // The package visits onset peaks from the highest pitch down.
  EXPECT_EQ(notes[0].pitch, 67);
  EXPECT_EQ(notes[1].pitch, 64);
  EXPECT_EQ(notes[2].pitch, 60);
  for (const auto& n : notes) EXPECT_EQ(n.duration_frames, 90);
}

TEST(NoteDecodingTest, ShortNotesAreDroppedAndDipsWithinToleranceBridged) {
  Posteriorgrams p = Empty(200);
  AddNote(p, 50, 10, 14, 0.9f);  // 4 frames: too short
  AddNote(p, 70, 40, 100, 0.9f);
  for (size_t r = 60; r < 66; ++r) p.note[r * kNoteBins + (70 - kLowestMidi)] = 0.1f;  // a dip
  // The rise after the dip would infer a second onset: here only the onset posterior counts.
  NoteDecodeOptions options;
  options.infer_onsets = false;
  const auto notes = DecodeNotes(p, options);
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_EQ(notes[0].pitch, 70);
  EXPECT_EQ(notes[0].duration_frames, 60);
}

TEST(NoteDecodingTest, FramesWithoutOnsetsAreFoundByTheSecondPass) {
  Posteriorgrams p = Empty(120);
  const int bin = 45;
  // A steady note from the first frame: no rise to infer an onset from, no onset posterior.
  for (size_t r = 0; r < 120; ++r) p.note[r * kNoteBins + bin] = 0.6f;
  p.note[50 * kNoteBins + bin] = 0.65f;  // where the second pass starts
  NoteDecodeOptions without_second_pass;
  without_second_pass.melodia_trick = false;
  EXPECT_TRUE(DecodeNotes(p, without_second_pass).empty());
  const auto notes = DecodeNotes(p);
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_EQ(notes[0].pitch, bin + kLowestMidi);
  // The passes stop short of the first and the last frame, as the package's do.
  EXPECT_EQ(notes[0].start_frame, 1);
  EXPECT_EQ(notes[0].duration_frames, 117);
}

TEST(NoteDecodingTest, PitchBendsFollowTheContourPeak) {
  Posteriorgrams p = Empty(100);
  AddNote(p, 69, 10, 40, 0.8f, 2);  // contour two thirds of a semitone sharp
  const auto notes = DecodeNotes(p);
  ASSERT_EQ(notes.size(), 1u);
  ASSERT_FALSE(notes[0].pitch_bends.empty());
  for (int b : notes[0].pitch_bends) EXPECT_EQ(b, 2);
}

TEST(NoteDecodingTest, SilenceGivesNoNotesAndNoNaN) {
  EXPECT_TRUE(DecodeNotes(Empty(0)).empty());
  EXPECT_TRUE(DecodeNotes(Empty(1)).empty());
  EXPECT_TRUE(DecodeNotes(Empty(500)).empty());
  const NoteSummary s = SummariseNotes({}, 10.0);
  EXPECT_EQ(s.count, 0u);
  EXPECT_EQ(s.density, 0.0);
}

TEST(NoteDecodingTest, FrameTimesFollowThePackage) {
  EXPECT_DOUBLE_EQ(NoteFrameSeconds(0), 0.0);
  EXPECT_NEAR(NoteFrameSeconds(86), 86 * 256.0 / 22050.0, 1e-12);
  // Each 172 frames the package takes back the windows' drift plus 1.8 ms.
  const double offset = (256.0 / 22050.0) * (172.0 - 43844.0 / 256.0) + 0.0018;
  EXPECT_NEAR(NoteFrameSeconds(172), 172 * 256.0 / 22050.0 - offset, 1e-12);
  EXPECT_EQ(NoteFramesFor(22050), 86u);
  EXPECT_EQ(NoteFramesFor(0), 0u);
}

TEST(NoteSummaryTest, PitchClassesAreWeightedByDuration) {
  std::vector<NoteEvent> notes{{0, 30, 60, 0.5, {}}, {0, 10, 67, 0.5, {}}, {40, 10, 72, 0.5, {}}};
  const NoteSummary s = SummariseNotes(notes, 2.0);
  EXPECT_EQ(s.count, 3u);
  EXPECT_DOUBLE_EQ(s.density, 1.5);
  EXPECT_EQ(s.lowest, 60);
  EXPECT_EQ(s.highest, 72);
  EXPECT_NEAR(s.pitch_classes[0], 0.8, 1e-12);  // C: 30 + 10 of 50 frames
  EXPECT_NEAR(s.pitch_classes[7], 0.2, 1e-12);
}

TEST(NoteFeaturesTest, DescribeIntervalsAndDoNotDependOnTheKey) {
  // A C major triad held, then a G; and the same a whole tone higher.
  std::vector<NoteEvent> c{
      {0, 80, 60, 0.6, {}}, {0, 80, 64, 0.6, {}}, {0, 80, 67, 0.6, {}}, {100, 40, 67, 0.4, {}}};
  std::vector<NoteEvent> d = c;
  for (auto& n : d) n.pitch += 2;
  const auto a = NoteFeatures(c, SummariseNotes(c, 2.0), 0, false, 2.0);
  const auto b = NoteFeatures(d, SummariseNotes(d, 2.0), 2, false, 2.0);
  ASSERT_EQ(a.size(), kNoteFeatureDims);
  ASSERT_EQ(b.size(), kNoteFeatureDims);
  for (size_t i = 0; i < a.size(); ++i) {
    if (i == 26) continue;  // mean pitch: the one feature that moves with the key
    EXPECT_NEAR(a[i], b[i], 1e-6) << i;
  }
  EXPECT_GT(b[26], a[26]);
  // Intervals of the triad: a major third (4), a minor third (3), a fifth (7), equally long.
  EXPECT_NEAR(a[4], 1.0 / 3, 1e-6);
  EXPECT_NEAR(a[3], 1.0 / 3, 1e-6);
  EXPECT_NEAR(a[7], 1.0 / 3, 1e-6);
  for (float v : a) EXPECT_TRUE(std::isfinite(v));
  EXPECT_TRUE(NoteFeatures({}, SummariseNotes({}, 2.0), 0, false, 2.0).empty());
}

TEST(NoteTextTest, RoundTripsEventsAndRefusesDamage) {
  std::vector<NoteEvent> notes{
      {100, 20, 60, 0.8123, {0, 1, -1, 25, -25}}, {40, 7, 108, 0.25, {}}, {4000, 9, 21, 1.0, {3}}};
  const std::string text = EncodeNotes(notes);
  auto back = DecodeNoteText(text);
  ASSERT_TRUE(back.ok()) << back.status().message();
  ASSERT_EQ(back->size(), 3u);
  for (size_t i = 0; i < notes.size(); ++i) {
    EXPECT_EQ((*back)[i].start_frame, notes[i].start_frame);
    EXPECT_EQ((*back)[i].duration_frames, notes[i].duration_frames);
    EXPECT_EQ((*back)[i].pitch, notes[i].pitch);
    EXPECT_NEAR((*back)[i].amplitude, notes[i].amplitude, 5e-4);
    EXPECT_EQ((*back)[i].pitch_bends, notes[i].pitch_bends);
  }
  ASSERT_TRUE(DecodeNoteText(EncodeNotes({})).ok());
  EXPECT_TRUE(DecodeNoteText(EncodeNotes({}))->empty());
  for (const char* bad : {"", "xx1;1,2,3,4,", "bp1;1,2,3", "bp1;1,2,300,4,", "bp1;1,2,3,4,%",
                          "bp1;a,2,3,4,", "bp1;1,-2,3,4,", "bp1,"}) {
    auto r = DecodeNoteText(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().reason(), "bad_note_events") << bad;
  }
}

}  // namespace
}  // namespace timbre::dsp
