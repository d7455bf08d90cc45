// Manifests: every field is checked, and each kind of mistake names its field.
#include "timbre/models/manifest.h"

#include <gtest/gtest.h>

#include <regex>
#include <string>

namespace timbre::models {
namespace {

const std::string kSha(64, 'a');

std::string Embedder(const std::string& extra_input = "", const std::string& output = "dim = 8") {
  return "id = \"tiny-embedder-1.0\"\nname = \"tiny\"\nversion = \"1.0\"\nframework = \"pytorch\"\n"
         "kind = \"embedder\"\nfile = \"tiny.pt\"\nsha256 = \"" +
         kSha +
         "\"\nlicense = \"CC0-1.0\"\nsource = \"https://example.org\"\n"
         "[input]\nfrontend = \"logmel\"\nsample_rate = 16000\nframe_size = 512\nhop_size = 256\n"
         "mel_bands = 32\nhigh_hz = 8000\nlog = \"log10_1p\"\npatch_frames = 16\npatch_hop = 8\n" +
         extra_input + "[output]\n" + output + "\n";
}

std::string Head(const std::string& output, const std::string& tiers = "") {
  return "id = \"mood-1\"\nname = \"mood_aggressive\"\nversion = \"1\"\nframework = \"essentia\"\n"
         "kind = \"head\"\nfile = \"mood.pt\"\nsha256 = \"" +
         kSha +
         "\"\nlicense = \"CC BY-NC-SA 4.0\"\nsource = \"x\"\n[input]\nembedder = "
         "\"tiny-embedder-1.0\"\n"
         "[output]\n" +
         output + "\n" + tiers;
}

std::string Transcriber(const std::string& input = "window = 43844\n",
                        const std::string& output =
                            "names = [\"note\", \"onset\", \"contour\"]\n"
                            "frames = 172\n") {
  return "id = \"basic-pitch\"\nname = \"basic_pitch\"\nversion = \"1.0.1\"\n"
         "framework = \"tfjs\"\nkind = \"transcriber\"\nfile = \"basic-pitch.pt\"\n"
         "sha256 = \"" +
         kSha +
         "\"\nlicense = \"Apache-2.0\"\nsource = \"npm\"\n"
         "[input]\nfrontend = \"waveform\"\nsample_rate = 22050\n" +
         input + "[output]\n" + output;
}

// The error message for `text`, which must fail as a bad manifest.
std::string ErrorOf(const std::string& text) {
  auto m = ParseManifest(text, "m.toml");
  EXPECT_FALSE(m.ok());
  if (m.ok()) return "";
  EXPECT_EQ(m.status().reason(), "bad_manifest");
  return m.status().message();
}

TEST(Manifest, ReadsAnEmbedder) {
  auto m = ParseManifest(Embedder(), "m.toml");
  ASSERT_TRUE(m.ok()) << m.status().message();
  EXPECT_EQ(m->id, "tiny-embedder-1.0");
  EXPECT_EQ(m->kind, ModelKind::kEmbedder);
  EXPECT_EQ(m->runtime, "torchscript");
  EXPECT_EQ(m->frontend.sample_rate, 16000);
  EXPECT_EQ(m->frontend.mel_bands, 32u);
  EXPECT_EQ(m->frontend.low_hz, 0.0);
  EXPECT_EQ(m->frontend.high_hz, 8000.0);
  EXPECT_EQ(m->frontend.log_scale, 10000.0);
  EXPECT_EQ(m->layout, TensorLayout::kPatchFramesBands);
  EXPECT_EQ(m->output_size(), 8u);
  EXPECT_EQ(AnalysisName(*m), "model:tiny-embedder-1-0");
}

TEST(Manifest, ReadsAHeadWithTiers) {
  auto m = ParseManifest(
      Head("labels = [\"aggressive\", \"not_aggressive\"]\nactivation = \"softmax\"",
           "[tiers]\nmode = \"exclusive\"\nlabels = [\"aggressive\"]\n"
           "contradicts = [[\"aggressive\", \"relaxed\"]]\nhigh = { probability = 0.8 }\n"),
      "m.toml");
  ASSERT_TRUE(m.ok()) << m.status().message();
  EXPECT_EQ(m->embedder, "tiny-embedder-1.0");
  EXPECT_EQ(m->labels.size(), 2u);
  EXPECT_EQ(m->activation, Activation::kSoftmax);
  EXPECT_EQ(m->tiers.labels, std::vector<std::string>{"aggressive"});
  ASSERT_EQ(m->tiers.contradicts.size(), 1u);
  EXPECT_EQ(m->tiers.contradicts[0].second, "relaxed");
  EXPECT_EQ(m->tiers.high.probability, 0.8);
  EXPECT_EQ(m->tiers.high.margin, 0.5);  // the rest of the rule keeps its default
  auto embedder = ParseManifest(Embedder(), "e.toml");
  ASSERT_TRUE(embedder.ok());
  EXPECT_EQ(TagPrefix(*m, &*embedder), "nom:essentia_tiny_1-0_mood_aggressive_1_");
}

TEST(Manifest, MissingFieldIsNamed) {
  std::string text = Embedder();
  text = std::regex_replace(text, std::regex("sha256 = \"a+\"\n"), "");
  EXPECT_NE(ErrorOf(text).find("m.toml: sha256: missing"), std::string::npos) << ErrorOf(text);
  EXPECT_NE(ErrorOf(Head("activation = \"none\"")).find("output.labels: missing"),
            std::string::npos);
}

TEST(Manifest, WrongTypeIsNamed) {
  std::string text =
      std::regex_replace(Embedder(), std::regex("sample_rate = 16000"), "sample_rate = \"16000\"");
  const std::string e = ErrorOf(text);
  EXPECT_NE(e.find("input.sample_rate: expected an integer, got a string"), std::string::npos) << e;
  text = std::regex_replace(Embedder(), std::regex("version = \"1.0\""), "version = 1.0");
  EXPECT_NE(ErrorOf(text).find("version: expected a string, got a number"), std::string::npos);
}

TEST(Manifest, UnknownFrontendAndValuesAreRefused) {
  std::string text =
      std::regex_replace(Embedder(), std::regex("frontend = \"logmel\""), "frontend = \"cqt\"");
  EXPECT_NE(ErrorOf(text).find("input.frontend: unknown frontend \"cqt\""), std::string::npos);
  text = std::regex_replace(Embedder(), std::regex("log = \"log10_1p\""), "log = \"ln\"");
  EXPECT_NE(ErrorOf(text).find("input.log"), std::string::npos);
  text = std::regex_replace(Embedder(), std::regex("kind = \"embedder\""), "kind = \"tagger\"");
  EXPECT_NE(ErrorOf(text).find("kind: unknown \"tagger\""), std::string::npos);
  text = std::regex_replace(Embedder(), std::regex("sample_rate = 16000"), "sample_rate = 100");
  EXPECT_NE(ErrorOf(text).find("input.sample_rate: 100 is outside"), std::string::npos);
  text = std::regex_replace(Embedder(), std::regex("hop_size = 256"), "hop_size = 1024");
  EXPECT_NE(ErrorOf(text).find("input.hop_size"), std::string::npos);
}

TEST(Manifest, LabelsMustMatchTheOutputSize) {
  const std::string e = ErrorOf(Head("labels = [\"a\", \"b\", \"c\"]\ndim = 2"));
  EXPECT_NE(e.find("output.labels: 3 labels, but output.dim says 2"), std::string::npos) << e;
  EXPECT_NE(ErrorOf(Head("labels = [\"a\", \"a\"]")).find("appears twice"), std::string::npos);
  EXPECT_NE(ErrorOf(Head("labels = [\"Not Snake\"]")).find("not a snake_case label"),
            std::string::npos);
  EXPECT_NE(ErrorOf(Head("labels = [\"a\", \"b\"]", "[tiers]\nlabels = [\"c\"]\n"))
                .find("tiers.labels: \"c\" is not one of output.labels"),
            std::string::npos);
  EXPECT_NE(ErrorOf(Embedder("", "dim = 8\nlabels = [\"a\"]")).find("an embedder returns vectors"),
            std::string::npos);
}

TEST(Manifest, UnknownFieldsAndBadSyntaxAreRefused) {
  EXPECT_NE(ErrorOf(Embedder("sample_rte = 16000\n")).find("input.sample_rte: unknown field"),
            std::string::npos);
  EXPECT_NE(ErrorOf("id = \"x\"\nname = [").find("m.toml:2:"), std::string::npos);
  EXPECT_NE(ErrorOf("").find("id: missing"), std::string::npos);
  std::string text =
      std::regex_replace(Embedder(), std::regex("sha256 = \"a+\""), "sha256 = \"abc\"");
  EXPECT_NE(ErrorOf(text).find("sha256: expected 64 hexadecimal digits"), std::string::npos);
  text = std::regex_replace(Embedder(), std::regex("file = \"tiny.pt\""), "file = \"../x.pt\"");
  EXPECT_NE(ErrorOf(text).find("file: must name a file"), std::string::npos);
  text = std::regex_replace(Embedder(), std::regex("id = \"tiny-embedder-1.0\""), "id = \"a b\"");
  EXPECT_NE(ErrorOf(text).find("id: \"a b\""), std::string::npos);
}

TEST(Manifest, NamespacePartsAreAsciiSnakeCaseWithHyphensForDots) {
  EXPECT_EQ(NamespacePart("1.2.3"), "1-2-3");
  EXPECT_EQ(NamespacePart("EffNet v2"), "effnet_v2");
  EXPECT_EQ(NamespacePart("discogs519"), "discogs519");
  EXPECT_EQ(NamespacePart("é"), "__");  // two bytes of UTF-8, neither ASCII
}

}  // namespace
}  // namespace timbre::models

namespace timbre::models {
namespace {

TEST(Manifest, ReadsATranscriber) {
  auto m = ParseManifest(Transcriber(), "m.toml");
  ASSERT_TRUE(m.ok()) << m.status().message();
  EXPECT_EQ(m->kind, ModelKind::kTranscriber);
  EXPECT_EQ(m->waveform.sample_rate, 22050);
  EXPECT_EQ(m->waveform.window, 43844u);
  EXPECT_EQ(m->output_names, (std::vector<std::string>{"note", "onset", "contour"}));
  EXPECT_EQ(m->output_frames, 172u);
}

TEST(Manifest, TranscriberFieldsAreChecked) {
  EXPECT_NE(ErrorOf(Transcriber("")).find("input.window: missing"), std::string::npos);
  EXPECT_NE(ErrorOf(Transcriber("window = 10\n")).find("input.window: 10 is outside"),
            std::string::npos);
  EXPECT_NE(ErrorOf(Transcriber("window = 43844\nmel_bands = 3\n"))
                .find("input.mel_bands: unknown field"),
            std::string::npos);
  EXPECT_NE(
      ErrorOf(Transcriber("window = 43844\n", "frames = 172\n")).find("output.names: missing"),
      std::string::npos);
  EXPECT_NE(ErrorOf(Transcriber("window = 43844\n", "names = [\"a\", \"a\"]\nframes = 1\n"))
                .find("appears twice"),
            std::string::npos);
  EXPECT_NE(ErrorOf(Transcriber("window = 43844\n", "names = [\"note\"]\n"))
                .find("output.frames: missing"),
            std::string::npos);
  const std::string logmel = std::regex_replace(
      Transcriber(), std::regex("frontend = \"waveform\""), "frontend = \"logmel\"");
  EXPECT_NE(ErrorOf(logmel).find("a transcriber reads \"waveform\""), std::string::npos);
  EXPECT_NE(ErrorOf(Transcriber() + "[tiers]\nmode = \"exclusive\"\n")
                .find("a transcriber has no labels to tier"),
            std::string::npos);
}

}  // namespace
}  // namespace timbre::models
