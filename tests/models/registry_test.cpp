// The models folder: discovery, checksums, references between models, import.
#include "timbre/models/registry.h"

#include <gtest/gtest.h>

#include <fstream>

#include "test_models.h"

namespace timbre::models {
namespace {

namespace fs = std::filesystem;

// A copy of the test models that a test may change.
fs::path CopyModels(const testing::TempDir& tmp) {
  const fs::path dir = tmp / "models";
  fs::copy(TestModels() / "models", dir, fs::copy_options::recursive);
  return dir;
}

void Append(const fs::path& p, const std::string& text) { std::ofstream(p, std::ios::app) << text; }

TEST(Registry, FindsEveryModelAndGroupsHeadsWithTheirEmbedder) {
  auto r = ModelRegistry::Discover(TestModels() / "models");
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->entries().size(), 4u);
  for (const auto& e : r->entries()) EXPECT_TRUE(e.usable()) << e.manifest_path;
  EXPECT_EQ(r->Verify(), 4u);
  for (const auto& e : r->entries()) EXPECT_TRUE(e.verified) << e.manifest_path;
  auto groups = r->Groups();
  ASSERT_EQ(groups.size(), 2u);  // the embedder with two heads, and the classifier
  size_t heads = 0;
  for (const auto& g : groups) heads += g.heads.size();
  EXPECT_EQ(heads, 2u);
}

TEST(Registry, MissingFolderIsEmptyAndAFileIsAnError) {
  testing::TempDir tmp;
  auto r = ModelRegistry::Discover(tmp / "none");
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->entries().empty());
  std::ofstream(tmp / "file") << "x";
  EXPECT_FALSE(ModelRegistry::Discover(tmp / "file").ok());
}

TEST(Registry, ChecksumMismatchIsRefusedAndItsHeadsCannotRun) {
  testing::TempDir tmp;
  const fs::path dir = CopyModels(tmp);
  Append(dir / "tiny-embedder-1.0.pt", "tampered");
  auto r = ModelRegistry::Discover(dir);
  ASSERT_TRUE(r.ok());
  r->Verify();
  const ModelEntry* e = r->Find("tiny-embedder-1.0");
  ASSERT_NE(e, nullptr);
  EXPECT_FALSE(e->usable());
  EXPECT_EQ(e->problem.reason(), "checksum_mismatch");
  EXPECT_NE(e->problem.message().find("will not be loaded"), std::string::npos);
  EXPECT_EQ(r->Find("tiny-aggressive-1.0")->problem.reason(), "missing_embedder");
  EXPECT_TRUE(r->Find("tiny-genre-2.1")->usable());  // the others still run
  ASSERT_EQ(r->Groups().size(), 1u);
}

TEST(Registry, BadManifestMissingFileAndDuplicatesDoNotStopTheOthers) {
  testing::TempDir tmp;
  const fs::path dir = CopyModels(tmp);
  std::ofstream(dir / "broken.toml") << "id = \"broken\"\nkind = [";
  fs::remove(dir / "tiny-relaxed-1.0.pt");
  fs::create_directories(dir / "sub");
  fs::copy(dir / "tiny-genre-2.1.toml", dir / "sub" / "again.toml");
  auto r = ModelRegistry::Discover(dir);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->entries().size(), 6u);
  size_t bad = 0, missing = 0, duplicate = 0;
  for (const auto& e : r->entries()) {
    if (e.manifest_error.reason() == "bad_manifest") ++bad;
    if (e.problem.reason() == "missing_file") ++missing;
    if (e.problem.reason() == "duplicate_id") ++duplicate;
  }
  EXPECT_EQ(bad, 1u);
  EXPECT_EQ(missing, 1u);    // the relaxed head's file
  EXPECT_EQ(duplicate, 2u);  // both claims of tiny-genre-2.1
  EXPECT_FALSE(r->Find("tiny-genre-2.1")->usable());
  EXPECT_TRUE(r->Find("tiny-embedder-1.0")->usable());
  EXPECT_TRUE(r->Find("tiny-aggressive-1.0")->usable());
}

TEST(Registry, ImportChecksTheFileAndCopiesBoth) {
  testing::TempDir tmp;
  const fs::path src = TestModels() / "models";
  auto e = ImportModel(src / "tiny-genre-2.1.pt", src / "tiny-genre-2.1.toml", tmp / "lib");
  ASSERT_TRUE(e.ok()) << e.status().message();
  EXPECT_TRUE(e->usable());
  EXPECT_TRUE(fs::exists(tmp / "lib" / "tiny-genre-2.1.pt"));
  // The same import again is fine; another file under the manifest is refused, nothing copied.
  EXPECT_TRUE(
      ImportModel(src / "tiny-genre-2.1.pt", src / "tiny-genre-2.1.toml", tmp / "lib").ok());
  auto wrong =
      ImportModel(src / "tiny-embedder-1.0.pt", src / "tiny-genre-2.1.toml", tmp / "other");
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.status().reason(), "checksum_mismatch");
  EXPECT_FALSE(fs::exists(tmp / "other" / "tiny-genre-2.1.pt"));
  auto no_manifest = ImportModel(src / "tiny-genre-2.1.pt", tmp / "none.toml", tmp / "other");
  EXPECT_FALSE(no_manifest.ok());
}

TEST(Registry, Sha256OfAKnownString) {
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

}  // namespace
}  // namespace timbre::models
