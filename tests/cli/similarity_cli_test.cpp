// similar, mix, path, duplicates and index, run as a user would on real encoded audio:
// four synthetic pieces, each stored four ways (FLAC, MP3 128k, Opus 64k, FLAC cut by 5 s),
// plus another performance of each (the same notes 12 % faster).
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <map>
#include <set>

#include "test_support.h"

namespace timbre {
namespace {

using testing::RunCommand;
using testing::ShellQuote;
using testing::TempDir;

// A piece: a stepping melody over `steps` notes from `base` Hz at `rate` notes per second,
// shaped by `timbre` (an ffmpeg expression in the phase `p`, its only letter p), with gated
// notes.
struct Piece {
  std::string name;
  double base;
  int steps;
  double rate;
  std::string timbre;
};

const Piece kPieces[] = {
    {"sines", 220.0, 4, 2.0, "sin(p)"},
    {"squares", 330.0, 5, 2.5, "0.5*sgn(sin(p))"},
    {"bells", 523.0, 3, 1.6, "sin(p)*0.6+0.4*sin(2.76*p)"},
    {"reeds", 147.0, 6, 3.0, "sin(p)+0.5*sin(2*p)+0.33*sin(3*p)"},
};

void Render(const Piece& piece, double speed, const std::string& out_args,
            const std::filesystem::path& out) {
  const double rate = piece.rate * speed;
  // Frequency steps by a fifth-ish interval per note; notes are gated to 70 % of their slot.
  const std::string freq = "(" + std::to_string(piece.base) + "*pow(1.26,mod(floor(t*" +
                           std::to_string(rate) + ")," + std::to_string(piece.steps) + ")))";
  std::string shape = piece.timbre;
  const std::string phase = "(2*PI*" + freq + "*t)";
  for (size_t at = shape.find('p'); at != std::string::npos; at = shape.find('p', at)) {
    shape.replace(at, 1, phase);
    at += phase.size();
  }
  // Noise ticks at twice the note rate fill the upper spectrum, as cymbals do in music.
  std::string expr = "0.3*(" + shape + ")*lt(mod(t*" + std::to_string(rate) +
                     ",1),0.7)+0.08*(2*random(0)-1)*lt(mod(t*" + std::to_string(2 * rate) +
                     ",1),0.15)";
  // Commas separate filters in a filter graph; inside the expression they are escaped.
  for (size_t at = expr.find(','); at != std::string::npos; at = expr.find(',', at + 2)) {
    expr.insert(at, "\\");
  }
  const std::string cmd = "ffmpeg -nostdin -v error -y -f lavfi -i " +
                          ShellQuote("aevalsrc=" + expr + ":s=44100:d=30") + " -ac 2 " + out_args +
                          " " + ShellQuote(out.string());
  ASSERT_EQ(RunCommand(cmd).exit_code, 0) << cmd;
}

class SimilarityCliTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    const auto lib = *dir_ / "lib";
    std::filesystem::create_directories(lib);
    for (const auto& p : kPieces) {
      const auto flac = lib / (p.name + ".flac");
      Render(p, 1.0, "-c:a flac", flac);
      const std::string in = "ffmpeg -nostdin -v error -y -i " + ShellQuote(flac.string());
      ASSERT_EQ(RunCommand(in + " -c:a libmp3lame -b:a 128k " +
                           ShellQuote((lib / (p.name + ".128k.mp3")).string()))
                    .exit_code,
                0);
      ASSERT_EQ(RunCommand(in + " -c:a libopus -b:a 64k " +
                           ShellQuote((lib / (p.name + ".64k.opus")).string()))
                    .exit_code,
                0);
      ASSERT_EQ(RunCommand("ffmpeg -nostdin -v error -y -ss 5 -i " + ShellQuote(flac.string()) +
                           " -c:a flac " + ShellQuote((lib / (p.name + ".trim5.flac")).string()))
                    .exit_code,
                0);
      Render(p, 1.12, "-c:a flac", lib / (p.name + ".alt.flac"));
    }
    db_ = new std::string((*dir_ / "t.db").string());
    const auto scan = Timbre("scan -q " + ShellQuote(lib.string()));
    ASSERT_EQ(scan.exit_code, 0) << scan.output;
  }
  static void TearDownTestSuite() {
    delete db_;
    delete dir_;
  }

  static testing::CommandResult Timbre(const std::string& args, bool merge_stderr = false) {
    return RunCommand(testing::TimbreBinary() + " --db " + ShellQuote(*db_) + " " + args +
                      (merge_stderr ? " 2>&1" : " 2>/dev/null"));
  }
  static nlohmann::json Json(const std::string& args) {
    const auto r = Timbre(args + " --json");
    EXPECT_EQ(r.exit_code, 0) << args;
    return nlohmann::json::parse(r.output, nullptr, false);
  }
  // "sines" for ".../sines.64k.opus"; "sines.alt" for the other performance.
  static std::string Group(const std::string& path) {
    const std::string name = std::filesystem::path(path).filename().string();
    const std::string stem = name.substr(0, name.find('.'));
    return name.find(".alt.") != std::string::npos ? stem + ".alt" : stem;
  }
  static std::map<int64_t, std::string> Tracks() {
    std::map<int64_t, std::string> out;
    for (int64_t id = 1; id <= 40; ++id) {
      const auto r = Timbre("show " + std::to_string(id) + " --json");
      if (r.exit_code != 0) continue;
      const auto j = nlohmann::json::parse(r.output);
      if (j["status"] == "ok") out[id] = j["path"].get<std::string>();
    }
    return out;
  }

  static TempDir* dir_;
  static std::string* db_;
};

TempDir* SimilarityCliTest::dir_ = nullptr;
std::string* SimilarityCliTest::db_ = nullptr;

TEST_F(SimilarityCliTest, CopiesAreEachOthersNearestNeighbours) {
  const auto tracks = Tracks();
  ASSERT_EQ(tracks.size(), 20u);
  size_t hits = 0, total = 0;
  for (const auto& [id, path] : tracks) {
    if (Group(path).ends_with(".alt")) continue;
    const auto j = Json("similar " + std::to_string(id) + " -n 3 --where \"path !~ .alt.\"");
    ASSERT_EQ(j["tracks"].size(), 3u) << path;
    for (const auto& t : j["tracks"]) {
      hits += Group(t["path"].get<std::string>()) == Group(path);
      ++total;
    }
  }
  // Pure synthetic tones are a hard case for a descriptor space (Opus at 64k reshapes their
  // empty upper spectrum), so this guard sits below the 0.95 measured on rendered music by
  // bench/similarity-quality.sh, which CI runs with CHECK=1.
  EXPECT_GE(static_cast<double>(hits) / static_cast<double>(total), 0.75)
      << hits << " of " << total;
}

TEST_F(SimilarityCliTest, DuplicatesGroupCopiesAndNothingElse) {
  const auto tracks = Tracks();
  const auto j = Json("duplicates");
  ASSERT_TRUE(j["groups"].is_array());
  EXPECT_EQ(j["fingerprints"], 20);
  std::set<std::string> grouped;
  for (const auto& g : j["groups"]) {
    std::set<std::string> groups;
    for (const auto& t : g["tracks"]) groups.insert(Group(tracks.at(t["id"].get<int64_t>())));
    ASSERT_EQ(groups.size(), 1u) << g.dump();  // never two pieces, never the other performance
    EXPECT_EQ(g["tracks"].size(), 4u) << g.dump();
    EXPECT_FALSE(groups.begin()->ends_with(".alt"));
    grouped.insert(*groups.begin());
    for (const auto& p : g["pairs"]) {
      EXPECT_GT(p["score"].get<double>(), 0.5);
      EXPECT_GE(p["overlap_seconds"].get<double>(), 10.0);
    }
  }
  EXPECT_EQ(grouped.size(), 4u);
}

TEST_F(SimilarityCliTest, MixPathAndPlaylistFormats) {
  const auto tracks = Tracks();
  std::vector<int64_t> ids;
  for (const auto& [id, path] : tracks) ids.push_back(id);
  const auto mix = Json("mix " + std::to_string(ids[0]) + " " + std::to_string(ids[5]) + " -n 6");
  ASSERT_EQ(mix["tracks"].size(), 6u);
  std::set<int64_t> seen;
  for (const auto& t : mix["tracks"]) EXPECT_TRUE(seen.insert(t["id"].get<int64_t>()).second);
  EXPECT_FALSE(seen.contains(ids[0]));

  const auto limited = Json("mix " + std::to_string(ids[0]) + " --max-duration 65");
  EXPECT_EQ(limited["tracks"].size(), 2u);  // 30 s tracks (25 s trims aside)
  EXPECT_LE(limited["duration"].get<double>(), 65.0);

  const auto path =
      Json("path " + std::to_string(ids[0]) + " " + std::to_string(ids[10]) + " --steps 3");
  ASSERT_EQ(path["tracks"].size(), 5u);
  EXPECT_EQ(path["tracks"][0]["id"], ids[0]);
  EXPECT_EQ(path["tracks"][4]["id"], ids[10]);

  const auto m3u = Timbre("similar " + std::to_string(ids[0]) + " -n 2 --m3u");
  EXPECT_EQ(m3u.exit_code, 0);
  EXPECT_EQ(m3u.output.rfind("#EXTM3U\n", 0), 0u) << m3u.output;
  EXPECT_NE(m3u.output.find("#EXTINF:"), std::string::npos);
  EXPECT_NE(m3u.output.find((*dir_ / "lib").string()), std::string::npos);

  const auto by_path = Timbre("similar " + ShellQuote(tracks.at(ids[0])) + " -n 1");
  EXPECT_EQ(by_path.exit_code, 0);

  const auto index = Json("index");
  EXPECT_EQ(index["vectors"], 20);
  EXPECT_EQ(index["kind"], "flat");
  EXPECT_EQ(index["space"], "timbre-v1");
}

TEST_F(SimilarityCliTest, BadRequestsAreClearErrors) {
  auto r = Timbre("similar 9999", true);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find("9999"), std::string::npos) << r.output;
  r = Timbre("similar 1 --where \"bpm >\"", true);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find("value"), std::string::npos) << r.output;
  r = Timbre("similar 1 --where \"mood = happy\"", true);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find("unknown filter field"), std::string::npos) << r.output;
  EXPECT_EQ(Timbre("similar 1 --json --m3u").exit_code, 2);
  EXPECT_EQ(Timbre("similar 1 -n 0").exit_code, 2);
  r = Timbre("mix 1 /no/such/file.flac", true);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find("no track at"), std::string::npos) << r.output;
  EXPECT_EQ(Timbre("path 1 1").exit_code, 2);
  r = Timbre("similar 1 --space no-such-space", true);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find("empty"), std::string::npos) << r.output;

  TempDir empty;
  r = RunCommand(testing::TimbreBinary() + " --db " + ShellQuote((empty / "e.db").string()) +
                 " similar 1 2>&1");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find("scan a library first"), std::string::npos) << r.output;
}

TEST(SimilarityCliGoneTest, DeletedFilesLeaveTheIndex) {
  TempDir dir;
  std::filesystem::create_directories(dir / "lib");
  for (int i = 0; i < 3; ++i) {
    Render(kPieces[i], 1.0, "-c:a flac -t 8", dir / "lib" / (kPieces[i].name + ".flac"));
  }
  const std::string timbre =
      testing::TimbreBinary() + " --db " + ShellQuote((dir / "t.db").string()) + " ";
  ASSERT_EQ(RunCommand(timbre + "scan -q " + ShellQuote((dir / "lib").string())).exit_code, 0);
  const auto gone = dir / "lib" / (kPieces[2].name + ".flac");
  const auto kept = ShellQuote((dir / "lib" / (kPieces[0].name + ".flac")).string());
  const auto gone_id =
      nlohmann::json::parse(
          RunCommand(timbre + "show " + ShellQuote(gone.string()) + " --json").output)["id"]
          .get<int64_t>();
  auto before = nlohmann::json::parse(RunCommand(timbre + "similar " + kept + " --json").output);
  ASSERT_EQ(before["tracks"].size(), 2u);
  std::filesystem::remove(gone);
  ASSERT_EQ(RunCommand(timbre + "scan -q " + ShellQuote((dir / "lib").string())).exit_code, 0);
  auto after = nlohmann::json::parse(RunCommand(timbre + "similar " + kept + " --json").output);
  ASSERT_EQ(after["tracks"].size(), 1u);
  EXPECT_NE(after["tracks"][0]["id"], gone_id);
  EXPECT_EQ(RunCommand(timbre + "similar " + std::to_string(gone_id) + " 2>/dev/null").exit_code,
            2);
}

}  // namespace
}  // namespace timbre
