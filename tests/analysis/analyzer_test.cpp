#include "timbre/analysis/analyzer.h"

#include <gtest/gtest.h>

#include "timbre/analysis/registry.h"

namespace timbre::analysis {
namespace {

TEST(RegistryTest, BuiltinsDeclareTheirContract) {
  Registry r;
  RegisterBuiltinAnalyzers(r);
  ASSERT_EQ(r.All().size(), 7u);
  for (const char* name :
       {"properties", "loudness", "fingerprint", "rhythm", "tonal", "spectral", "waveform"}) {
    const Analyzer* a = r.Find(name);
    ASSERT_NE(a, nullptr) << name;
    EXPECT_FALSE(a->info().description.empty());
    EXPECT_FALSE(a->info().outputs.empty());
    EXPECT_FALSE(a->info().window.empty());
    EXPECT_GE(a->info().version, 1);
    for (const auto& p : a->info().params) {
      EXPECT_LE(p.min, p.default_value);
      EXPECT_GE(p.max, p.default_value);
    }
  }
  EXPECT_EQ(r.Find("tempo"), nullptr);
}

// A minimal analyzer to exercise the registry itself.
class NamedAnalyzer : public Analyzer {
 public:
  explicit NamedAnalyzer(std::string name) { info_.name = std::move(name); }
  const AnalyzerInfo& info() const override { return info_; }
  Result<std::unique_ptr<AnalyzerRun>> Start(const Params&, const audio::StreamInfo&,
                                             const audio::AudioBlock&) const override {
    return Unsupported("not runnable");
  }

 private:
  AnalyzerInfo info_;
};

TEST(RegistryTest, RefusesDuplicatesAndNull) {
  Registry r;
  RegisterBuiltinAnalyzers(r);
  const Status dup = r.Add(std::make_unique<NamedAnalyzer>("loudness"));
  EXPECT_EQ(dup.code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(r.All().size(), 7u);
  EXPECT_TRUE(r.Add(std::make_unique<NamedAnalyzer>("extra")).ok());
  EXPECT_EQ(r.All().size(), 8u);
  EXPECT_FALSE(r.Add(nullptr).ok());
}

TEST(ParamsTest, DefaultsOverridesAndErrors) {
  Registry r;
  RegisterBuiltinAnalyzers(r);
  const AnalyzerInfo& info = r.Find("fingerprint")->info();
  auto defaults = ResolveParams(info, {});
  ASSERT_TRUE(defaults.ok());
  EXPECT_EQ(defaults->at("max_seconds"), 120);
  auto custom = ResolveParams(info, {{"max_seconds", 60}});
  ASSERT_TRUE(custom.ok());
  EXPECT_NE(ParamsHash(*defaults), ParamsHash(*custom));
  EXPECT_EQ(CanonicalParams(*custom), "max_seconds=60");
  auto unknown = ResolveParams(info, {{"bands", 12}});
  EXPECT_EQ(unknown.status().code(), StatusCode::kInvalidArgument);
  EXPECT_FALSE(ResolveParams(info, {{"max_seconds", 1}}).ok());          // below range
  EXPECT_FALSE(ResolveParams(info, {{"max_seconds", 1e9}}).ok());        // above range
  EXPECT_FALSE(ResolveParams(info, {{"max_seconds", 0.0 / 0.0}}).ok());  // NaN
}

}  // namespace
}  // namespace timbre::analysis
