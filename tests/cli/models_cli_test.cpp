// timbre models list / verify / show / import, and scans that run models, as a user would:
// the tiny models of scripts/make-test-models.py, real encoded audio, the real binary.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "test_support.h"

namespace timbre {
namespace {

namespace fs = std::filesystem;
using testing::CommandResult;
using testing::RunCommand;
using testing::ShellQuote;
using testing::TempDir;

class ModelsCli : public ::testing::Test {
 protected:
  void SetUp() override {
    testing::MakeTestModels(tmp_ / "made");
    fs::copy(tmp_ / "made" / "models", models_, fs::copy_options::recursive);
    fs::create_directories(library_);
    for (int i = 0; i < 3; ++i) {
      testing::MakeTone(library_ / ("t" + std::to_string(i) + ".flac"), 6.0, 220.0 * (i + 1), -6.0,
                        2, 44100, "-c:a flac");
    }
  }

  CommandResult Timbre(const std::string& args, const std::string& env = "") {
    return RunCommand(env + " " + testing::TimbreBinary() + " --db " + ShellQuote(db_.string()) +
                      " " + args);
  }
  std::string Models() const { return "--models " + ShellQuote(models_.string()); }

  nlohmann::json Json(const CommandResult& r) {
    auto j = nlohmann::json::parse(r.output, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << r.output;
    return j;
  }

  // analyses.id of each analyzer of a track: a rerun analysis gets a new row.
  std::map<std::string, int64_t> AnalysisIds(int64_t track) {
    sqlite3* db = nullptr;
    EXPECT_EQ(sqlite3_open_v2(db_.c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
    sqlite3_stmt* s = nullptr;
    sqlite3_prepare_v2(db, "SELECT analyzer, id FROM analyses WHERE track_id = ?1", -1, &s,
                       nullptr);
    sqlite3_bind_int64(s, 1, track);
    std::map<std::string, int64_t> out;
    while (sqlite3_step(s) == SQLITE_ROW) {
      out[reinterpret_cast<const char*>(sqlite3_column_text(s, 0))] = sqlite3_column_int64(s, 1);
    }
    sqlite3_finalize(s);
    sqlite3_close(db);
    return out;
  }

  TempDir tmp_;
  fs::path models_ = tmp_ / "models";
  fs::path library_ = tmp_ / "library";
  fs::path db_ = tmp_ / "timbre.db";
};

TEST_F(ModelsCli, ListVerifyShowAndImport) {
  auto list = Timbre("models list --json " + Models());
  ASSERT_EQ(list.exit_code, 0) << list.output;
  auto j = Json(list);
  ASSERT_EQ(j["models"].size(), 4u);
  EXPECT_EQ(j["models"][0]["state"], "ok");

  auto verify = Timbre("models verify --json " + Models());
  EXPECT_EQ(verify.exit_code, 0) << verify.output;
  j = Json(verify);
  EXPECT_EQ(j["runtime"]["available"], true);
  for (const auto& m : j["models"]) EXPECT_EQ(m["state"], "verified") << m;

  auto show = Timbre("models show tiny-aggressive-1.0 --json " + Models());
  ASSERT_EQ(show.exit_code, 0) << show.output;
  j = Json(show);
  EXPECT_EQ(j["tag_prefix"], "nom:pytorch_tiny_1-0_mood_aggressive_1-0_");
  EXPECT_EQ(j["embedder"], "tiny-embedder-1.0");
  EXPECT_EQ(Timbre("models show nothing " + Models()).exit_code, 2);

  const fs::path made = tmp_ / "made" / "models";
  auto import = Timbre("models import " + ShellQuote((made / "tiny-genre-2.1.pt").string()) +
                       " --manifest " + ShellQuote((made / "tiny-genre-2.1.toml").string()) +
                       " --models " + ShellQuote((tmp_ / "imported").string()) + " 2>&1");
  EXPECT_EQ(import.exit_code, 0) << import.output;
  EXPECT_TRUE(fs::exists(tmp_ / "imported" / "tiny-genre-2.1.toml"));
  auto wrong = Timbre("models import " + ShellQuote((made / "tiny-embedder-1.0.pt").string()) +
                      " --manifest " + ShellQuote((made / "tiny-genre-2.1.toml").string()) +
                      " --models " + ShellQuote((tmp_ / "refused").string()) + " 2>&1");
  EXPECT_EQ(wrong.exit_code, 2);
  EXPECT_NE(wrong.output.find("sha256"), std::string::npos) << wrong.output;
  EXPECT_FALSE(fs::exists(tmp_ / "refused" / "tiny-genre-2.1.pt"));
}

TEST_F(ModelsCli, BadModelsAreReportedAndTheOthersStillRun) {
  std::ofstream(models_ / "typo.toml") << "id = \"typo\"\nsample_rte = 1\n";
  std::ofstream(models_ / "tiny-relaxed-1.0.pt", std::ios::app) << "tampered";
  auto verify = Timbre("models verify " + Models());
  EXPECT_EQ(verify.exit_code, 1) << verify.output;
  EXPECT_NE(verify.output.find("checksum_mismatch"), std::string::npos) << verify.output;
  EXPECT_NE(verify.output.find("bad_manifest"), std::string::npos) << verify.output;

  auto scan = Timbre("scan " + ShellQuote(library_.string()) + " " + Models() + " 2>&1");
  ASSERT_EQ(scan.exit_code, 0) << scan.output;
  EXPECT_NE(scan.output.find("will not be loaded"), std::string::npos) << scan.output;
  auto show = Json(Timbre("show 1 --json"));
  std::map<std::string, std::string> models;
  for (const auto& a : show["analyses"]) {
    if (a.contains("model_ids")) models[a["analyzer"]] = a["model_ids"];
  }
  EXPECT_EQ(models["model:tiny-embedder-1-0"], "tiny-embedder-1.0,tiny-aggressive-1.0");
  EXPECT_EQ(models["model:tiny-genre-2-1"], "tiny-genre-2.1");
}

TEST_F(ModelsCli, ScanStoresScoresTagsAndAnEmbeddingSpace) {
  auto scan = Timbre("scan " + ShellQuote(library_.string()) + " " + Models() + " 2>&1");
  ASSERT_EQ(scan.exit_code, 0) << scan.output;
  auto show = Json(Timbre("show 1 --json"));
  bool embedder = false;
  for (const auto& a : show["analyses"]) {
    if (a["analyzer"] != "model:tiny-embedder-1-0") continue;
    embedder = true;
    EXPECT_EQ(a["model_sha256"].get<std::string>().size(), 3u * 64 + 2);
    const double p = a["values"]["mood_aggressive.aggressive"]["value"];
    const double q = a["values"]["mood_aggressive.not_aggressive"]["value"];
    EXPECT_NEAR(p + q, 1.0, 1e-5);  // softmax inside the head, averaged over patches
    EXPECT_GT(a["values"]["patches"]["value"].get<double>(), 10.0);
  }
  EXPECT_TRUE(embedder);
  // The classifier's softmax makes one of its labels dominate these tones: a tier and a tag.
  ASSERT_FALSE(show["model_tags"].empty()) << show.dump();
  const auto tag = show["model_tags"][0];
  EXPECT_EQ(tag["name"].get<std::string>().rfind("nom:pytorch_genre_2-1_genre_2-1_", 0), 0u);
  EXPECT_GT(tag["score"].get<double>(), 0.5);

  auto similar = Timbre("similar 1 --space model:tiny-embedder-1-0 --json");
  ASSERT_EQ(similar.exit_code, 0) << similar.output;
  EXPECT_EQ(Json(similar)["tracks"].size(), 2u) << similar.output;
  EXPECT_EQ(Timbre("similar 1 --where " +
                   ShellQuote("tag:" + tag["name"].get<std::string>() + " > 0.5") + " --json")
                .exit_code,
            0);
}

TEST_F(ModelsCli, RescanRerunsOnlyWhatAChangedModelFeeds) {
  const std::string scan = "scan --json " + ShellQuote(library_.string()) + " " + Models();
  ASSERT_EQ(Timbre(scan).exit_code, 0);
  const auto before = AnalysisIds(1);
  ASSERT_TRUE(before.count("model:tiny-genre-2-1"));
  ASSERT_TRUE(before.count("spectral"));

  auto again = Json(Timbre(scan + " | tail -n 1"));
  EXPECT_EQ(again["unchanged"], 3) << again;

  // A head leaves: its embedder's analysis reruns; the classifier and the DSP analyzers stay.
  fs::remove(models_ / "tiny-relaxed-1.0.toml");
  auto changed = Json(Timbre(scan + " | tail -n 1"));
  EXPECT_EQ(changed["updated"], 3) << changed;
  const auto after = AnalysisIds(1);
  EXPECT_NE(after.at("model:tiny-embedder-1-0"), before.at("model:tiny-embedder-1-0"));
  EXPECT_EQ(after.at("model:tiny-genre-2-1"), before.at("model:tiny-genre-2-1"));
  EXPECT_EQ(after.at("spectral"), before.at("spectral"));
  EXPECT_EQ(after.at("rhythm"), before.at("rhythm"));
  EXPECT_EQ(Json(Timbre(scan + " | tail -n 1"))["unchanged"], 3);

  // Without models the model results are kept, not recomputed and not lost.
  auto none =
      Json(Timbre("scan --json --no-models " + ShellQuote(library_.string()) + " | tail -n 1"));
  EXPECT_EQ(none["unchanged"], 3) << none;
  EXPECT_EQ(AnalysisIds(1).at("model:tiny-genre-2-1"), before.at("model:tiny-genre-2-1"));
}

TEST_F(ModelsCli, WithoutTheRuntimeEverythingElseRuns) {
  const std::string env = "TIMBRE_TORCH_PLUGIN=" + ShellQuote((tmp_ / "none.so").string());
  auto verify = Timbre("models verify " + Models() + " 2>&1", env);
  EXPECT_EQ(verify.exit_code, 1) << verify.output;
  EXPECT_NE(verify.output.find("not installed"), std::string::npos) << verify.output;
  auto scan = Timbre("scan " + ShellQuote(library_.string()) + " " + Models() + " 2>&1", env);
  ASSERT_EQ(scan.exit_code, 0) << scan.output;
  EXPECT_NE(scan.output.find("will not run"), std::string::npos) << scan.output;
  EXPECT_NE(scan.output.find("3 added"), std::string::npos) << scan.output;
  EXPECT_FALSE(AnalysisIds(1).count("model:tiny-genre-2-1"));
}

TEST_F(ModelsCli, TagsWriteEmitsTiersAndRemovesStaleOnes) {
  const fs::path track = library_ / "t0.flac";
  // Left by an earlier run: a tier of this model's namespace, and another tool's nom: tag.
  const std::string stale = "nom:pytorch_genre_2-1_genre_2-1_blues_low";
  ASSERT_EQ(RunCommand("/usr/bin/python3 -c " +
                       ShellQuote("import mutagen,sys; f=mutagen.File(sys.argv[1]); f['" + stale +
                                  "']='0.5'; f['nom:other_tool_x']='1'; f.save()") +
                       " " + ShellQuote(track.string()))
                .exit_code,
            0);
  ASSERT_EQ(Timbre("scan -q " + ShellQuote(library_.string()) + " " + Models()).exit_code, 0);
  auto id = Timbre("show " + ShellQuote(track.string()) + " --json");
  const auto details = Json(id);
  ASSERT_FALSE(details["model_tags"].empty());
  const auto tag = details["model_tags"][0];
  const std::string written = tag["name"].get<std::string>() + "_" + tag["tier"].get<std::string>();

  auto write = Timbre("tags write --only nom " + ShellQuote(track.string()) + " 2>&1");
  ASSERT_EQ(write.exit_code, 0) << write.output;
  auto read = RunCommand("/usr/bin/python3 -c " +
                         ShellQuote("import mutagen,sys,json; f=mutagen.File(sys.argv[1]); "
                                    "print(json.dumps({k.lower(): v for k, v in f.tags}))") +
                         " " + ShellQuote(track.string()));
  ASSERT_EQ(read.exit_code, 0) << read.output;
  const auto tags = Json(read);
  ASSERT_TRUE(tags.contains(written)) << read.output;
  EXPECT_NEAR(std::stod(tags[written].get<std::string>()), tag["score"].get<double>(), 5e-4);
  EXPECT_FALSE(tags.contains(stale)) << read.output;
  EXPECT_TRUE(tags.contains("nom:other_tool_x")) << read.output;
  EXPECT_NE(tags["timbre_provenance"].get<std::string>().find("model:tiny-genre-2-1 v1"),
            std::string::npos)
      << read.output;
}

TEST_F(ModelsCli, ExportedPyTorchModelRunsInTimbre) {
  std::ofstream(tmp_ / "my_model.py") << R"py(
import torch
class Tagger(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.linear = torch.nn.Linear(8, 2)
    def forward(self, x):
        return self.linear(x.mean(dim=1))
def build():
    torch.manual_seed(1)
    return Tagger()
)py";
  const fs::path out = tmp_ / "exported";
  auto exported = RunCommand(
      "/usr/bin/python3 " +
      ShellQuote(testing::SourcePath("scripts/export-torchscript.py").string()) + " --module " +
      ShellQuote((tmp_ / "my_model.py").string()) + " --factory build --out-dir " +
      ShellQuote(out.string()) +
      " --id my-tagger-1.0 --name my_tagger --version 1.0 --kind classifier --labels calm,energetic"
      " --activation softmax --sample-rate 16000 --frame-size 512 --hop-size 256 --mel-bands 8"
      " --high-hz 8000 --log log10_1p --patch-frames 32 --patch-hop 16 --license MIT"
      " --source https://example.org 2>&1");
  ASSERT_EQ(exported.exit_code, 0) << exported.output;
  auto verify = Timbre("models verify --json --models " + ShellQuote(out.string()));
  ASSERT_EQ(verify.exit_code, 0) << verify.output;
  EXPECT_EQ(Json(verify)["models"][0]["state"], "verified");
  auto scan =
      Timbre("scan -q " + ShellQuote(library_.string()) + " --models " + ShellQuote(out.string()));
  ASSERT_EQ(scan.exit_code, 0) << scan.output;
  const auto show = Json(Timbre("show 1 --json"));
  bool found = false;
  for (const auto& a : show["analyses"]) {
    if (a["analyzer"] != "model:my-tagger-1-0") continue;
    found = true;
    const double calm = a["values"]["my_tagger.calm"]["value"];
    const double energetic = a["values"]["my_tagger.energetic"]["value"];
    EXPECT_NEAR(calm + energetic, 1.0, 1e-5);
  }
  EXPECT_TRUE(found) << show.dump();
}

}  // namespace
}  // namespace timbre
