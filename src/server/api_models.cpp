// Model routes: the models folder as the CLI's `models list` shows it, and model import over
// HTTP: a multipart/form-data upload streamed to disk, with the model file in the field
// "model" and its TOML manifest in "manifest" (a file, or the text itself).
#include <fstream>

#include <fmt/format.h>

#include "api_context.h"
#include "timbre/service/catalog.h"

namespace timbre::server {
namespace {

const UploadedFile* Part(const HttpRequest& r, const std::string& field) {
  for (const auto& f : r.files) {
    if (f.field == field) return &f;
  }
  return nullptr;
}

}  // namespace

HttpResponse ListModels(ApiContext& c, const HttpRequest&, const Params&) {
  auto registry = service::DiscoverModels(c.engine, false);
  if (!registry.ok()) return ErrorReply(registry.status());
  Json list = Json::array();
  for (const auto& e : registry->entries()) list.push_back(service::ModelJson(e, *registry, false));
  return JsonResponse(200, {{"dir", registry->dir().string()}, {"models", list}});
}

HttpResponse ImportModel(ApiContext& c, const HttpRequest& r, const Params&) {
  const UploadedFile* model = Part(r, "model");
  if (model == nullptr) {
    return ErrorReply(InvalidArgument(
        "the upload needs the model file in the multipart field \"model\" and its manifest in "
        "\"manifest\""));
  }
  std::filesystem::path manifest;
  std::filesystem::path written;  // a manifest sent as text, written beside the upload
  if (const UploadedFile* part = Part(r, "manifest")) {
    manifest = part->path;
  } else if (auto text = r.form.find("manifest"); text != r.form.end()) {
    written = model->path.string() + ".toml";
    std::ofstream(written) << text->second;
    manifest = written;
  } else {
    return ErrorReply(InvalidArgument("the upload has no \"manifest\" (a TOML file or text)"));
  }
  auto entry = service::ImportModel(c.engine, model->path, manifest);
  if (!written.empty()) {
    std::error_code ec;
    std::filesystem::remove(written, ec);
  }
  if (!entry.ok()) return ErrorReply(entry.status());
  auto registry = service::DiscoverModels(c.engine, false);
  if (!registry.ok()) return ErrorReply(registry.status());
  HttpResponse response = JsonResponse(201, service::ModelJson(*entry, *registry, false));
  response.headers["Location"] = "/v1/models";
  return response;
}

}  // namespace timbre::server
