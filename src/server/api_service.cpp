// Routes about the service itself: health, the plugin manifest, capabilities, the OpenAPI
// description.
#include "api_context.h"
#include "openapi.h"
#include "timbre/service/catalog.h"

namespace timbre::server {
namespace {

// The answer of a catalog call.
HttpResponse Answer(const Result<Json>& body) {
  if (!body.ok()) return ErrorReply(body.status());
  return JsonResponse(200, *body);
}

}  // namespace

HttpResponse Health(ApiContext& c, const HttpRequest& r, const Params&) {
  const bool deep = QueryFlag(r, "deep");
  auto check = [&c, deep] {
    const service::Health h =
        service::CheckHealth(c.engine, deep, c.engine.clock().SecondsSince(c.started));
    return JsonResponse(h.healthy ? 200 : 503, h.body);
  };
  // A deep check opens the index and may wait for it: off the HTTP threads.
  if (deep) {
    HttpResponse later;
    later.deferred = check;
    return later;
  }
  return check();
}

HttpResponse Manifest(ApiContext& c, const HttpRequest&, const Params&) {
  return Answer(service::PluginManifest(c.engine));
}

HttpResponse Capabilities(ApiContext& c, const HttpRequest&, const Params&) {
  auto caps = service::Capabilities(c.engine);
  if (caps.ok()) (*caps)["auth_required"] = c.credentials.required();
  return Answer(caps);
}

HttpResponse OpenApi(ApiContext&, const HttpRequest&, const Params&) {
  HttpResponse r;
  r.body = kOpenApiJson;
  return r;
}

}  // namespace timbre::server
