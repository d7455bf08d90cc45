// timbre serve, tested over real HTTP on loopback against the real server process: every
// route, auth on and off, malformed and oversized requests, rate limits, idempotency, and
// a server killed with SIGKILL in the middle of a job.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <fstream>
#include <thread>

#include "http_client.h"
#include "test_support.h"

namespace timbre {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;
using testing::Http;
using testing::RunCommand;
using testing::ShellQuote;
using testing::TempDir;
using namespace std::chrono_literals;

// A `timbre serve` child process on a free port.
class Server {
 public:
  Server(const fs::path& db, const std::vector<std::string>& args,
         const std::vector<std::string>& env = {}) {
    int out[2];
    EXPECT_EQ(pipe(out), 0);
    pid_ = fork();
    if (pid_ == 0) {
      dup2(out[1], STDOUT_FILENO);
      close(out[0]);
      for (const auto& e : env) putenv(const_cast<char*>(e.c_str()));
      std::vector<std::string> argv = {
          testing::TimbreBinary(), "--db", db.string(), "serve", "--port", "0"};
      argv.insert(argv.end(), args.begin(), args.end());
      std::vector<char*> raw;
      for (auto& a : argv) raw.push_back(a.data());
      raw.push_back(nullptr);
      execv(raw[0], raw.data());
      _exit(127);
    }
    close(out[1]);
    stdout_ = fdopen(out[0], "r");
    char line[512] = {0};
    if (fgets(line, sizeof(line), stdout_) != nullptr) {
      const std::string text = line;
      const auto colon = text.rfind(':', text.find(" (store"));
      port_ = std::atoi(text.c_str() + colon + 1);
    }
    EXPECT_GT(port_, 0) << "no port in: " << line;
  }
  ~Server() {
    if (pid_ > 0) Kill(SIGKILL);
    if (stdout_ != nullptr) fclose(stdout_);
  }
  std::string Url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  // Sends the signal and returns the exit status.
  int Kill(int signal) {
    kill(pid_, signal);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
    return status;
  }

 private:
  pid_t pid_ = -1;
  FILE* stdout_ = nullptr;
  int port_ = 0;
};

// Polls a job until it leaves pending/processing.
Json WaitJob(const Server& s, int64_t id, const std::vector<std::string>& headers = {}) {
  for (int i = 0; i < 600; ++i) {
    const auto j = Http("GET", s.Url("/v1/jobs/" + std::to_string(id)), "", headers).json();
    if (j.is_object() && j["state"] != "pending" && j["state"] != "processing") return j;
    std::this_thread::sleep_for(50ms);
  }
  ADD_FAILURE() << "job " << id << " did not finish";
  return {};
}

class ServeTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    fs::create_directories(*dir_ / "lib");
    for (int i = 0; i < 4; ++i) {
      testing::MakeTone(*dir_ / "lib" / ("t" + std::to_string(i) + ".flac"), 4.0, 220.0 * (i + 1),
                        -6, 2, 44100, "-c:a flac -metadata artist=A" + std::to_string(i % 2));
    }
    const auto scan =
        RunCommand(testing::TimbreBinary() + " --db " + ShellQuote((*dir_ / "t.db").string()) +
                   " scan -q " + ShellQuote((*dir_ / "lib").string()));
    ASSERT_EQ(scan.exit_code, 0);
  }
  static void TearDownTestSuite() { delete dir_; }
  static fs::path Db() { return *dir_ / "t.db"; }
  static std::string Lib() { return (*dir_ / "lib").string(); }
  static TempDir* dir_;
};
TempDir* ServeTest::dir_ = nullptr;

TEST_F(ServeTest, ServesTheServiceRoutes) {
  Server s(Db(), {"--library", Lib()});
  auto health = Http("GET", s.Url("/health"));
  EXPECT_EQ(health.status, 200);
  EXPECT_EQ(health.json()["status"], "ok");
  EXPECT_TRUE(health.json().contains("active_jobs"));
  EXPECT_TRUE(health.json().contains("model_cached"));
  auto deep = Http("GET", s.Url("/health?deep=1")).json();
  EXPECT_EQ(deep["checks"]["store"]["ok"], true);
  EXPECT_EQ(deep["checks"]["index"]["vectors"], 4);

  const auto manifest = Http("GET", s.Url("/manifest")).json();
  for (const char* field : {"id", "name", "version", "capability", "description", "model",
                            "requirements", "analyzers", "job_kinds"}) {
    EXPECT_TRUE(manifest.contains(field)) << field;
  }
  EXPECT_GE(manifest["analyzers"].size(), 6u);
  const auto openapi = Http("GET", s.Url("/openapi.json")).json();
  EXPECT_EQ(openapi["openapi"], "3.0.3");
  EXPECT_TRUE(openapi["paths"].contains("/v1/tracks/{id}/similar"));
  const auto caps = Http("GET", s.Url("/v1/capabilities")).json();
  EXPECT_EQ(caps["job_kinds"], Json({"analyze", "scan", "write-tags"}));

  EXPECT_EQ(Http("GET", s.Url("/v1/nothing")).status, 404);
  EXPECT_EQ(Http("GET", s.Url("/v1/nothing")).json()["code"], "no_route");
  const auto wrong_method = Http("PUT", s.Url("/v1/tracks"));
  EXPECT_EQ(wrong_method.status, 405);
  EXPECT_NE(wrong_method.headers.find("Allow: GET"), std::string::npos);

  const auto metrics = Http("GET", s.Url("/metrics"));
  EXPECT_EQ(metrics.status, 200);
  EXPECT_NE(metrics.body.find("timbre_http_requests_total"), std::string::npos);
  // Counted by route and status: /health twice, /v1/nothing twice (unmatched), one 405.
  for (const char* line :
       {"timbre_http_requests_total{method=\"GET\",route=\"/health\",status=\"200\"} 2\n",
        "timbre_http_requests_total{method=\"*\",route=\"unmatched\",status=\"404\"} 2\n",
        "timbre_http_requests_total{method=\"*\",route=\"unmatched\",status=\"405\"} 1\n",
        "timbre_http_request_seconds_count{route=\"/health\"} 2\n",
        "timbre_http_request_seconds_count{route=\"/v1/capabilities\"} 1\n"}) {
    EXPECT_NE(metrics.body.find(line), std::string::npos) << line << metrics.body;
  }
  EXPECT_NE(metrics.body.find("timbre_jobs{state=\"pending\"}"), std::string::npos);
  EXPECT_NE(metrics.body.find("timbre_jobs_completed_total 0"), std::string::npos);
}

TEST_F(ServeTest, ServesTracksAndPlaylists) {
  Server s(Db(), {});
  auto page = Http("GET", s.Url("/v1/tracks?limit=3&offset=1")).json();
  EXPECT_EQ(page["total"], 4);
  ASSERT_EQ(page["tracks"].size(), 3u);
  EXPECT_EQ(page["tracks"][0]["id"], 2);
  auto filtered = Http("GET", s.Url("/v1/tracks?where=artist%20%3D%20A1")).json();
  EXPECT_EQ(filtered["total"], 2);
  EXPECT_EQ(Http("GET", s.Url("/v1/tracks?where=bpm%20%3E%3E%201")).status, 400);
  EXPECT_EQ(Http("GET", s.Url("/v1/tracks?limit=0")).status, 400);
  EXPECT_EQ(Http("GET", s.Url("/v1/tracks?limit=abc")).status, 400);

  const auto track = Http("GET", s.Url("/v1/tracks/1")).json();
  EXPECT_EQ(track["id"], 1);
  EXPECT_TRUE(track["analyses"].is_array());
  EXPECT_EQ(Http("GET", s.Url("/v1/tracks/999")).status, 404);
  EXPECT_EQ(Http("GET", s.Url("/v1/tracks/x")).status, 404);

  const auto similar = Http("GET", s.Url("/v1/tracks/1/similar?n=2")).json();
  ASSERT_EQ(similar["tracks"].size(), 2u);
  EXPECT_NE(similar["tracks"][0]["id"], 1);
  // Each entry is the track's summary, as /v1/tracks lists it, with its distance and seed.
  const auto listed = Http("GET", s.Url("/v1/tracks")).json();
  for (const auto& t : similar["tracks"]) {
    EXPECT_TRUE(t["distance"].is_number_float()) << t.dump();
    EXPECT_EQ(t["seed"], 1);
    Json summary = t;
    summary.erase("distance");
    summary.erase("seed");
    bool found = false;
    for (const auto& l : listed["tracks"]) found = found || l == summary;
    EXPECT_TRUE(found) << t.dump() << " is not among " << listed.dump();
  }
  // Scan threads commit in any order, so track 1 may be by either artist.
  const std::string seed_artist = track["tags"]["artist"];
  const auto other_artist =
      Http("GET", s.Url("/v1/tracks/1/similar?n=5&exclude_same_artist=1")).json();
  ASSERT_EQ(other_artist["tracks"].size(), 2u);
  for (const auto& t : other_artist["tracks"]) EXPECT_NE(t["artist"], seed_artist);
  EXPECT_EQ(Http("GET", s.Url("/v1/tracks/1/similar?n=100000")).status, 400);
  EXPECT_EQ(Http("GET", s.Url("/v1/tracks/1/similar?space=nope")).status, 404);

  const auto mix = Http("POST", s.Url("/v1/mix"), R"({"seeds":[1,2],"n":2})");
  EXPECT_EQ(mix.status, 200) << mix.body;
  EXPECT_EQ(mix.json()["tracks"].size(), 2u);
  EXPECT_EQ(Http("POST", s.Url("/v1/mix"), R"({"seeds":"1"})").status, 400);
  EXPECT_EQ(Http("POST", s.Url("/v1/mix"), R"({"seeds":[1],"n":"2"})").status, 400);
  EXPECT_EQ(Http("POST", s.Url("/v1/mix"), "{not json").json()["message"],
            "the body is not valid JSON");
  EXPECT_EQ(Http("POST", s.Url("/v1/mix"), "[1,2]").status, 400);
  const auto path = Http("GET", s.Url("/v1/path?from=1&to=4&steps=2")).json();
  ASSERT_EQ(path["tracks"].size(), 4u);
  EXPECT_EQ(path["tracks"][0]["id"], 1);
  EXPECT_EQ(path["tracks"][3]["id"], 4);
  EXPECT_EQ(Http("GET", s.Url("/v1/path?from=1")).status, 400);

  // A body over the limit never reaches a handler.
  EXPECT_EQ(Http("POST", s.Url("/v1/mix"), std::string(2 << 20, ' ')).status, 413);
  // Headers live in each connection's 16 KiB pool: 8 KiB of them are served, 20 KiB get 431,
  // and the server goes on.
  const std::string padding = "X-Padding: ";
  EXPECT_EQ(Http("GET", s.Url("/v1/tracks/1"), "", {padding + std::string(8 << 10, 'a')}).status,
            200);
  EXPECT_EQ(Http("GET", s.Url("/v1/tracks/1"), "", {padding + std::string(20 << 10, 'a')}).status,
            431);
  EXPECT_EQ(Http("GET", s.Url("/v1/tracks/1")).status, 200);
}

TEST_F(ServeTest, QueuesJobsWithIdempotencyAndConfinedPaths) {
  Server s(Db(), {"--library", Lib()});
  const std::string body = R"({"kind":"scan","paths":[")" + Lib() + "\"]}";
  const auto created = Http("POST", s.Url("/v1/jobs"), body, {"Idempotency-Key: k-1"});
  ASSERT_EQ(created.status, 201) << created.body;
  const int64_t id = created.json()["id"];
  const auto replay = Http("POST", s.Url("/v1/jobs"), body, {"Idempotency-Key: k-1"});
  EXPECT_EQ(replay.status, 200);
  EXPECT_EQ(replay.json()["id"], id);
  const auto other =
      Http("POST", s.Url("/v1/jobs"), R"({"kind":"scan","paths":[")" + Lib() + "/t0.flac\"]}",
           {"Idempotency-Key: k-1"});
  EXPECT_EQ(other.status, 422);
  const auto done = WaitJob(s, id);
  EXPECT_EQ(done["state"], "completed") << done.dump();
  EXPECT_EQ(done["result"]["files"], 4);
  EXPECT_EQ(done["progress"]["percent"], 100.0);

  EXPECT_EQ(Http("POST", s.Url("/v1/jobs"), R"({"kind":"dance"})").json()["code"], "unknown_kind");
  EXPECT_EQ(Http("POST", s.Url("/v1/jobs"), R"({"paths":[]})").status, 400);
  EXPECT_EQ(Http("POST", s.Url("/v1/jobs"), R"({"kind":"scan","paths":["/etc"]})").json()["code"],
            "outside_library");
  EXPECT_EQ(
      Http("POST", s.Url("/v1/jobs"), R"({"kind":"scan","paths":[")" + Lib() + "/../../..\"]}")
          .json()["code"],
      "outside_library");
  EXPECT_EQ(
      Http("POST", s.Url("/v1/jobs"), R"({"kind":"scan","priority":"high","paths":[]})").status,
      400);
  EXPECT_EQ(Http("DELETE", s.Url("/v1/jobs/" + std::to_string(id))).status, 409);
  EXPECT_EQ(Http("DELETE", s.Url("/v1/jobs/424242")).status, 404);
  const auto completed = Http("GET", s.Url("/v1/jobs?state=completed")).json();
  EXPECT_GE(completed["jobs"].size(), 1u);
  EXPECT_EQ(Http("GET", s.Url("/v1/jobs?state=sleeping")).status, 400);

  // The plugin contract: a file in the library, progress as a fraction.
  const auto plugin =
      Http("POST", s.Url("/jobs"), R"({"file_path":")" + Lib() + R"(/t1.flac","priority":0})");
  ASSERT_EQ(plugin.status, 202) << plugin.body;
  const int64_t pid = plugin.json()["job_id"];
  WaitJob(s, pid);
  const auto pj = Http("GET", s.Url("/jobs/" + std::to_string(pid))).json();
  EXPECT_EQ(pj["status"], "completed");
  EXPECT_EQ(pj["progress"], 1.0);
  EXPECT_EQ(Http("POST", s.Url("/jobs"), R"({"kind":"analyze"})").status, 400);

  // The CLI reads the same queue.
  const auto cli = RunCommand(testing::TimbreBinary() + " --db " + ShellQuote(Db().string()) +
                              " jobs show " + std::to_string(id) + " --json");
  ASSERT_EQ(cli.exit_code, 0);
  EXPECT_EQ(Json::parse(cli.output)["state"], "completed");
}

TEST_F(ServeTest, SecretGuardsEverythingButHealth) {
  Server s(Db(), {}, {"INTERNAL_API_SECRET=s3cret-value"});
  EXPECT_EQ(Http("GET", s.Url("/health")).status, 200);
  const auto denied = Http("GET", s.Url("/v1/tracks"));
  EXPECT_EQ(denied.status, 401);
  EXPECT_EQ(denied.json()["code"], "unauthorized");
  EXPECT_EQ(Http("GET", s.Url("/manifest"), "", {"X-Internal-Secret: wrong"}).status, 401);
  EXPECT_EQ(Http("GET", s.Url("/v1/tracks"), "", {"X-Internal-Secret: s3cret-value"}).status, 200);
  EXPECT_EQ(Http("GET", s.Url("/v1/tracks"), "", {"Authorization: Bearer s3cret-value"}).status,
            200);
  EXPECT_EQ(Http("GET", s.Url("/v1/tracks"), "", {"Authorization: Basic s3cret-value"}).status,
            401);
}

// One token every 1000 s and a burst of three: whatever the machine's speed, the first three
// requests pass and the other seven wait. (The refill itself is tested on a fake clock in
// tests/server.)
TEST_F(ServeTest, RateLimitAnswers429WithRetryAfter) {
  Server s(Db(), {"--rate-limit", "0.001", "--rate-burst", "3"});
  int limited = 0;
  std::string retry_after;
  for (int i = 0; i < 10; ++i) {
    const auto r = Http("GET", s.Url("/v1/tracks"));
    if (r.status == 429) {
      ++limited;
      retry_after = r.headers;
    }
  }
  EXPECT_EQ(limited, 7);
  EXPECT_NE(retry_after.find("Retry-After: "), std::string::npos) << retry_after;
  EXPECT_EQ(Http("GET", s.Url("/health")).status, 200);  // never limited
}

// A server killed in the middle of a job loses nothing: after a restart the interrupted job
// runs again, and every job completes exactly once.
TEST_F(ServeTest, SurvivesSigkillInTheMiddleOfAJob) {
  TempDir dir;
  fs::create_directories(dir / "lib");
  for (int i = 0; i < 10; ++i) {
    testing::MakeTone(dir / "lib" / ("long" + std::to_string(i) + ".flac"), 30.0, 300.0 + 40 * i,
                      -6, 2, 44100, "-c:a flac");
  }
  const auto db = dir / "k.db";
  const std::string lib = (dir / "lib").string();
  std::vector<int64_t> ids;
  {
    Server s(db, {"--library", lib, "--workers", "1", "--scan-threads", "1"});
    ids.push_back(Http("POST", s.Url("/v1/jobs"), R"({"kind":"scan","paths":[")" + lib + "\"]}")
                      .json()["id"]);
    for (int i = 0; i < 3; ++i) {
      ids.push_back(Http("POST", s.Url("/v1/jobs"),
                         R"({"kind":"analyze","file_path":")" + lib + "/long" + std::to_string(i) +
                             ".flac\"}")
                        .json()["id"]);
    }
    // Kill once the scan has started and finished some files, but not all.
    bool started = false;
    for (int i = 0; i < 400 && !started; ++i) {
      const auto j = Http("GET", s.Url("/v1/jobs/" + std::to_string(ids[0]))).json();
      started = j["state"] == "processing" && j["progress"].is_object() &&
                j["progress"]["current"].get<int>() >= 1;
      if (!started) std::this_thread::sleep_for(20ms);
    }
    ASSERT_TRUE(started);
    s.Kill(SIGKILL);
  }
  Server again(db, {"--library", lib, "--workers", "1"});
  for (int64_t id : ids) {
    const auto j = WaitJob(again, id);
    EXPECT_EQ(j["state"], "completed") << j.dump();
  }
  const auto scan = Http("GET", again.Url("/v1/jobs/" + std::to_string(ids[0]))).json();
  EXPECT_EQ(scan["attempts"], 2);
  ASSERT_EQ(scan["attempt_log"].size(), 2u);
  EXPECT_NE(scan["attempt_log"][0]["error"].get<std::string>().find("interrupted"),
            std::string::npos);
  // The files committed before the kill were kept: the second attempt did not add them again.
  EXPECT_LT(scan["result"]["added"].get<int>(), 10);
  EXPECT_EQ(Http("GET", again.Url("/v1/tracks")).json()["total"], 10);
  const auto all = Http("GET", again.Url("/v1/jobs")).json()["jobs"];
  EXPECT_EQ(all.size(), ids.size());  // none duplicated
  EXPECT_EQ(again.Kill(SIGTERM), 0);  // and a clean stop exits 0
}

}  // namespace
}  // namespace timbre

namespace timbre {
namespace {

TEST_F(ServeTest, ManifestAndHealthNameTheModels) {
  TempDir own;
  fs::copy_file(Db(), own / "t.db");  // the scan job below must not change the shared store
  Server s(own / "t.db", {"--library", Lib(), "--models", testing::BasicPitchModels().string()});
  const auto manifest = Http("GET", s.Url("/manifest")).json();
  ASSERT_EQ(manifest["models"].size(), 1u) << manifest.dump();
  EXPECT_EQ(manifest["models"][0]["id"], "basic-pitch");
  EXPECT_EQ(manifest["models"][0]["kind"], "transcriber");
  EXPECT_EQ(manifest["models"][0]["state"], "ok");
  bool notes = false;
  for (const auto& a : manifest["analyzers"]) {
    if (a["name"] != "notes") continue;
    notes = true;
    EXPECT_EQ(a["models"][0]["id"], "basic-pitch");
  }
  EXPECT_TRUE(notes) << manifest["analyzers"].dump();
  auto deep = Http("GET", s.Url("/health?deep=1")).json();
  EXPECT_EQ(deep["checks"]["models"]["ok"], true);
  EXPECT_EQ(deep["checks"]["models"]["usable"], 1);
  EXPECT_EQ(deep["model_cached"], false);  // models load on first use

  const auto created =
      Http("POST", s.Url("/v1/jobs"), R"({"kind":"scan","paths":[")" + Lib() + "/t0.flac\"]}");
  ASSERT_EQ(created.status, 201) << created.body;
  EXPECT_EQ(WaitJob(s, created.json()["id"])["state"], "completed");
  auto after = Http("GET", s.Url("/health")).json();
  EXPECT_EQ(after["model_cached"], true);
  EXPECT_EQ(after["models_loaded"], 1);

  // The notes of the rescanned track (a 220 Hz tone: A3), as JSON and as MIDI; the others were
  // scanned without the model.
  int64_t tone = 0, other = 0;
  const Json listed = Http("GET", s.Url("/v1/tracks?limit=10")).json();
  for (const auto& t : listed["tracks"]) {
    (t["path"].get<std::string>().find("/t0.flac") != std::string::npos ? tone : other) = t["id"];
  }
  ASSERT_GT(tone, 0);
  const std::string base = "/v1/tracks/" + std::to_string(tone) + "/notes";
  const auto reply = Http("GET", s.Url(base));
  ASSERT_EQ(reply.status, 200) << reply.body;
  const Json j = reply.json();
  ASSERT_FALSE(j["notes"].empty()) << reply.body;
  EXPECT_EQ(j["notes"][0]["pitch"], 57);
  EXPECT_EQ(j["model_ids"], "basic-pitch");
  const auto midi = Http("GET", s.Url(base + "?format=midi"));
  EXPECT_EQ(midi.status, 200);
  EXPECT_EQ(midi.body.substr(0, 4), "MThd");
  EXPECT_NE(midi.headers.find("audio/midi"), std::string::npos) << midi.headers;
  EXPECT_EQ(Http("GET", s.Url(base + "?format=xml")).status, 400);
  const auto none = Http("GET", s.Url("/v1/tracks/" + std::to_string(other) + "/notes"));
  EXPECT_EQ(none.status, 404);
  EXPECT_EQ(none.json()["code"], "no_notes");
  EXPECT_NE(none.json()["message"].get<std::string>().find("scan again"), std::string::npos);
  EXPECT_EQ(Http("GET", s.Url("/v1/tracks/999/notes")).json()["code"], "not_found");
  EXPECT_TRUE(
      Http("GET", s.Url("/openapi.json")).json()["paths"].contains("/v1/tracks/{id}/notes"));
}

TEST_F(ServeTest, HealthIsDegradedByABrokenModel) {
  TempDir models;
  std::ofstream(models / "bad.toml") << "id = \"bad\"\n";
  Server s(Db(), {"--models", models.path().string()});
  auto deep = Http("GET", s.Url("/health?deep=1"));
  EXPECT_EQ(deep.status, 503);
  EXPECT_EQ(deep.json()["checks"]["models"]["ok"], false);
  EXPECT_EQ(deep.json()["checks"]["models"]["problems"][0]["state"], "bad_manifest");
  EXPECT_EQ(Http("GET", s.Url("/health")).status, 200);  // the shallow check stays up
}

}  // namespace
}  // namespace timbre
