// The engine and its use cases on a real store and real audio: job kinds checked once before
// a job is queued, the built-in jobs run by the workers, the index cache opening off the
// caller's thread, caches following the store on the engine's (fake) clock, and job events.
#include "timbre/service/engine.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <condition_variable>
#include <thread>

#include "test_support.h"
#include "timbre/index/timbre_v1.h"
#include "timbre/service/index_cache.h"
#include "timbre/service/jobs.h"
#include "timbre/service/library.h"
#include "timbre/service/library_scan.h"
#include "timbre/service/maintenance.h"
#include "timbre/service/similarity.h"

namespace timbre::service {
namespace {

using namespace std::chrono_literals;
using timbre::testing::MakeTone;
using timbre::testing::TempDir;

struct Setting {
  std::string key;
  std::string value;
};

std::unique_ptr<Engine> MakeEngine(const TempDir& dir, EngineRole role, const Clock& clock,
                                   const std::vector<Setting>& settings = {}) {
  EngineOptions options;
  EXPECT_TRUE(options.config.SetFromFlag("store.db", (dir / "t.db").string()).ok());
  EXPECT_TRUE(options.config.SetFromFlag("models.enabled", "false").ok());
  for (const auto& s : settings) EXPECT_TRUE(options.config.SetFromFlag(s.key, s.value).ok());
  options.role = role;
  options.clock = &clock;
  auto engine = Engine::Open(std::move(options));
  EXPECT_TRUE(engine.ok()) << engine.status().message();
  return engine.ok() ? std::move(engine).value() : nullptr;
}

void MakeLibrary(const TempDir& dir, int tracks) {
  std::filesystem::create_directories(dir / "lib");
  for (int i = 0; i < tracks; ++i) {
    MakeTone(dir / "lib" / ("t" + std::to_string(i) + ".flac"), 3.0, 220.0 * (i + 1), -6, 2, 44100,
             "-c:a flac -metadata title=T" + std::to_string(i));
  }
}

// Waits (in real time, for a worker thread) until the job has finished.
store::JobRecord WaitDone(Engine& engine, int64_t id) {
  for (int i = 0; i < 4000; ++i) {
    auto job = GetJob(engine, id);
    if (job.ok() && job->state != store::JobState::kPending &&
        job->state != store::JobState::kProcessing) {
      return *job;
    }
    std::this_thread::sleep_for(5ms);
  }
  ADD_FAILURE() << "job " << id << " did not finish";
  return {};
}

TEST(EngineTest, BuiltinScanJobScansRealAudio) {
  TempDir dir;
  MakeLibrary(dir, 1);
  // One worker: the analyze job runs after the scan, and finds the file unchanged.
  auto engine = MakeEngine(dir, EngineRole::kServer, SystemClock(),
                           {{"library.roots", (dir / "lib").string()}, {"jobs.workers", "1"}});
  ASSERT_NE(engine, nullptr);
  jobs::JobRunner& runner = engine->jobs();
  EXPECT_TRUE(runner.Handles("scan") && runner.Handles("analyze") && runner.Handles("write-tags"));
  auto submit = [&](const std::string& kind, const std::string& payload) {
    SubmitJobRequest r;
    r.kind = kind;
    r.payload = payload;
    auto s = SubmitJob(*engine, r);
    EXPECT_TRUE(s.ok()) << s.status().message();
    return s.ok() ? s->job.id : 0;
  };
  const int64_t scan = submit("scan", R"({"paths":[")" + (dir / "lib").string() + "\"]}");
  const int64_t analyze =
      submit("analyze", R"({"file_path":")" + (dir / "lib" / "t0.flac").string() + "\"}");
  ASSERT_TRUE(engine->StartJobWorkers().ok());
  const auto s = WaitDone(*engine, scan);
  ASSERT_EQ(s.state, store::JobState::kCompleted) << s.error;
  const auto result = nlohmann::json::parse(s.result);
  EXPECT_EQ(result["files"], 1);
  EXPECT_EQ(result["added"], 1);
  EXPECT_EQ(result["index"]["vectors"], 1);
  EXPECT_FALSE(s.progress.empty());
  const auto a = WaitDone(*engine, analyze);
  ASSERT_EQ(a.state, store::JobState::kCompleted) << a.error;
  EXPECT_EQ(nlohmann::json::parse(a.result)["unchanged"], 1);
  engine->StopJobWorkers(1s);
}

// A bad payload is refused when it is submitted, by the kind's own check, whichever front
// door submits it; paths are confined to the library roots of a server.
TEST(EngineTest, JobKindsCheckPayloadsBeforeTheyAreQueued) {
  TempDir dir;
  MakeLibrary(dir, 1);
  auto engine = MakeEngine(dir, EngineRole::kServer, SystemClock(),
                           {{"library.roots", (dir / "lib").string()}});
  ASSERT_NE(engine, nullptr);
  auto refused = [&](const std::string& kind, const std::string& payload, int64_t limit = 100) {
    SubmitJobRequest r;
    r.kind = kind;
    r.payload = payload;
    r.queue_limit = limit;
    auto s = SubmitJob(*engine, r);
    EXPECT_FALSE(s.ok()) << kind << " " << payload;
    return s.ok() ? Status::Ok() : s.status();
  };
  EXPECT_EQ(refused("scan", R"({"paths":"not a list"})").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(refused("scan", R"({"paths":["/etc"]})").reason(), "outside_library");
  EXPECT_EQ(refused("scan", R"({"paths":["relative/dir"]})").reason(), "bad_path");
  EXPECT_EQ(refused("analyze", R"({"track_id":"one"})").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(refused("analyze", R"({"file_path":"/etc/passwd"})").reason(), "outside_library");
  EXPECT_EQ(refused("write-tags", R"({"track_ids":[]})").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(refused("write-tags", R"({"track_ids":[1],"only":"tempo"})").code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(refused("scan", "[1]").code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(refused("dance", "{}").reason(), "unknown_kind");
  // Paths are stored resolved: a link or ".." inside the library becomes the real path.
  SubmitJobRequest ok;
  ok.kind = "scan";
  ok.payload = R"({"paths":[")" + (dir / "lib" / ".." / "lib").string() + "\"]}";
  auto queued = SubmitJob(*engine, ok);
  ASSERT_TRUE(queued.ok()) << queued.status().message();
  EXPECT_EQ(nlohmann::json::parse(queued->job.payload)["paths"][0],
            std::filesystem::canonical(dir / "lib").string());
  // The queue's limit.
  const Status busy = refused("scan", ok.payload, 1);
  EXPECT_EQ(busy.code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(busy.reason(), "busy");
  // A command's engine is not confined: the user may name any file.
  auto command = MakeEngine(dir, EngineRole::kCommand, SystemClock());
  EXPECT_FALSE(command->paths().confined());
}

// The first open of an index runs on the background pool: a caller that may not wait is told
// the index is not ready rather than held up; one that may wait gets it. While a refresh runs,
// callers keep the index they had.
TEST(EngineTest, IndexesOpenOffTheCallersThread) {
  TempDir dir;
  MakeLibrary(dir, 3);
  FakeClock clock;
  auto engine = MakeEngine(dir, EngineRole::kServer, clock);
  ASSERT_NE(engine, nullptr);
  ScanOptions scan;
  scan.roots = {dir / "lib"};
  ASSERT_TRUE(ScanAndIndex(*engine, scan, nullptr).ok());

  std::mutex mu;
  std::condition_variable cv;
  bool release = false;
  int refreshes = 0;
  engine->indexes().SetBeforeRefresh([&](const std::string&) {
    std::unique_lock lock(mu);
    ++refreshes;
    cv.notify_all();
    cv.wait(lock, [&] { return release; });
  });
  SimilarQuery query;
  query.seed = 1;
  query.count = 2;
  auto waiting = Similar(*engine, query, IndexWait::kNoWait);
  ASSERT_FALSE(waiting.ok());
  EXPECT_EQ(waiting.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(waiting.status().reason(), "index_not_ready");
  {
    std::lock_guard lock(mu);
    release = true;
  }
  cv.notify_all();
  auto answered = Similar(*engine, query, IndexWait::kWait);
  ASSERT_TRUE(answered.ok()) << answered.status().message();
  EXPECT_EQ(answered->items.size(), 2u);
  EXPECT_EQ(refreshes, 1);

  // The store changes (a track is gone); within a second of the clock nothing is looked at,
  // after it a refresh starts and the old index serves meanwhile.
  {
    std::lock_guard lock(mu);
    release = false;
  }
  ASSERT_TRUE(engine->store().MarkGone({3}).ok());
  auto before = engine->indexes().Current(index::kTimbreV1Space);
  ASSERT_TRUE(before.ok() && *before != nullptr);
  EXPECT_EQ(refreshes, 1);
  clock.Advance(1s);
  auto during = engine->indexes().Current(index::kTimbreV1Space);
  ASSERT_TRUE(during.ok());
  EXPECT_EQ(*during, *before);  // the previous index, while the new one opens
  {
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return refreshes == 2; });
    release = true;
  }
  cv.notify_all();
  clock.Advance(1s);
  std::shared_ptr<const index::SpaceIndex> after;
  for (int i = 0; i < 2000 && (after == nullptr || after == *before); ++i) {
    auto now = engine->indexes().Current(index::kTimbreV1Space);
    ASSERT_TRUE(now.ok());
    after = *now;
    std::this_thread::sleep_for(1ms);
  }
  EXPECT_NE(after, *before);
  EXPECT_EQ(after->vectors().size(), 2u);
}

// Summaries are kept until the store changes, looked at no more than once a second of the
// engine's clock.
TEST(EngineTest, SummaryCacheFollowsTheStoreOnItsClock) {
  TempDir dir;
  MakeLibrary(dir, 2);
  FakeClock clock;
  auto engine = MakeEngine(dir, EngineRole::kServer, clock);
  ASSERT_NE(engine, nullptr);
  ScanOptions scan;
  scan.roots = {dir / "lib"};
  ASSERT_TRUE(ScanAndIndex(*engine, scan, nullptr).ok());
  auto first = engine->summaries().Get({1, 2, 99});
  ASSERT_TRUE(first.ok());
  ASSERT_NE((*first)[0], nullptr);
  EXPECT_EQ((*first)[2], nullptr);  // no such track
  EXPECT_EQ((*first)[0]->summary.title, "T0");
  ASSERT_TRUE(engine->store().MarkGone({1}).ok());
  auto cached = engine->summaries().Get({1});
  ASSERT_TRUE(cached.ok());
  EXPECT_EQ((*cached)[0], (*first)[0]);  // the same entry: the store is not looked at yet
  clock.Advance(1s);
  auto fresh = engine->summaries().Get({1});
  ASSERT_TRUE(fresh.ok());
  EXPECT_NE((*fresh)[0], (*first)[0]);  // read again after the change
}

// A listener hears of a job at once, then of each change the runner announces, and at last
// of its end; silence brings a heartbeat after 15 s of the clock.
TEST(EngineTest, JobEventsFollowAJobToItsEnd) {
  TempDir dir;
  FakeClock clock;
  auto engine = MakeEngine(dir, EngineRole::kServer, clock);
  ASSERT_NE(engine, nullptr);
  std::mutex mu;
  std::condition_variable cv;
  bool proceed = false;
  engine->jobs().Register(
      "step", [&](const store::JobRecord&, jobs::JobContext& context) -> Result<std::string> {
        context.Progress(1, 2, "half way");
        std::unique_lock lock(mu);
        cv.wait(lock, [&] { return proceed; });
        return std::string("{\"done\":true}");
      });
  SubmitJobRequest request;
  request.kind = "step";
  auto job = SubmitJob(*engine, request);
  ASSERT_TRUE(job.ok());
  // However the test ends, the job is let go before the engine stops.
  struct Release {
    std::mutex& mu;
    std::condition_variable& cv;
    bool& proceed;
    ~Release() {
      {
        std::lock_guard lock(mu);
        proceed = true;
      }
      cv.notify_all();
    }
  } release{mu, cv, proceed};
  std::vector<std::string> heard;
  bool ended = false, half_way = false;
  auto token = engine->job_events().Subscribe(job->job.id, [&](const store::JobRecord* j) {
    std::lock_guard lock(mu);
    heard.push_back(j == nullptr ? "heartbeat" : std::string(store::JobStateName(j->state)));
    if (j != nullptr && j->progress.find("half way") != std::string::npos) half_way = true;
    if (j != nullptr && j->state == store::JobState::kCompleted) ended = true;
    cv.notify_all();
    return true;
  });
  ASSERT_TRUE(token.ok());
  EXPECT_EQ(engine->job_events()
                .Subscribe(12345, [](const store::JobRecord*) { return true; })
                .status()
                .code(),
            StatusCode::kNotFound);
  {
    std::unique_lock lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, 20s, [&] { return !heard.empty(); }));
    EXPECT_EQ(heard.front(), "pending");
  }
  ASSERT_TRUE(engine->StartJobWorkers().ok());
  {
    std::unique_lock lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, 20s, [&] { return half_way; }));
    EXPECT_EQ(heard.back(), "processing");
  }
  // Nothing changes now until the job is let go: after 15 s of silence, a heartbeat.
  clock.Advance(16s);
  {
    std::unique_lock lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, 20s, [&] { return heard.back() == "heartbeat"; }));
    proceed = true;
  }
  cv.notify_all();
  {
    std::unique_lock lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, 20s, [&] { return ended; }));
  }
  // The subscription ended with the job.
  for (int i = 0; i < 2000 && engine->job_events().subscriptions() > 0; ++i) {
    std::this_thread::sleep_for(1ms);
  }
  EXPECT_EQ(engine->job_events().subscriptions(), 0u);
  engine->StopJobWorkers(0ms);
}

// Garbage collection removes artifact files no row names once they are old enough on the
// engine's clock, and keeps the named ones and the young ones; a scan runs it too.
TEST(EngineTest, GarbageCollectionKeepsNamedAndYoungFiles) {
  TempDir dir;
  std::filesystem::create_directories(dir / "lib");
  // Two levels: two different waveforms, two files.
  MakeTone(dir / "lib" / "loud.flac", 2.0, 440, -3, 2, 44100, "-c:a flac");
  MakeTone(dir / "lib" / "soft.flac", 2.0, 440, -20, 2, 44100, "-c:a flac");
  FakeClock clock(SystemClock().UnixMs());  // files are stamped with the real time
  auto engine = MakeEngine(dir, EngineRole::kCommand, clock);
  ASSERT_NE(engine, nullptr);
  ScanOptions scan;
  scan.roots = {dir / "lib"};
  ASSERT_TRUE(ScanAndIndex(*engine, scan, nullptr).ok());
  store::ArtifactFiles files(engine->store().artifact_dir());
  auto named = engine->store().ArtifactHashes();
  ASSERT_TRUE(named.ok());
  ASSERT_EQ(named->size(), 2u);
  // A leftover no row names: a crash between writing a file and committing its row.
  auto put = files.Put({"text/plain", "left behind", {}});
  ASSERT_TRUE(put.ok());
  auto young = CollectGarbage(*engine);
  ASSERT_TRUE(young.ok());
  EXPECT_EQ(young->files_removed, 0u);  // too young: a write in progress may still name it
  EXPECT_EQ(young->files_kept, 3u);
  clock.Advance(2h);
  auto old = CollectGarbage(*engine);
  ASSERT_TRUE(old.ok());
  EXPECT_EQ(old->files_removed, 1u);
  EXPECT_EQ(old->bytes_removed, 11);
  EXPECT_FALSE(std::filesystem::exists(*files.PathOf(put->sha256)));
  for (const auto& h : *named) EXPECT_TRUE(std::filesystem::exists(*files.PathOf(h)));
  // A gone track's row goes with it, and its file at the scan's collection.
  const auto soft = LoadTrack(*engine, (dir / "lib" / "soft.flac").string());
  ASSERT_TRUE(soft.ok());
  ASSERT_EQ(soft->artifacts.size(), 1u);
  std::filesystem::remove(dir / "lib" / "soft.flac");
  auto report = ScanAndIndex(*engine, scan, nullptr);
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->summary.gone, 1u);
  EXPECT_EQ(report->artifacts_removed, 1u);
  EXPECT_FALSE(std::filesystem::exists(*files.PathOf(soft->artifacts[0].sha256)));
  EXPECT_EQ(engine->store().ArtifactHashes()->size(), 1u);
}

}  // namespace
}  // namespace timbre::service
