#include "timbre/store/json_views.h"

#include "timbre/core/paths.h"

namespace timbre::store {

nlohmann::json TrackJson(const TrackDetails& d) {
  const auto& t = d.track;
  nlohmann::json j{
      {"id", t.key.id},
      {"path", SanitizeUtf8(t.key.path)},
      {"status", TrackStatusName(t.key.status)},
      {"size", t.key.size},
      {"mtime_ns", t.key.mtime_ns},
      {"content_hash", t.key.content_hash},
      {"signature", t.key.signature},
      {"first_seen", t.first_seen},
      {"updated_at", t.updated_at},
      {"audio",
       {{"container", t.container},
        {"codec", t.codec},
        {"duration", t.duration},
        {"sample_rate", t.sample_rate},
        {"channels", t.channels},
        {"bitrate", t.bitrate}}},
      {"tags",
       {{"title", t.tags.title},
        {"artist", t.tags.artist},
        {"album", t.tags.album},
        {"album_artist", t.tags.album_artist},
        {"genre", t.tags.genre},
        {"track_number", t.tags.track_number},
        {"disc_number", t.tags.disc_number},
        {"year", t.tags.year},
        {"musicbrainz_recording_id", t.tags.musicbrainz_track_id},
        {"musicbrainz_release_track_id", t.tags.musicbrainz_release_track_id},
        {"musicbrainz_album_id", t.tags.musicbrainz_album_id},
        {"musicbrainz_artist_id", t.tags.musicbrainz_artist_id},
        {"musicbrainz_album_artist_id", t.tags.musicbrainz_album_artist_id}}},
  };
  if (t.key.status == TrackStatus::kFailed) {
    j["error"] = {{"reason", t.error_reason}, {"message", t.error_message}};
  }
  nlohmann::json analyses = nlohmann::json::array();
  for (const auto& a : d.analyses) {
    const auto& p = a.provenance;
    nlohmann::json values = nlohmann::json::object();
    for (const auto& v : d.descriptors) {
      if (v.analyzer == p.analyzer) values[v.name] = {{"value", v.value}, {"unit", v.unit}};
    }
    for (const auto& v : d.texts) {
      if (v.analyzer == p.analyzer) values[v.name] = {{"value", v.value}};
    }
    // A file's value says where to fetch it (GET /v1/tracks/{id}/artifacts/{analyzer}/{name}).
    for (const auto& f : d.artifacts) {
      if (f.analyzer != p.analyzer) continue;
      values[f.name] = {{"file",
                         {{"sha256", f.sha256},
                          {"size", f.size},
                          {"media_type", f.media_type},
                          {"path", "/v1/tracks/" + std::to_string(t.key.id) + "/artifacts/" +
                                       f.analyzer + "/" + f.name}}}};
    }
    nlohmann::json entry = {{"analyzer", p.analyzer},
                            {"version", p.analyzer_version},
                            {"params", p.params},
                            {"params_hash", p.params_hash},
                            {"engine_version", p.engine_version},
                            {"window", p.window},
                            {"seconds", p.seconds},
                            {"created_at", a.created_at},
                            {"notes", a.notes},
                            {"values", values}};
    if (!p.model_ids.empty()) {
      entry["model_ids"] = p.model_ids;
      entry["model_sha256"] = p.model_sha256;
    }
    analyses.push_back(std::move(entry));
  }
  j["analyses"] = analyses;
  nlohmann::json model_tags = nlohmann::json::array();
  for (const auto& t : d.tags) {
    model_tags.push_back(
        {{"name", t.name}, {"tier", t.value}, {"score", t.score}, {"analyzer", t.analyzer}});
  }
  j["model_tags"] = model_tags;
  return j;
}

nlohmann::json SummaryJson(const TrackSummary& t) {
  return {{"id", t.id},
          {"path", SanitizeUtf8(t.path)},
          {"title", t.title},
          {"artist", t.artist},
          {"album", t.album},
          {"duration", t.duration},
          {"bpm", t.bpm ? nlohmann::json(*t.bpm) : nlohmann::json(nullptr)},
          {"key", t.key.empty() ? nlohmann::json(nullptr) : nlohmann::json(t.key)}};
}

namespace {

using Json = nlohmann::json;

// A JSON text stored with a job, as JSON again (a text that is not JSON stays a string).
Json Parsed(const std::string& text) {
  if (text.empty()) return nullptr;
  Json j = Json::parse(text, nullptr, false);
  return j.is_discarded() ? Json(text) : j;
}

}  // namespace

nlohmann::json JobJson(const JobRecord& j) {
  Json out{{"id", j.id},
           {"kind", j.kind},
           {"state", JobStateName(j.state)},
           {"priority", j.priority},
           {"attempts", j.attempts},
           {"max_attempts", j.max_attempts},
           {"cancel_requested", j.cancel_requested},
           {"payload", Parsed(j.payload)},
           {"progress", Parsed(j.progress)},
           {"result", Parsed(j.result)},
           {"error", j.error.empty() ? Json(nullptr) : Json(j.error)},
           {"created_at", j.created_at},
           {"updated_at", j.updated_at},
           {"started_at", j.started_at},
           {"finished_at", j.finished_at},
           {"worker", j.worker.empty() ? Json(nullptr) : Json(j.worker)}};
  if (!j.attempt_log.empty()) {
    Json attempts = Json::array();
    for (const auto& a : j.attempt_log) {
      attempts.push_back({{"number", a.number},
                          {"started_at", a.started_at},
                          {"finished_at", a.finished_at},
                          {"error", a.error.empty() ? Json(nullptr) : Json(a.error)},
                          {"worker", a.worker.empty() ? Json(nullptr) : Json(a.worker)}});
    }
    out["attempt_log"] = attempts;
  }
  return out;
}

}  // namespace timbre::store
