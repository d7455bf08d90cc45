#include "timbre/core/config.h"

#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <set>

#include "test_support.h"
#include "timbre/core/resource_budget.h"

namespace timbre {
namespace {

using timbre::testing::TempDir;

EnvironmentLookup Env(std::map<std::string, std::string> vars) {
  auto shared = std::make_shared<std::map<std::string, std::string>>(std::move(vars));
  return [shared](const char* name) -> const char* {
    auto it = shared->find(name);
    return it == shared->end() ? nullptr : it->second.c_str();
  };
}

void Write(const std::filesystem::path& p, const std::string& text) { std::ofstream(p) << text; }

TEST(ConfigTest, EverySettingIsDeclaredOnceWithAValidDefault) {
  std::set<std::string_view> keys, envs, flags;
  for (const auto& s : AllSettings()) {
    EXPECT_TRUE(keys.insert(s.key).second) << s.key;
    if (!s.env.empty()) {
      EXPECT_TRUE(envs.insert(s.env).second) << s.env;
    }
    if (!s.flag.empty()) {
      EXPECT_TRUE(flags.insert(s.flag).second) << s.flag;
    }
    EXPECT_FALSE(s.description.empty()) << s.key;
    EXPECT_NE(s.key.find('.'), std::string_view::npos) << s.key << ": keys live in a table";
  }
  const Config defaults;  // throws if a default were outside its range
  EXPECT_EQ(defaults.Int("server.port"), 8484);
  EXPECT_EQ(defaults.Get("server.port").source, SettingSource::kDefault);
  EXPECT_EQ(defaults.List("server.bind"), std::vector<std::string>{"127.0.0.1"});
}

// Default < file < environment < flag, and each value remembers where it came from.
TEST(ConfigTest, LaterSourcesOverrideEarlierOnes) {
  TempDir dir;
  Write(dir / "c.toml",
        "[server]\nport = 9000\nrate_limit = 5.5\nbind = [\"127.0.0.1\", \"::1\"]\n"
        "[jobs]\nworkers = 4\n[library]\nroots = [\"/music\", \"/more music\"]\n");
  auto config = Config::Load(dir / "c.toml", true,
                             Env({{"TIMBRE_MAX_CONCURRENT_JOBS", "6"}, {"TIMBRE_DB", "/x.db"}}));
  ASSERT_TRUE(config.ok()) << config.status().message();
  EXPECT_EQ(config->Int("server.port"), 9000);
  EXPECT_EQ(config->Get("server.port").source, SettingSource::kFile);
  EXPECT_DOUBLE_EQ(config->Number("server.rate_limit"), 5.5);
  EXPECT_EQ(config->List("server.bind"), (std::vector<std::string>{"127.0.0.1", "::1"}));
  EXPECT_EQ(config->List("library.roots"), (std::vector<std::string>{"/music", "/more music"}));
  EXPECT_EQ(config->Int("jobs.workers"), 6);
  EXPECT_EQ(config->Get("jobs.workers").origin, "TIMBRE_MAX_CONCURRENT_JOBS");
  EXPECT_EQ(config->Text("store.db"), "/x.db");
  ASSERT_TRUE(config->SetFromFlag("jobs.workers", "8", "--workers").ok());
  EXPECT_EQ(config->Int("jobs.workers"), 8);
  EXPECT_EQ(config->Get("jobs.workers").source, SettingSource::kFlag);
  EXPECT_EQ(config->file(), dir / "c.toml");
}

TEST(ConfigTest, BadFilesAndValuesAreClearErrors) {
  TempDir dir;
  auto error = [&](const std::string& text) {
    Write(dir / "c.toml", text);
    auto c = Config::Load(dir / "c.toml", true, Env({}));
    EXPECT_FALSE(c.ok()) << text;
    return c.ok() ? std::string() : c.status().message();
  };
  EXPECT_NE(error("[server]\nprot = 1\n").find("unknown setting 'server.prot'"), std::string::npos);
  EXPECT_NE(error("[server]\nport = 70000\n").find("from 0 to 65535"), std::string::npos);
  EXPECT_NE(error("[server]\nport = \"x\"\n").find("server.port"), std::string::npos);
  EXPECT_NE(error("[server\nport = 1\n").find("c.toml:1"), std::string::npos);
  EXPECT_NE(error("port = 1\n").find("should be a table"), std::string::npos);
  EXPECT_NE(error("[library]\nroots = [1]\n").find("list of paths"), std::string::npos);

  auto env = Config::Load("", false, Env({{"TIMBRE_PORT", "eighty"}}));
  ASSERT_FALSE(env.ok());
  EXPECT_NE(env.status().message().find("TIMBRE_PORT"), std::string::npos);
  // The default file may be absent; a named one may not.
  EXPECT_TRUE(Config::Load(dir / "none.toml", false, Env({})).ok());
  EXPECT_EQ(Config::Load(dir / "none.toml", true, Env({})).status().code(), StatusCode::kNotFound);
  Config c;
  EXPECT_FALSE(c.SetFromFlag("budget.http_threads", "0").ok());
  EXPECT_FALSE(c.SetFromFlag("models.enabled", "maybe").ok());
}

TEST(ConfigTest, SecretsAreMaskedWhenShown) {
  auto config = Config::Load("", false, Env({{"INTERNAL_API_SECRET", "hunter2"}}));
  ASSERT_TRUE(config.ok());
  const SettingSpec* spec = FindSetting("auth.secret");
  ASSERT_NE(spec, nullptr);
  EXPECT_EQ(config->Text("auth.secret"), "hunter2");
  EXPECT_EQ(ShownValue(*spec, config->Get("auth.secret")), "********");
  EXPECT_EQ(ShownValue(*FindSetting("server.port"), config->Get("server.port")), "8484");
}

TEST(ResourceBudgetTest, ZerosBecomeTheCores) {
  Config c;
  auto b = BudgetFrom(c, 8);
  EXPECT_EQ(b.cores, 8);
  EXPECT_EQ(b.analysis_threads, 8);
  EXPECT_EQ(b.index_threads, 8);
  EXPECT_EQ(b.http_threads, 2);
  EXPECT_EQ(b.model_threads, 1);
  ASSERT_TRUE(c.SetFromFlag("budget.cores", "3").ok());
  ASSERT_TRUE(c.SetFromFlag("budget.analysis_threads", "2").ok());
  b = BudgetFrom(c, 8);
  EXPECT_EQ(b.cores, 3);
  EXPECT_EQ(b.analysis_threads, 2);
  EXPECT_EQ(b.index_threads, 3);
}

}  // namespace
}  // namespace timbre
