// The real timbre binary, run as a user would, on real audio files.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <fstream>
#include <sstream>

#include "test_support.h"

namespace timbre {
namespace {

using testing::MakeTone;
using testing::RunCommand;
using testing::ShellQuote;
using testing::TempDir;

class CliTest : public ::testing::Test {
 protected:
  CliTest() {
    std::filesystem::create_directories(dir_ / "lib");
    db_ = (dir_ / "t.db").string();
  }
  testing::CommandResult Timbre(const std::string& args, bool merge_stderr = false) {
    return RunCommand(testing::TimbreBinary() + " --db " + ShellQuote(db_) + " " + args +
                      (merge_stderr ? " 2>&1" : " 2>/dev/null"));
  }
  std::vector<nlohmann::json> JsonLines(const std::string& text) {
    std::vector<nlohmann::json> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) out.push_back(nlohmann::json::parse(line));
    return out;
  }
  TempDir dir_;
  std::string db_;
};

TEST_F(CliTest, HelpVersionAndUsageErrors) {
  const auto help = RunCommand(testing::TimbreBinary() + " --help");
  EXPECT_EQ(help.exit_code, 0);
  for (const char* word : {"scan", "show", "stats", "analyzers", "--db"}) {
    EXPECT_NE(help.output.find(word), std::string::npos) << word;
  }
  const auto scan_help = RunCommand(testing::TimbreBinary() + " scan --help");
  EXPECT_NE(scan_help.output.find("--jobs"), std::string::npos);
  EXPECT_NE(scan_help.output.find("--json"), std::string::npos);
  EXPECT_NE(RunCommand(testing::TimbreBinary() + " --version").output.find("timbre "),
            std::string::npos);
  EXPECT_EQ(RunCommand(testing::TimbreBinary() + " 2>/dev/null").exit_code, 2);  // no command
  EXPECT_EQ(RunCommand(testing::TimbreBinary() + " frobnicate 2>/dev/null").exit_code, 2);
  EXPECT_EQ(Timbre("scan").exit_code, 2);  // no folder
  EXPECT_EQ(Timbre("scan --jobs 0 " + ShellQuote((dir_ / "lib").string())).exit_code, 2);
  const auto missing = Timbre("scan /no/such/folder", true);
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_NE(missing.output.find("does not exist"), std::string::npos) << missing.output;
}

TEST_F(CliTest, EvalScoresEachFigureOverTheTruthThatHasIt) {
  const auto write = [&](const char* name, const std::string& text) {
    std::ofstream(dir_ / name) << text;
    return ShellQuote((dir_ / name).string());
  };
  // a: tempo and key right; b: key truth only, read as its relative major; c: tempo truth
  // only, read at half tempo; d: no estimate at all.
  const auto truth = write("truth.csv",
                           "file,bpm,key\na.wav,120,C major\nb.wav,,A minor\nc.wav,90,\n"
                           "d.wav,100,D major\n");
  const auto estimates = write("est.csv",
                               "file,bpm,key\na.wav,121,C major\nb.wav,100,C major\n"
                               "c.wav,45,\n");
  const auto r = Timbre("eval " + truth + " --estimates " + estimates + " --json");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const auto j = nlohmann::json::parse(r.output);
  EXPECT_EQ(j["files"], 3);
  EXPECT_EQ(j["missing"], 1);
  EXPECT_DOUBLE_EQ(j["bpm_accuracy1"].get<double>(), 0.5);          // a of a and c
  EXPECT_DOUBLE_EQ(j["bpm_accuracy2"].get<double>(), 1.0);          // c counts at x1/2
  EXPECT_DOUBLE_EQ(j["mirex_key"].get<double>(), (1.0 + 0.3) / 2);  // a and b
  // Guards: met, missed, and a tempo guard on a truth without tempos fails.
  EXPECT_EQ(Timbre("eval " + truth + " --estimates " + estimates + " --min-key 0.6").exit_code, 0);
  EXPECT_EQ(
      Timbre("eval " + truth + " --estimates " + estimates + " --min-accuracy1 0.6").exit_code, 1);
  const auto keys_only = write("keys.csv", "file,key\na.wav,C major\nb.wav,A minor\n");
  const auto k = Timbre("eval " + keys_only + " --estimates " + estimates);
  EXPECT_EQ(k.exit_code, 0);
  EXPECT_NE(k.output.find(" - "), std::string::npos) << k.output;  // no tempo figures
  const auto kj = nlohmann::json::parse(
      Timbre("eval " + keys_only + " --estimates " + estimates + " --json").output);
  EXPECT_TRUE(kj["bpm_accuracy1"].is_null());
  EXPECT_EQ(
      Timbre("eval " + keys_only + " --estimates " + estimates + " --min-accuracy1 0.1").exit_code,
      1);
  // Bad input: no file column, a row with too many cells, a missing file.
  EXPECT_EQ(Timbre("eval " + write("bad.csv", "name,key\nx,C major\n")).exit_code, 2);
  EXPECT_EQ(Timbre("eval " + write("wide.csv", "file,key\nx,C major,extra\n")).exit_code, 2);
  EXPECT_EQ(Timbre("eval " + ShellQuote((dir_ / "none.csv").string())).exit_code, 2);
}

TEST_F(CliTest, ScanShowStatsEndToEnd) {
  MakeTone(dir_ / "lib" / "one.flac", 4, 1000, -23, 2, 48000,
           "-c:a flac -metadata title=One -metadata artist=Tester -metadata album=Demo");
  MakeTone(dir_ / "lib" / "two.mp3", 4, 500, -14, 2, 44100, "-c:a libmp3lame -metadata album=Demo");
  std::ofstream(dir_ / "lib" / "broken.ogg") << "nope";
  const auto scan = Timbre("scan --json --jobs 2 " + ShellQuote((dir_ / "lib").string()));
  ASSERT_EQ(scan.exit_code, 0) << scan.output;
  const auto lines = JsonLines(scan.output);
  ASSERT_EQ(lines.size(), 4u);  // three tracks and the summary
  const auto& summary = lines.back();
  EXPECT_EQ(summary["event"], "summary");
  EXPECT_EQ(summary["added"], 2);
  EXPECT_EQ(summary["failed"], 1);
  EXPECT_EQ(summary["albums_updated"], 1);

  const auto show = Timbre("show --json " + ShellQuote((dir_ / "lib" / "one.flac").string()));
  ASSERT_EQ(show.exit_code, 0);
  const auto track = nlohmann::json::parse(show.output);
  EXPECT_EQ(track["status"], "ok");
  EXPECT_EQ(track["tags"]["title"], "One");
  EXPECT_EQ(track["audio"]["sample_rate"], 48000);
  bool saw_loudness = false;
  for (const auto& a : track["analyses"]) {
    EXPECT_FALSE(a["params_hash"].get<std::string>().empty());
    EXPECT_FALSE(a["engine_version"].get<std::string>().empty());
    if (a["analyzer"] == "loudness") {
      saw_loudness = true;
      EXPECT_NEAR(a["values"]["integrated"]["value"].get<double>(), -23.0, 0.1);
      EXPECT_EQ(a["values"]["integrated"]["unit"], "LUFS");
    }
  }
  EXPECT_TRUE(saw_loudness);
  // The same track by id, in human form.
  const auto by_id = Timbre("show " + std::to_string(track["id"].get<int>()));
  EXPECT_EQ(by_id.exit_code, 0);
  EXPECT_NE(by_id.output.find("integrated"), std::string::npos);
  EXPECT_NE(by_id.output.find("LUFS"), std::string::npos);
  EXPECT_EQ(Timbre("show 99999").exit_code, 2);
  EXPECT_EQ(Timbre("show /not/in/the/store.flac").exit_code, 2);

  const auto stats = Timbre("stats --json");
  ASSERT_EQ(stats.exit_code, 0);
  const auto s = nlohmann::json::parse(stats.output);
  EXPECT_EQ(s["tracks"], 3);
  EXPECT_EQ(s["ok"], 2);
  EXPECT_EQ(s["failed"], 1);
  EXPECT_EQ(s["albums"], 1);
  EXPECT_NEAR(s["total_seconds"].get<double>(), 8.0, 0.1);
  EXPECT_EQ(s["failures_by_reason"].size(), 1u);
  EXPECT_NE(Timbre("stats").output.find("failures"), std::string::npos);
}

TEST_F(CliTest, AnalyzersDescribeThemselves) {
  const auto r = Timbre("analyzers --json");
  ASSERT_EQ(r.exit_code, 0);
  const auto all = nlohmann::json::parse(r.output);
  // The seven built-ins, then `notes`, absent without its model, saying how to install it.
  ASSERT_EQ(all.size(), 8u);
  EXPECT_EQ(all[7]["name"], "notes");
  EXPECT_EQ(all[7]["installed"], false);
  for (size_t i = 0; i < 7; ++i) {
    const auto& a = all[i];
    EXPECT_FALSE(a["outputs"].empty());
    EXPECT_GE(a["version"].get<int>(), 1);
  }
  // A file output says what kind of file it is.
  EXPECT_EQ(all[6]["name"], "waveform");
  EXPECT_EQ(all[6]["outputs"][1]["type"], "file");
  EXPECT_EQ(all[6]["outputs"][1]["media_type"], "application/vnd.audiowaveform.dat");
}

TEST_F(CliTest, DefaultStoreFollowsXdgAndTimbreDb) {
  MakeTone(dir_ / "lib" / "a.flac", 1, 440, -10, 2, 44100, "-c:a flac");
  const std::string lib = ShellQuote((dir_ / "lib").string());
  const auto xdg = RunCommand("XDG_DATA_HOME=" + ShellQuote((dir_ / "xdg").string()) + " " +
                              testing::TimbreBinary() + " scan -q " + lib);
  ASSERT_EQ(xdg.exit_code, 0);
  EXPECT_TRUE(std::filesystem::exists(dir_ / "xdg" / "timbre" / "timbre.db"));
  const auto env = RunCommand("TIMBRE_DB=" + ShellQuote((dir_ / "env.db").string()) + " " +
                              testing::TimbreBinary() + " scan -q " + lib);
  ASSERT_EQ(env.exit_code, 0);
  EXPECT_TRUE(std::filesystem::exists(dir_ / "env.db"));
}

TEST_F(CliTest, BadDatabaseIsAClearError) {
  std::ofstream(db_) << "plain text where a database should be, long enough to be read";
  const auto r = Timbre("stats", true);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.output.find("timbre:"), std::string::npos) << r.output;
  // And the file is left as it was.
  std::ifstream in(db_);
  std::string content((std::istreambuf_iterator<char>(in)), {});
  EXPECT_EQ(content.rfind("plain text", 0), 0u);
}

TEST_F(CliTest, QuietScanWithoutTerminalPrintsSummaryOnly) {
  MakeTone(dir_ / "lib" / "a.flac", 1, 440, -10, 2, 44100, "-c:a flac");
  const auto r = Timbre("scan " + ShellQuote((dir_ / "lib").string()), true);
  ASSERT_EQ(r.exit_code, 0);
  EXPECT_NE(r.output.find("1 added"), std::string::npos) << r.output;
  EXPECT_EQ(r.output.find('\r'), std::string::npos);  // no progress bar off a terminal
}

}  // namespace
}  // namespace timbre
