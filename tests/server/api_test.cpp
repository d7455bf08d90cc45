// The HTTP API in process, over real HTTP on loopback, with the engine on a FakeClock the
// tests move: every route and every status the API document lists (and no other), rate limits
// and caches on the clock, job progress as Server-Sent Events, HEAD and Range on an artifact,
// model uploads streamed to disk, and IPv4 beside IPv6.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <condition_variable>
#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <map>
#include <regex>
#include <set>
#include <thread>

#include "http_client.h"
#include "test_support.h"
#include "timbre/dsp/notes.h"
#include "timbre/models/registry.h"
#include "timbre/server/http.h"
#include "timbre/server/server.h"
#include "timbre/service/engine.h"
#include "timbre/service/library.h"
#include "timbre/service/library_scan.h"
#include "timbre/store/artifacts.h"

namespace timbre::server {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using Json = nlohmann::json;
using timbre::testing::Head;
using timbre::testing::Http;
using timbre::testing::MakeTone;
using timbre::testing::PostForm;
using timbre::testing::Reply;
using timbre::testing::TempDir;

struct Setting {
  std::string key;
  std::string value;
};

// An engine and its API on a free port, over a library of four scanned tones.
class ApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::create_directories(dir_ / "lib");
    for (int i = 0; i < 4; ++i) {
      MakeTone(dir_ / "lib" / ("t" + std::to_string(i) + ".flac"), 3.0, 220.0 * (i + 1),
               -3.0 - 4.0 * i, 2, 44100, "-c:a flac -metadata artist=A" + std::to_string(i % 2));
    }
  }

  void Start(const std::vector<Setting>& settings, bool scan = true) {
    service::EngineOptions options;
    options.role = service::EngineRole::kServer;
    options.clock = &clock_;
    Config& c = options.config;
    for (const Setting& s : std::vector<Setting>{{"store.db", (dir_ / "t.db").string()},
                                                 {"models.enabled", "false"},
                                                 {"server.port", "0"},
                                                 {"library.roots", Lib()}}) {
      ASSERT_TRUE(c.SetFromFlag(s.key, s.value).ok()) << s.key;
    }
    for (const Setting& s : settings) {
      ASSERT_TRUE(c.SetFromFlag(s.key, s.value).ok()) << s.key << "=" << s.value;
    }
    auto engine = service::Engine::Open(std::move(options));
    ASSERT_TRUE(engine.ok()) << engine.status().message();
    engine_ = std::move(engine).value();
    if (scan) {
      service::ScanOptions o;
      o.roots = {dir_ / "lib"};
      ASSERT_TRUE(service::ScanAndIndex(*engine_, o, nullptr).ok());
    }
    auto server = ApiServer::Start(*engine_);
    ASSERT_TRUE(server.ok()) << server.status().message();
    server_ = std::move(server).value();
  }

  void TearDown() override {
    if (server_) server_->Stop();
    if (engine_) engine_->StopJobWorkers(0ms);
  }

  std::string Url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(server_->port()) + path;
  }
  std::string Lib() const { return (dir_ / "lib").string(); }

  TempDir dir_;
  FakeClock clock_;
  std::unique_ptr<service::Engine> engine_;
  std::unique_ptr<ApiServer> server_;
};

// Every (route, status) count of a server's /metrics, and the undocumented ones.
struct Answers {
  std::map<std::string, std::set<int>> by_route;  // "GET /v1/tracks" → statuses
  std::vector<std::string> undocumented;
};

Answers ReadAnswers(const std::string& metrics) {
  Answers a;
  static const std::regex counted(
      R"re(timbre_http_requests_total\{method="([^"]+)",route="([^"]+)",status="(\d+)"\} (\d+))re");
  static const std::regex bad(R"re(timbre_http_undocumented_responses_total\{([^}]*)\} (\d+))re");
  for (std::sregex_iterator it(metrics.begin(), metrics.end(), counted), end; it != end; ++it) {
    a.by_route[std::string((*it)[1]) + " " + std::string((*it)[2])].insert(std::stoi((*it)[3]));
  }
  for (std::sregex_iterator it(metrics.begin(), metrics.end(), bad), end; it != end; ++it) {
    a.undocumented.push_back((*it)[1]);
  }
  return a;
}

Json OpenApiDocument() {
  std::ifstream in(timbre::testing::SourcePath("docs/openapi.json"));
  return Json::parse(in, nullptr, false);
}

TEST(ApiDocumentTest, RoutesAreTheDocumentsOperations) {
  const Json doc = OpenApiDocument();
  ASSERT_TRUE(doc.is_object());
  std::set<std::string> documented, served;
  for (const auto& [path, ops] : doc["paths"].items()) {
    for (const auto& [method, op] : ops.items()) {
      std::string m = method;
      for (auto& ch : m) ch = static_cast<char>(std::toupper(ch));
      documented.insert(m + " " + path);
      EXPECT_FALSE(op["responses"].empty()) << m << " " << path;
    }
  }
  for (const auto& r : Routes()) served.insert(r.method + " " + r.pattern);
  EXPECT_EQ(served, documented);
}

// The walk: each documented answer of each operation is brought about once, on two servers
// (the second with a broken model, for a degraded /health); then every (route, status) the
// servers counted must be exactly what the document lists, and none undocumented.
TEST_F(ApiTest, EveryDocumentedAnswerIsGivenAndNoOther) {
  // One request a second per client and a burst of one: with the clock still, the second
  // request in a row is refused, so each route's 429 is one request away.
  Start({{"auth.secret", "k"},
         {"server.rate_limit", "1"},
         {"server.rate_burst", "1"},
         {"server.max_body", "4096"},
         {"server.max_upload", "1048576"},
         {"models.dir", (dir_ / "models").string()}});
  fs::create_directories(dir_ / "models");
  const std::vector<std::string> key = {"X-Internal-Secret: k"};
  // The answer to a request with a fresh token.
  auto call = [&](const std::string& method, const std::string& path, const std::string& body = "",
                  std::vector<std::string> headers = {}) {
    clock_.Advance(1s);
    headers.push_back(key[0]);
    return Http(method, Url(path), body, headers);
  };
  // 401 without the key, then 429 after a call that used the token.
  auto guards = [&](const std::string& method, const std::string& path,
                    const std::string& body = "") {
    EXPECT_EQ(Http(method, Url(path), body).status, 401) << method << " " << path;
    call(method, path, body);
    EXPECT_EQ(Http(method, Url(path), body, key).status, 429) << method << " " << path;
  };
  auto expect = [&](long status, const Reply& r, const std::string& what) {
    EXPECT_EQ(r.status, status) << what << ": " << r.body;
  };

  // Service routes.
  expect(200, Http("GET", Url("/health")), "health");
  for (const char* p :
       {"/manifest", "/openapi.json", "/metrics", "/v1/capabilities", "/v1/models"}) {
    expect(200, call("GET", p), p);
    guards("GET", p);
  }

  // Tracks.
  expect(200, call("GET", "/v1/tracks?limit=2"), "tracks");
  expect(400, call("GET", "/v1/tracks?limit=0"), "tracks limit");
  guards("GET", "/v1/tracks");
  expect(200, call("GET", "/v1/tracks/1"), "track");
  expect(404, call("GET", "/v1/tracks/999"), "no track");
  guards("GET", "/v1/tracks/1");
  expect(200, call("GET", "/v1/tracks/1/similar?n=2"), "similar");
  expect(400, call("GET", "/v1/tracks/1/similar?n=0"), "similar n");
  expect(404, call("GET", "/v1/tracks/1/similar?space=none"), "similar space");
  guards("GET", "/v1/tracks/1/similar");
  expect(200, call("POST", "/v1/mix", R"({"seeds":[1,2],"n":2})"), "mix");
  expect(400, call("POST", "/v1/mix", R"({"seeds":"1"})"), "mix seeds");
  expect(404, call("POST", "/v1/mix", R"({"seeds":[999]})"), "mix unknown seed");
  expect(413, call("POST", "/v1/mix", std::string(8192, ' ')), "mix too large");
  guards("POST", "/v1/mix", R"({"seeds":[1]})");
  expect(200, call("GET", "/v1/path?from=1&to=4&steps=1"), "path");
  expect(400, call("GET", "/v1/path?from=1"), "path to");
  expect(404, call("GET", "/v1/path?from=1&to=999"), "path unknown end");
  guards("GET", "/v1/path?from=1&to=2");

  // Notes: track 1 gets note events as the notes analyzer would store them.
  {
    auto details = service::LoadTrack(*engine_, 1);
    ASSERT_TRUE(details.ok());
    store::TrackWrite w;
    w.track = details->track;
    w.partial = true;
    analysis::AnalysisRecord notes;
    notes.provenance = {"notes", 1, "", "p", "0.1.0", "whole stream", 0.0, "bp-1", "abc"};
    notes.output.texts["events"] = dsp::EncodeNotes({{10, 20, 60, 0.5, {}}});
    w.analyses = {notes};
    ASSERT_TRUE(engine_->store().CommitTrack(w).ok());
  }
  expect(200, call("GET", "/v1/tracks/1/notes"), "notes");
  expect(400, call("GET", "/v1/tracks/1/notes?format=xml"), "notes format");
  expect(404, call("GET", "/v1/tracks/2/notes"), "no notes");
  guards("GET", "/v1/tracks/1/notes");

  // An artifact: whole, a range, a range beyond the end, one that is not there.
  const std::string peaks = "/v1/tracks/1/artifacts/waveform/peaks";
  expect(200, call("GET", peaks), "artifact");
  expect(206, call("GET", peaks, "", {"Range: bytes=0-9"}), "artifact range");
  expect(416, call("GET", peaks, "", {"Range: bytes=99999999-"}), "artifact beyond");
  expect(404, call("GET", "/v1/tracks/1/artifacts/waveform/nothing"), "no artifact");
  guards("GET", peaks);

  // Jobs: no workers run, so jobs stay pending until cancelled; one is finished by hand.
  // The plugin contract first: it says busy once as many jobs wait as there are workers.
  const std::string file = R"({"file_path":")" + Lib() + "/t1.flac\"}";
  const auto plugin = call("POST", "/jobs", file, {"Idempotency-Key: p"});
  expect(202, plugin, "plugin submit");
  const std::string pid = std::to_string(plugin.json()["job_id"].get<int64_t>());
  expect(200, call("POST", "/jobs", file, {"Idempotency-Key: p"}), "plugin replay");
  expect(422, call("POST", "/jobs", R"({"track_id":2})", {"Idempotency-Key: p"}),
         "plugin mismatch");
  expect(400, call("POST", "/jobs", R"({"kind":"analyze"})"), "plugin without a file");
  expect(413, call("POST", "/jobs", std::string(8192, ' ')), "plugin too large");
  guards("POST", "/jobs", file);
  expect(200, call("GET", "/jobs/" + pid), "plugin job");
  expect(404, call("GET", "/jobs/999"), "no plugin job");
  guards("GET", "/jobs/" + pid);

  const std::string scan = R"({"kind":"scan","paths":[")" + Lib() + "\"]}";
  const auto created = call("POST", "/v1/jobs", scan, {"Idempotency-Key: a"});
  expect(201, created, "submit");
  const std::string id = std::to_string(created.json()["id"].get<int64_t>());
  expect(200, call("POST", "/v1/jobs", scan, {"Idempotency-Key: a"}), "replay");
  expect(422,
         call("POST", "/v1/jobs", R"({"kind":"scan","paths":[")" + Lib() + "/t0.flac\"]}",
              {"Idempotency-Key: a"}),
         "idempotency mismatch");
  expect(400, call("POST", "/v1/jobs", R"({"kind":"scan","paths":["/etc"]})"), "outside");
  expect(413, call("POST", "/v1/jobs", std::string(8192, ' ')), "submit too large");
  guards("POST", "/v1/jobs", scan);
  expect(200, call("GET", "/v1/jobs"), "jobs");
  expect(400, call("GET", "/v1/jobs?state=asleep"), "jobs state");
  guards("GET", "/v1/jobs");
  expect(200, call("GET", "/v1/jobs/" + id), "job");
  expect(404, call("GET", "/v1/jobs/999"), "no job");
  guards("GET", "/v1/jobs/" + id);

  // A finished job, for the conflicts: claimed and completed as a worker would.
  const store::JobLease lease{"test:1", clock_.UnixMs() + 7200'000};
  auto claimed = engine_->store().ClaimJob(clock_.UnixMs() + 3600'000, lease, {});
  ASSERT_TRUE(claimed.ok() && claimed->has_value());
  ASSERT_TRUE(*engine_->store().CompleteJob((*claimed)->id, lease.worker, "{}"));
  const std::string done = std::to_string((*claimed)->id);
  expect(409, call("DELETE", "/v1/jobs/" + done), "cancel finished");
  expect(409, call("DELETE", "/jobs/" + done), "plugin cancel finished");
  expect(200, call("GET", "/v1/jobs/" + done + "/events"), "events of a finished job");
  expect(404, call("GET", "/v1/jobs/999/events"), "no job's events");
  guards("GET", "/v1/jobs/" + done + "/events");
  // Cancelling the pending ones.
  auto pending = engine_->store().ListJobs(store::JobState::kPending, 100);
  ASSERT_TRUE(pending.ok());
  ASSERT_GE(pending->size(), 2u);
  expect(200, call("DELETE", "/v1/jobs/" + std::to_string((*pending)[0].id)), "cancel");
  expect(200, call("DELETE", "/jobs/" + std::to_string((*pending)[1].id)), "plugin cancel");
  expect(404, call("DELETE", "/v1/jobs/999"), "cancel nothing");
  expect(404, call("DELETE", "/jobs/999"), "plugin cancel nothing");
  guards("DELETE", "/v1/jobs/" + done);
  guards("DELETE", "/jobs/" + done);

  // Models: an upload, the same id with other bytes, one without its manifest, one too large.
  const std::string model_bytes = "not really a network, but bytes with a known sha256";
  auto manifest = [](const std::string& bytes) {
    return fmt::format(
        "id = \"up-1\"\nname = \"up\"\nversion = \"1\"\nframework = \"timbre\"\n"
        "kind = \"embedder\"\nfile = \"up-1.pt\"\nsha256 = \"{}\"\nlicense = \"MIT\"\n"
        "source = \"https://example.org\"\n[input]\nfrontend = \"logmel\"\nsample_rate = 16000\n"
        "frame_size = 512\nhop_size = 256\nmel_bands = 96\nlow_hz = 0\nhigh_hz = 8000\n"
        "log = \"log10_1p\"\nlog_scale = 10000\npatch_frames = 128\npatch_hop = 62\n"
        "layout = \"nfb\"\n[output]\ndim = 8\n",
        models::Sha256Hex(bytes));
  };
  auto upload = [&](const std::vector<testing::Part>& parts, bool with_key = true) {
    clock_.Advance(1s);
    return PostForm(Url("/v1/models"), parts, with_key ? key : std::vector<std::string>{});
  };
  expect(201, upload({{"model", model_bytes, "up-1.pt"}, {"manifest", manifest(model_bytes), ""}}),
         "upload");
  const std::string other = model_bytes + "!";
  expect(409, upload({{"model", other, "up-1.pt"}, {"manifest", manifest(other), "m.toml"}}),
         "same id, other model");
  expect(400, upload({{"model", model_bytes, "up-1.pt"}}), "upload without a manifest");
  expect(400, upload({{"model", other, "up-1.pt"}, {"manifest", manifest(model_bytes), ""}}),
         "checksum mismatch");
  expect(413, upload({{"model", std::string(2 << 20, 'x'), "big.pt"}}), "upload too large");
  expect(401, upload({{"model", model_bytes, "up-1.pt"}}, false), "upload without key");
  upload({{"model", model_bytes, "up-1.pt"}});
  expect(429, PostForm(Url("/v1/models"), {{"model", model_bytes, "up-1.pt"}}, key),
         "upload limited");
  EXPECT_TRUE(fs::exists(dir_ / "models" / "up-1.pt"));

  // A second server whose models folder holds a broken manifest: its deep health is degraded.
  TempDir second;
  fs::create_directories(second / "models");
  std::ofstream(second / "models" / "broken.toml") << "id = [not toml";
  service::EngineOptions options;
  options.role = service::EngineRole::kServer;
  options.clock = &clock_;
  ASSERT_TRUE(options.config.SetFromFlag("store.db", (second / "t.db").string()).ok());
  ASSERT_TRUE(options.config.SetFromFlag("models.dir", (second / "models").string()).ok());
  ASSERT_TRUE(options.config.SetFromFlag("server.port", "0").ok());
  auto degraded_engine = service::Engine::Open(std::move(options));
  ASSERT_TRUE(degraded_engine.ok());
  auto degraded = ApiServer::Start(**degraded_engine);
  ASSERT_TRUE(degraded.ok());
  const std::string b = "http://127.0.0.1:" + std::to_string((*degraded)->port());
  expect(503, Http("GET", b + "/health?deep=1"), "degraded health");
  expect(200, Http("GET", b + "/health"), "shallow health");

  // What the two servers answered, against the document.
  clock_.Advance(1s);
  Answers seen = ReadAnswers(Http("GET", Url("/metrics"), "", key).body);
  const Answers other_seen = ReadAnswers(Http("GET", b + "/metrics").body);
  for (const auto& [route, statuses] : other_seen.by_route) {
    seen.by_route[route].insert(statuses.begin(), statuses.end());
  }
  EXPECT_TRUE(seen.undocumented.empty()) << seen.undocumented.front();
  EXPECT_TRUE(other_seen.undocumented.empty()) << other_seen.undocumented.front();
  const Json doc = OpenApiDocument();
  for (const auto& route : Routes()) {
    std::string method = route.method;
    for (auto& ch : method) ch = static_cast<char>(std::tolower(ch));
    std::set<int> documented;
    for (const auto& [status, _] : doc["paths"][route.pattern][method]["responses"].items()) {
      documented.insert(std::stoi(status));
    }
    EXPECT_EQ(seen.by_route[route.method + " " + route.pattern], documented)
        << route.method << " " << route.pattern;
  }
  (*degraded)->Stop();
}

// Tokens come back at the rate asked, by the engine's clock: three at once, then one a second.
TEST_F(ApiTest, RateLimitRefillsOnTheServersClock) {
  Start({{"server.rate_limit", "1"}, {"server.rate_burst", "3"}});
  std::vector<long> statuses;
  for (int i = 0; i < 5; ++i) statuses.push_back(Http("GET", Url("/v1/tracks")).status);
  EXPECT_EQ(statuses, (std::vector<long>{200, 200, 200, 429, 429}));
  const auto limited = Http("GET", Url("/v1/tracks"));
  EXPECT_EQ(limited.Header("Retry-After"), "1");
  EXPECT_EQ(limited.json()["code"], "rate_limited");
  EXPECT_EQ(Http("GET", Url("/health")).status, 200);  // never limited
  clock_.Advance(999ms);
  EXPECT_EQ(Http("GET", Url("/v1/tracks")).status, 429);
  clock_.Advance(1ms);
  EXPECT_EQ(Http("GET", Url("/v1/tracks")).status, 200);
  EXPECT_EQ(Http("GET", Url("/v1/tracks")).status, 429);
  clock_.Advance(10s);  // refills up to the burst, not beyond
  for (int i = 0; i < 3; ++i) EXPECT_EQ(Http("GET", Url("/v1/tracks")).status, 200);
  EXPECT_EQ(Http("GET", Url("/v1/tracks")).status, 429);
}

// Playlists read summaries from a cache that looks at the store at most once a second of the
// engine's clock: a rescan that retitles the tracks shows once the clock has moved.
TEST_F(ApiTest, SimilarFollowsARescanOnTheServersClock) {
  Start({});
  auto titles = [&] {
    std::string all;
    const Json reply = Http("GET", Url("/v1/tracks/1/similar?n=3")).json();
    for (const auto& t : reply["tracks"]) {
      all += t["title"].is_string() ? t["title"].get<std::string>() + ";" : "-;";
    }
    return all;
  };
  const std::string before = titles();
  EXPECT_EQ(before, ";;;");  // untitled
  for (int i = 0; i < 4; ++i) {
    const fs::path f = dir_ / "lib" / ("t" + std::to_string(i) + ".flac");
    const fs::path tmp = dir_ / ("r" + std::to_string(i) + ".flac");
    ASSERT_EQ(
        testing::RunCommand("ffmpeg -v error -y -i " + testing::ShellQuote(f.string()) +
                            " -c copy -metadata title=Renamed " + testing::ShellQuote(tmp.string()))
            .exit_code,
        0);
    fs::rename(tmp, f);
  }
  service::ScanOptions o;
  o.roots = {dir_ / "lib"};
  ASSERT_TRUE(service::ScanAndIndex(*engine_, o, nullptr).ok());
  EXPECT_EQ(titles(), before);  // within the second: the cached summaries
  clock_.Advance(1s);
  EXPECT_EQ(titles(), "Renamed;Renamed;Renamed;");
}

// GET /v1/jobs/{id}/events over real HTTP: the job as it is, its progress as it happens, and
// `done` when it ends, after which the stream closes.
TEST_F(ApiTest, JobProgressStreamsAsServerSentEvents) {
  Start({});
  std::mutex mu;
  std::condition_variable cv;
  int step = 0;  // the job waits for the test between its two halves
  engine_->jobs().Register(
      "steps", [&](const store::JobRecord&, jobs::JobContext& context) -> Result<std::string> {
        context.Progress(1, 2, "first half");
        std::unique_lock lock(mu);
        cv.wait(lock, [&] { return step >= 1; });
        context.Progress(2, 2, "second half");
        return std::string("{\"halves\":2}");
      });
  ASSERT_TRUE(engine_->StartJobWorkers().ok());
  const auto submitted = Http("POST", Url("/v1/jobs"), R"({"kind":"steps"})");
  ASSERT_EQ(submitted.status, 201) << submitted.body;
  const std::string id = std::to_string(submitted.json()["id"].get<int64_t>());

  std::vector<std::pair<std::string, Json>> events;
  std::string buffer;
  const auto reply =
      testing::Stream(Url("/v1/jobs/" + id + "/events"), [&](const std::string& piece) {
        buffer += piece;
        size_t end;
        while ((end = buffer.find("\n\n")) != std::string::npos) {
          const std::string block = buffer.substr(0, end);
          buffer.erase(0, end + 2);
          std::string name, data;
          std::istringstream lines(block);
          for (std::string line; std::getline(lines, line);) {
            if (line.rfind("event: ", 0) == 0) name = line.substr(7);
            if (line.rfind("data: ", 0) == 0) data = line.substr(6);
          }
          if (name.empty()) continue;  // a comment
          events.emplace_back(name, Json::parse(data));
          const Json& progress = events.back().second["progress"];
          if (progress.is_object() && progress["message"] == "first half") {
            std::lock_guard lock(mu);
            step = 1;
            cv.notify_all();
          }
        }
        return true;
      });
  EXPECT_EQ(reply.status, 200);
  EXPECT_TRUE(reply.error.empty()) << reply.error;
  EXPECT_EQ(reply.Header("Content-Type"), "text/event-stream");
  // Changes that come faster than they are read are sent as the job is then: the first half
  // is seen while the job waits for it, the second may arrive with the end.
  ASSERT_GE(events.size(), 2u);
  for (size_t i = 0; i + 1 < events.size(); ++i) EXPECT_EQ(events[i].first, "progress");
  EXPECT_EQ(events.back().first, "done");
  EXPECT_EQ(events.back().second["state"], "completed");
  EXPECT_EQ(events.back().second["result"]["halves"], 2);
  bool saw_first = false;
  for (const auto& [name, job] : events) {
    if (name == "progress" && job["progress"].is_object()) {
      saw_first = saw_first || job["progress"]["message"] == "first half";
    }
  }
  EXPECT_TRUE(saw_first);
  EXPECT_EQ(events.back().second["progress"]["message"], "second half");
  // A finished job's stream is one event long.
  const auto again = Http("GET", Url("/v1/jobs/" + id + "/events"));
  EXPECT_EQ(again.status, 200);
  EXPECT_EQ(again.body.rfind("event: done\n", 0), 0u) << again.body;
}

// An artifact over HTTP: whole with its length and media type, HEAD with the same headers and
// no body, single ranges from the start, the middle and the end, and refusals.
TEST_F(ApiTest, ArtifactsAnswerHeadAndRange) {
  Start({});
  auto details = service::LoadTrack(*engine_, 1);
  ASSERT_TRUE(details.ok());
  ASSERT_EQ(details->artifacts.size(), 1u);
  const auto& art = details->artifacts[0];
  const std::string url = Url("/v1/tracks/1/artifacts/waveform/peaks");
  const auto whole = Http("GET", url);
  ASSERT_EQ(whole.status, 200) << whole.body;
  EXPECT_EQ(static_cast<int64_t>(whole.body.size()), art.size);
  EXPECT_EQ(models::Sha256Hex(whole.body), art.sha256);
  EXPECT_EQ(whole.Header("Content-Type"), "application/vnd.audiowaveform.dat");
  EXPECT_EQ(whole.Header("Accept-Ranges"), "bytes");
  EXPECT_FALSE(whole.Header("ETag").empty());

  const auto head = Head(url);
  EXPECT_EQ(head.status, 200);
  EXPECT_TRUE(head.body.empty());
  EXPECT_EQ(head.Header("Content-Length"), std::to_string(art.size));
  EXPECT_EQ(head.Header("Content-Type"), whole.Header("Content-Type"));

  const auto first = Http("GET", url, "", {"Range: bytes=0-19"});
  EXPECT_EQ(first.status, 206);
  EXPECT_EQ(first.body, whole.body.substr(0, 20));  // the .dat header
  EXPECT_EQ(first.Header("Content-Range"), "bytes 0-19/" + std::to_string(art.size));
  const auto middle = Http("GET", url, "", {"Range: bytes=20-29"});
  EXPECT_EQ(middle.status, 206);
  EXPECT_EQ(middle.body, whole.body.substr(20, 10));
  const auto tail = Http("GET", url, "", {"Range: bytes=-6"});
  EXPECT_EQ(tail.status, 206);
  EXPECT_EQ(tail.body, whole.body.substr(whole.body.size() - 6));
  const auto open_end = Http("GET", url, "", {"Range: bytes=500-"});
  EXPECT_EQ(open_end.body, whole.body.substr(500));
  const auto head_range = Head(url, {"Range: bytes=0-9"});
  EXPECT_EQ(head_range.status, 206);
  EXPECT_EQ(head_range.Header("Content-Length"), "10");
  EXPECT_TRUE(head_range.body.empty());

  const auto beyond = Http("GET", url, "", {"Range: bytes=99999-"});
  EXPECT_EQ(beyond.status, 416);
  EXPECT_EQ(beyond.Header("Content-Range"), "bytes */" + std::to_string(art.size));
  // Several ranges or another unit: the whole file, as RFC 9110 allows.
  EXPECT_EQ(Http("GET", url, "", {"Range: bytes=0-1,5-6"}).status, 200);
  EXPECT_EQ(Http("GET", url, "", {"Range: items=0-1"}).body, whole.body);
  EXPECT_EQ(Http("GET", Url("/v1/tracks/1/artifacts/waveform/../../etc")).status, 404);
  EXPECT_EQ(Http("GET", Url("/v1/tracks/77/artifacts/waveform/peaks")).status, 404);
  // The file lost from the store (a user's rm): a clear 404, not a crash.
  fs::remove(*store::ArtifactFiles(engine_->store().artifact_dir()).PathOf(art.sha256));
  const auto lost = Http("GET", url);
  EXPECT_EQ(lost.status, 404);
  EXPECT_EQ(lost.json()["code"], "artifact_missing");
}

TEST(RangeTest, ParsesWhatRfc9110Allows) {
  ByteRange r;
  EXPECT_EQ(ParseRange("", 100, &r), RangeAnswer::kWhole);
  EXPECT_EQ(ParseRange("bytes=0-9", 100, &r), RangeAnswer::kPartial);
  EXPECT_EQ(r.first, 0u);
  EXPECT_EQ(r.last, 9u);
  EXPECT_EQ(ParseRange("bytes=90-200", 100, &r), RangeAnswer::kPartial);
  EXPECT_EQ(r.last, 99u);  // clipped to the end
  EXPECT_EQ(ParseRange("bytes=-200", 100, &r), RangeAnswer::kPartial);
  EXPECT_EQ(r.first, 0u);
  EXPECT_EQ(ParseRange("bytes=100-", 100, &r), RangeAnswer::kUnsatisfiable);
  EXPECT_EQ(ParseRange("bytes=-0", 100, &r), RangeAnswer::kUnsatisfiable);
  EXPECT_EQ(ParseRange("bytes=0-0", 0, &r), RangeAnswer::kUnsatisfiable);
  EXPECT_EQ(ParseRange("bytes=9-3", 100, &r), RangeAnswer::kWhole);
  EXPECT_EQ(ParseRange("bytes=a-b", 100, &r), RangeAnswer::kWhole);
  EXPECT_EQ(ParseRange("bytes=1-2,4-5", 100, &r), RangeAnswer::kWhole);
  EXPECT_EQ(ParseRange("lines=1-2", 100, &r), RangeAnswer::kWhole);
  EXPECT_EQ(ParseRange("bytes=18446744073709551615-", 100, &r), RangeAnswer::kUnsatisfiable);
}

// One server, two addresses: IPv4 and IPv6 loopback, on the same port.
TEST_F(ApiTest, ServesIpv4AndIpv6) {
  Start({{"server.bind", "127.0.0.1,::1"}}, false);
  const auto urls = server_->urls();
  ASSERT_EQ(urls.size(), 2u);
  const std::string port = std::to_string(server_->port());
  EXPECT_EQ(urls[0], "http://127.0.0.1:" + port);
  EXPECT_EQ(urls[1], "http://[::1]:" + port);
  const auto v6 = Http("GET", "http://[::1]:" + port + "/health");
  EXPECT_EQ(v6.status, 200) << v6.error;
  EXPECT_EQ(Http("GET", "http://127.0.0.1:" + port + "/health").status, 200);
  // A name that is no address is refused at start.
  service::EngineOptions options;
  ASSERT_TRUE(options.config.SetFromFlag("store.db", (dir_ / "u.db").string()).ok());
  ASSERT_TRUE(options.config.SetFromFlag("server.bind", "not-an-address").ok());
  auto engine = service::Engine::Open(std::move(options));
  ASSERT_TRUE(engine.ok());
  auto refused = ApiServer::Start(**engine);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), StatusCode::kInvalidArgument);
}

// An upload far beyond the JSON body limit is streamed to disk and imported; the model's
// bytes arrive whole.
TEST_F(ApiTest, ModelUploadsStreamToDisk) {
  fs::create_directories(dir_ / "models");
  Start({{"models.dir", (dir_ / "models").string()},
         {"server.max_body", "1024"},
         {"server.max_upload", "67108864"}},
        false);
  std::string bytes(24 << 20, '\0');
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<char>((i * 2654435761u) >> 24);
  const std::string manifest = fmt::format(
      "id = \"big-1\"\nname = \"big\"\nversion = \"1\"\nframework = \"timbre\"\n"
      "kind = \"embedder\"\nfile = \"big-1.pt\"\nsha256 = \"{}\"\nlicense = \"MIT\"\n"
      "source = \"https://example.org\"\n[input]\nfrontend = \"logmel\"\nsample_rate = 16000\n"
      "frame_size = 512\nhop_size = 256\nmel_bands = 96\nlow_hz = 0\nhigh_hz = 8000\n"
      "log = \"log10_1p\"\nlog_scale = 10000\npatch_frames = 128\npatch_hop = 62\n"
      "layout = \"nfb\"\n[output]\ndim = 8\n",
      models::Sha256Hex(bytes));
  const auto reply = PostForm(Url("/v1/models"),
                              {{"model", bytes, "big-1.pt"}, {"manifest", manifest, "big.toml"}});
  ASSERT_EQ(reply.status, 201) << reply.body;
  EXPECT_EQ(reply.json()["id"], "big-1");
  EXPECT_EQ(reply.json()["size"], bytes.size());
  auto stored = models::Sha256File(dir_ / "models" / "big-1.pt");
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(*stored, models::Sha256Hex(bytes));
  const auto listed = Http("GET", Url("/v1/models")).json();
  ASSERT_EQ(listed["models"].size(), 1u);
  EXPECT_EQ(listed["models"][0]["id"], "big-1");
  // A JSON route keeps its small limit.
  EXPECT_EQ(Http("POST", Url("/v1/mix"), std::string(2048, ' ')).status, 413);
}

}  // namespace
}  // namespace timbre::server
