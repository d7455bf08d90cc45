// A library folder, a store and the default pipeline, for scan tests.
#pragma once

#include <gtest/gtest.h>

#include <map>

#include "test_support.h"
#include "timbre/analysis/registry.h"
#include "timbre/service/library_scan.h"

namespace timbre::service {

class Recorder : public ScanObserver {
 public:
  void OnFile(const FileEvent& e, const ScanProgress&) override { events[e.path] = e; }
  void OnWalkError(const std::string& path, const Status& error) override {
    walk_errors[path] = error;
  }
  std::map<std::string, FileEvent> events;
  std::map<std::string, Status> walk_errors;
};

class ScanFixture : public ::testing::Test {
 protected:
  ScanFixture() {
    analysis::RegisterBuiltinAnalyzers(registry_);
    pipeline_ = std::make_unique<analysis::Pipeline>(*analysis::DefaultPipeline(registry_));
    std::filesystem::create_directories(lib());
    auto s = store::OpenStore((dir_ / "timbre.db").string());
    EXPECT_TRUE(s.ok());
    store_ = std::move(s).value();
  }

  std::filesystem::path lib() const { return dir_.path() / "library"; }

  ScanSummary Scan(Recorder* recorder = nullptr, int threads = 2) {
    ScanOptions options;
    options.roots = {lib()};
    options.threads = threads;
    Recorder local;
    auto r =
        ScanLibrary(*store_, *pipeline_, pool_, options, recorder != nullptr ? recorder : &local);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : ScanSummary{};
  }

  store::TrackDetails Track(const std::filesystem::path& path) {
    auto id = store_->FindTrackId(path.string());
    EXPECT_TRUE(id.ok() && id->has_value()) << path;
    if (!id.ok() || !id->has_value()) return {};
    return **store_->GetTrack(**id);
  }

  timbre::testing::TempDir dir_;
  analysis::Registry registry_;
  std::unique_ptr<analysis::Pipeline> pipeline_;
  std::unique_ptr<store::Store> store_;
  ThreadPool pool_{2, "scan-test"};
};

}  // namespace timbre::service
