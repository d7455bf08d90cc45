// A scan killed with SIGKILL mid-way and run again ends with the same store as a scan that
// was never interrupted: nothing lost, nothing duplicated.
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <thread>

#include "test_support.h"

namespace timbre {
namespace {

using testing::RunCommand;
using testing::ShellQuote;

int CountTracks(const std::string& db) {
  sqlite3* raw = nullptr;
  if (sqlite3_open_v2(db.c_str(), &raw, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    sqlite3_close(raw);
    return 0;
  }
  sqlite3_busy_timeout(raw, 1000);
  int n = 0;
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(raw, "SELECT COUNT(*) FROM tracks", -1, &st, nullptr) == SQLITE_OK &&
      sqlite3_step(st) == SQLITE_ROW) {
    n = sqlite3_column_int(st, 0);
  }
  sqlite3_finalize(st);
  sqlite3_close(raw);
  return n;
}

// Everything a scan decides, without ids, timings and timestamps.
std::string Canonical(const std::string& db) {
  const auto r = RunCommand("sqlite3 -batch " + ShellQuote(db) + R"( "
SELECT t.path, t.status, t.content_hash, t.size, t.duration, t.error_reason, t.album_key,
  a.analyzer, a.analyzer_version, a.params_hash, a.notes,
  (SELECT group_concat(name || '=' || printf('%.9g', value), ';') FROM
     (SELECT name, value FROM descriptors d WHERE d.analysis_id = a.id ORDER BY name)),
  (SELECT group_concat(name || '=' || value, ';') FROM
     (SELECT name, value FROM text_values v WHERE v.analysis_id = a.id ORDER BY name))
FROM tracks t LEFT JOIN analyses a ON a.track_id = t.id ORDER BY t.path, a.analyzer;")");
  EXPECT_EQ(r.exit_code, 0);
  return r.output;
}

TEST(ResumeTest, KilledScanResumesToTheSameStore) {
  testing::TempDir dir;
  const auto lib = dir / "lib";
  std::filesystem::create_directories(lib);
  const int kFiles = 12;
  const char* formats[] = {"flac", "mp3", "ogg", "wav"};
  for (int i = 0; i < kFiles; ++i) {
    const std::string fmt = formats[i % 4];
    const std::string args = (fmt == "mp3"    ? "-c:a libmp3lame"
                              : fmt == "ogg"  ? "-c:a libvorbis"
                              : fmt == "flac" ? "-c:a flac"
                                              : "") +
                             std::string(" -metadata album=Resume -metadata album_artist=Tests");
    testing::MakeTone(lib / ("track" + std::to_string(i) + "." + fmt), 25, 200 + 50 * i, -8 - i, 2,
                      44100, args);
  }
  const std::string killed_db = (dir / "killed.db").string();
  const std::string clean_db = (dir / "clean.db").string();

  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    const std::string bin = testing::TimbreBinary();
    execl(bin.c_str(), bin.c_str(), "--db", killed_db.c_str(), "scan", "-q", "--jobs", "1",
          lib.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  // Kill it once a few tracks are committed, well before the end.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  int committed = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    committed = CountTracks(killed_db);
    if (committed >= 3) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_TRUE(WIFSIGNALED(status)) << "the scan finished before it could be killed";
  committed = CountTracks(killed_db);
  EXPECT_GE(committed, 3);
  EXPECT_LT(committed, kFiles);

  const auto resumed = RunCommand(testing::TimbreBinary() + " --db " + ShellQuote(killed_db) +
                                  " scan --json --jobs 2 " + ShellQuote(lib.string()));
  ASSERT_EQ(resumed.exit_code, 0) << resumed.output;
  // The summary is the last JSON line.
  const std::string& out = resumed.output;
  const size_t last = out.rfind('\n', out.size() >= 2 ? out.size() - 2 : 0);
  const auto summary = nlohmann::json::parse(out.substr(last == std::string::npos ? 0 : last + 1));
  ASSERT_EQ(summary["event"], "summary");
  EXPECT_TRUE(summary["index"]["ok"].get<bool>());
  // Every track committed before the kill is kept, not analysed again.
  EXPECT_GE(summary["unchanged"].get<int>(), committed);
  EXPECT_EQ(summary["added"].get<int>() + summary["unchanged"].get<int>(), kFiles);

  const auto clean = RunCommand(testing::TimbreBinary() + " --db " + ShellQuote(clean_db) +
                                " scan -q --jobs 2 " + ShellQuote(lib.string()));
  ASSERT_EQ(clean.exit_code, 0);
  const std::string expected = Canonical(clean_db);
  EXPECT_EQ(CountTracks(killed_db), kFiles);
  EXPECT_FALSE(expected.empty());
  EXPECT_EQ(Canonical(killed_db), expected);
}

}  // namespace
}  // namespace timbre
