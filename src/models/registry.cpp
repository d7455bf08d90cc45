#include "timbre/models/registry.h"

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <openssl/evp.h>

#include "timbre/core/paths.h"

namespace timbre::models {
namespace fs = std::filesystem;

fs::path DefaultModelsDir() { return DefaultDataDir() / "models"; }

Result<std::string> ReadFileBytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return NotFound(fmt::format("{} cannot be read", path.string())).WithReason("missing_file");
  }
  std::ostringstream bytes;
  bytes << in.rdbuf();
  if (in.bad()) return IoError(fmt::format("reading {} failed", path.string()));
  return std::move(bytes).str();
}

std::string Sha256Hex(std::string_view bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_Digest(bytes.data(), bytes.size(), digest, &size, EVP_sha256(), nullptr);
  std::string hex;
  for (unsigned int i = 0; i < size; ++i) hex += fmt::format("{:02x}", digest[i]);
  return hex;
}

Result<std::string> Sha256File(const fs::path& path) {
  auto bytes = ReadFileBytes(path);
  if (!bytes.ok()) return bytes.status();
  return Sha256Hex(*bytes);
}

namespace {

ModelEntry ReadEntry(const fs::path& manifest_path) {
  ModelEntry e;
  e.manifest_path = manifest_path;
  auto m = LoadManifest(manifest_path);
  if (!m.ok()) {
    e.manifest_error = m.status();
    return e;
  }
  e.manifest = std::move(m).value();
  e.model_path = manifest_path.parent_path() / e.manifest.file;
  std::error_code ec;
  if (!fs::is_regular_file(e.model_path, ec)) {
    e.problem = NotFound(fmt::format("{}: the model file {} is missing", manifest_path.string(),
                                     e.model_path.string()))
                    .WithReason("missing_file");
  } else {
    e.file_size = static_cast<int64_t>(fs::file_size(e.model_path, ec));
  }
  return e;
}

}  // namespace

Result<ModelRegistry> ModelRegistry::Discover(const fs::path& dir) {
  ModelRegistry r;
  r.dir_ = dir;
  std::error_code ec;
  if (!fs::exists(dir, ec)) return r;
  if (!fs::is_directory(dir, ec)) {
    return InvalidArgument(fmt::format("{} is not a folder", dir.string()));
  }
  std::vector<fs::path> manifests;
  auto collect = [&](const fs::path& folder, bool descend) -> Status {
    fs::directory_iterator it(folder, ec);
    if (ec) {
      return IoError(fmt::format("{} cannot be read: {}", folder.string(), ec.message()));
    }
    for (const auto& item : it) {
      std::error_code item_ec;
      if (descend && item.is_directory(item_ec)) {
        if (item.path().filename().string().starts_with(".")) continue;
        fs::directory_iterator sub(item.path(), item_ec);
        for (; !item_ec && sub != fs::directory_iterator(); sub.increment(item_ec)) {
          if (sub->path().extension() == ".toml") manifests.push_back(sub->path());
        }
      } else if (item.path().extension() == ".toml" &&
                 !item.path().filename().string().starts_with(".")) {
        manifests.push_back(item.path());
      }
    }
    return Status::Ok();
  };
  TIMBRE_RETURN_IF_ERROR(collect(dir, true));
  std::sort(manifests.begin(), manifests.end());
  for (const auto& p : manifests) r.entries_.push_back(ReadEntry(p));
  r.CheckReferences();
  return r;
}

void ModelRegistry::CheckReferences() {
  // Two manifests claiming one id are both refused: which one was meant cannot be known.
  std::map<std::string, std::vector<size_t>> by_id;
  for (size_t i = 0; i < entries_.size(); ++i) {
    if (entries_[i].manifest_error.ok()) by_id[entries_[i].manifest.id].push_back(i);
  }
  for (const auto& [id, indexes] : by_id) {
    if (indexes.size() < 2) continue;
    for (size_t i : indexes) {
      ModelEntry& e = entries_[i];
      const ModelEntry& other = entries_[indexes[0] == i ? indexes[1] : indexes[0]];
      e.problem =
          InvalidArgument(fmt::format("{}: id \"{}\" is also claimed by {}",
                                      e.manifest_path.string(), id, other.manifest_path.string()))
              .WithReason("duplicate_id");
    }
  }
  for (auto& e : entries_) {
    if (!e.usable() || e.manifest.kind != ModelKind::kHead) continue;
    const ModelEntry* embedder = Find(e.manifest.embedder);
    if (embedder == nullptr || embedder->manifest.kind != ModelKind::kEmbedder) {
      e.problem = NotFound(fmt::format("{}: input.embedder \"{}\" is not an embedder here",
                                       e.manifest_path.string(), e.manifest.embedder))
                      .WithReason("missing_embedder");
    } else if (!embedder->usable()) {
      e.problem =
          Unsupported(fmt::format("{}: its embedder {} cannot run: {}", e.manifest_path.string(),
                                  e.manifest.embedder, embedder->problem.message()))
              .WithReason("missing_embedder");
    }
  }
}

size_t ModelRegistry::Verify(const std::string& id) {
  size_t checked = 0;
  for (auto& e : entries_) {
    if (!e.usable() || (!id.empty() && e.manifest.id != id)) continue;
    ++checked;
    auto sum = Sha256File(e.model_path);
    if (!sum.ok()) {
      e.problem = sum.status();
    } else if (*sum != e.manifest.sha256) {
      e.problem =
          Corrupt(
              fmt::format("{}: sha256 is {}, the manifest says {}; the model will not be loaded",
                          e.model_path.string(), *sum, e.manifest.sha256))
              .WithReason("checksum_mismatch");
    } else {
      e.verified = true;
    }
  }
  CheckReferences();  // a head whose embedder failed cannot run either
  return checked;
}

const ModelEntry* ModelRegistry::Find(const std::string& id) const {
  for (const auto& e : entries_) {
    if (e.manifest_error.ok() && e.manifest.id == id) {
      return &e;
    }
  }
  return nullptr;
}

std::vector<ModelRegistry::Group> ModelRegistry::Groups() const {
  std::vector<Group> groups;
  for (const auto& e : entries_) {
    if (!e.usable() || !e.manifest.reads_audio() || e.manifest.kind == ModelKind::kTranscriber) {
      continue;
    }
    Group g;
    g.model = &e;
    if (e.manifest.kind == ModelKind::kEmbedder) {
      for (const auto& h : entries_) {
        if (h.usable() && h.manifest.kind == ModelKind::kHead &&
            h.manifest.embedder == e.manifest.id) {
          g.heads.push_back(&h);
        }
      }
    }
    groups.push_back(std::move(g));
  }
  return groups;
}

std::vector<const ModelEntry*> ModelRegistry::Transcribers() const {
  std::vector<const ModelEntry*> out;
  for (const auto& e : entries_) {
    if (e.usable() && e.manifest.kind == ModelKind::kTranscriber) out.push_back(&e);
  }
  return out;
}

namespace {

Status CopyThroughTemp(const fs::path& from, const fs::path& to) {
  const fs::path temp = to.parent_path() / ("." + to.filename().string() + ".importing");
  std::error_code ec;
  fs::copy_file(from, temp, fs::copy_options::overwrite_existing, ec);
  if (ec) {
    return IoError(
        fmt::format("cannot copy {} to {}: {}", from.string(), temp.string(), ec.message()));
  }
  fs::rename(temp, to, ec);
  if (ec) {
    fs::remove(temp, ec);
    return IoError(fmt::format("cannot write {}", to.string()));
  }
  return Status::Ok();
}

}  // namespace

Result<ModelEntry> ImportModel(const fs::path& file, const fs::path& manifest_path,
                               const fs::path& dir) {
  auto m = LoadManifest(manifest_path);
  if (!m.ok()) return m.status();
  auto sum = Sha256File(file);
  if (!sum.ok()) return sum.status();
  if (*sum != m->sha256) {
    return Corrupt(fmt::format("{}: sha256 is {}, {} says {}; nothing imported", file.string(),
                               *sum, manifest_path.string(), m->sha256))
        .WithReason("checksum_mismatch");
  }
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return IoError(fmt::format("cannot create {}: {}", dir.string(), ec.message()));
  auto existing = ModelRegistry::Discover(dir);
  if (!existing.ok()) return existing.status();
  if (const ModelEntry* same = existing->Find(m->id)) {
    if (same->manifest.sha256 != m->sha256) {
      return Status(StatusCode::kAlreadyExists,
                    fmt::format("a different model with id \"{}\" is installed ({}); "
                                "remove it first",
                                m->id, same->manifest_path.string()));
    }
  }
  const fs::path target_file = dir / m->file;
  const fs::path target_manifest = dir / (m->id + ".toml");
  if (fs::exists(target_file, ec)) {
    // The same bytes may be there already (a re-import); anything else is someone's model.
    auto present = Sha256File(target_file);
    if (!present.ok() || *present != m->sha256) {
      return Status(StatusCode::kAlreadyExists,
                    fmt::format("{} exists and holds another model", target_file.string()));
    }
  }
  TIMBRE_RETURN_IF_ERROR(CopyThroughTemp(file, target_file));
  TIMBRE_RETURN_IF_ERROR(CopyThroughTemp(manifest_path, target_manifest));
  ModelEntry e = ReadEntry(target_manifest);
  e.verified = e.usable();
  return e;
}

}  // namespace timbre::models
