#include "sqlite/library_queries.h"

#include <cstring>

#include <fmt/format.h>

namespace timbre::store::sqlite {
namespace {

using Param = std::variant<double, std::string>;

// "lhs op ?" for a value; text compares without regard to case, `~` is a substring test.
std::string Comparison(const std::string& lhs, const FilterCondition& c) {
  const bool text = std::holds_alternative<std::string>(c.value);
  if (c.op == FilterOp::kContains) return fmt::format("instr(lower({}), lower(?)) > 0", lhs);
  if (c.op == FilterOp::kLacks) return fmt::format("instr(lower({}), lower(?)) = 0", lhs);
  // The comparison operators are spelled as in SQL (SQLite and PostgreSQL both take !=).
  return fmt::format("{} {} ?{}", lhs, FilterOpText(c.op), text ? " COLLATE NOCASE" : "");
}

// One WHERE term per condition; its parameters are appended to `params` in order. Output
// and tag conditions are uncorrelated `IN (subquery)` terms that SQLite runs once each
// through covering indexes (a correlated EXISTS rescanned an index for every track: 10k
// tracks took minutes); at 100k tracks a BPM range over a fifth of them takes ~0.17 s.
std::string ConditionSql(const FilterCondition& c, std::vector<Param>& params) {
  using Target = FilterCondition::Target;
  switch (c.target) {
    case Target::kColumn:
      params.push_back(c.value);
      return Comparison("t." + c.name, c);  // the name was checked against a fixed list
    case Target::kDescriptor:
      params.push_back(c.analyzer);
      params.push_back(c.name);
      params.push_back(c.value);
      return "t.id IN (SELECT d.track_id FROM descriptors d WHERE d.analysis_id IN (SELECT id "
             "FROM analyses WHERE analyzer = ?) AND d.name = ? AND " +
             Comparison("d.value", c) + ")";
    case Target::kText: {
      params.push_back(c.analyzer);
      params.push_back(c.name);
      params.push_back(c.value);
      // "key != 'A minor'" keeps tracks with no key at all.
      FilterCondition positive = c;
      const bool negated = c.op == FilterOp::kNe || c.op == FilterOp::kLacks;
      if (c.op == FilterOp::kNe) positive.op = FilterOp::kEq;
      if (c.op == FilterOp::kLacks) positive.op = FilterOp::kContains;
      return std::string(negated ? "t.id NOT IN" : "t.id IN") +
             " (SELECT v.track_id FROM text_values v JOIN analyses a ON a.id = v.analysis_id "
             "WHERE a.analyzer = ? AND v.name = ? AND " +
             Comparison("v.value", positive) + ")";
    }
    case Target::kTagScore:
      params.push_back(c.name);
      params.push_back(c.value);
      return "t.id IN (SELECT g.track_id FROM tags g WHERE g.name = ? AND " +
             Comparison("g.score", c) + ")";
    case Target::kHasTag:
      params.push_back(c.value);
      return std::string(c.op == FilterOp::kNe ? "t.id NOT IN" : "t.id IN") +
             " (SELECT g.track_id FROM tags g WHERE g.name = ?)";
  }
  return "1";
}

void BindAll(Statement& s, const std::vector<Param>& params) {
  for (size_t i = 0; i < params.size(); ++i) {
    const int index = static_cast<int>(i) + 1;
    if (const double* d = std::get_if<double>(&params[i])) {
      s.Bind(index, *d);
    } else {
      s.Bind(index, std::string_view(std::get<std::string>(params[i])));
    }
  }
}

std::vector<float> DecodeVector(std::string_view blob) {
  std::vector<float> v(blob.size() / sizeof(float));
  if (!v.empty()) std::memcpy(v.data(), blob.data(), v.size() * sizeof(float));
  return v;
}

}  // namespace

Result<std::vector<TrackNumbers>> NumbersOfTracksWithout(Database& db, const std::string& space) {
  Statement s(db.handle(), R"sql(
SELECT d.track_id, a.analyzer || '.' || d.name, d.value
FROM tracks t JOIN descriptors d ON d.track_id = t.id JOIN analyses a ON a.id = d.analysis_id
WHERE t.status = 'ok' AND NOT EXISTS (
  SELECT 1 FROM embeddings e WHERE e.track_id = t.id AND e.space = ?1)
ORDER BY d.track_id)sql");
  s.Bind(1, space);
  std::vector<TrackNumbers> out;
  Status st;
  while (s.Step(&st)) {
    const int64_t id = s.Int(0);
    if (out.empty() || out.back().track_id != id) out.push_back({id, {}});
    out.back().numbers.emplace(s.Text(1), s.Real(2));
  }
  if (!st.ok()) return st;
  return out;
}

Status PutEmbeddings(Database& db, const std::vector<EmbeddingWrite>& rows) {
  Transaction tx(db);
  TIMBRE_RETURN_IF_ERROR(tx.begun());
  Statement s(db.handle(), R"sql(
INSERT INTO embeddings (track_id, analysis_id, space, dim, vector)
VALUES (?1, (SELECT id FROM analyses WHERE track_id = ?1 AND analyzer = ?2), ?3, ?4, ?5)
ON CONFLICT (track_id, space) DO UPDATE SET analysis_id = excluded.analysis_id,
  dim = excluded.dim, vector = excluded.vector)sql");
  for (const auto& r : rows) {
    s.Bind(1, r.track_id).Bind(2, r.source_analyzer).Bind(3, r.space);
    s.Bind(4, static_cast<int64_t>(r.vector.size()));
    s.BindBlob(5, r.vector.data(), r.vector.size() * sizeof(float));
    TIMBRE_RETURN_IF_ERROR(s.Run());
    s.Reset();
  }
  return tx.Commit();
}

Result<std::vector<StoredEmbedding>> LoadEmbeddings(Database& db, const std::string& space,
                                                    const std::vector<int64_t>* only) {
  std::vector<StoredEmbedding> out;
  Status st;
  if (only == nullptr) {
    Statement s(db.handle(), R"sql(
SELECT e.track_id, e.vector FROM embeddings e JOIN tracks t ON t.id = e.track_id
WHERE e.space = ?1 AND t.status = 'ok' ORDER BY e.track_id)sql");
    s.Bind(1, space);
    while (s.Step(&st)) out.push_back({s.Int(0), DecodeVector(s.Blob(1))});
    if (!st.ok()) return st;
    return out;
  }
  Statement s(db.handle(), R"sql(
SELECT e.track_id, e.vector FROM embeddings e JOIN tracks t ON t.id = e.track_id
WHERE e.space = ?1 AND e.track_id = ?2 AND t.status = 'ok')sql");
  for (int64_t id : *only) {
    s.Bind(1, space).Bind(2, id);
    if (s.Step(&st)) out.push_back({s.Int(0), DecodeVector(s.Blob(1))});
    if (!st.ok()) return st;
    s.Reset();
  }
  return out;
}

Result<int64_t> LastChange(Database& db) {
  Statement s(db.handle(), "SELECT COALESCE(MAX(seq), 0) FROM change_log");
  Status st;
  if (s.Step(&st)) return s.Int(0);
  if (!st.ok()) return st;
  return int64_t{0};
}

Result<std::vector<int64_t>> TracksChangedSince(Database& db, int64_t change) {
  Statement s(db.handle(),
              "SELECT DISTINCT track_id FROM change_log WHERE seq > ?1 ORDER BY track_id");
  s.Bind(1, change);
  std::vector<int64_t> out;
  Status st;
  while (s.Step(&st)) out.push_back(s.Int(0));
  if (!st.ok()) return st;
  return out;
}

Result<std::vector<int64_t>> SelectTracks(Database& db, const TrackFilter& filter) {
  std::string sql = "SELECT t.id FROM tracks t WHERE t.status = 'ok'";
  std::vector<Param> params;
  for (const auto& c : filter.conditions) sql += " AND " + ConditionSql(c, params);
  sql += " ORDER BY t.id";
  Statement s(db.handle(), sql);
  BindAll(s, params);
  std::vector<int64_t> out;
  Status st;
  while (s.Step(&st)) out.push_back(s.Int(0));
  if (!st.ok()) return st;
  return out;
}

// Outputs are reached from the track's analysis (two primary-key lookups); asked by output
// name first, SQLite would walk every track's BPM through the filter index.
constexpr const char* kSummarySql = R"sql(
SELECT t.id, t.path, t.title, t.artist, t.album, t.album_artist, t.album_key, t.duration,
  (SELECT d.value FROM analyses a JOIN descriptors d ON d.analysis_id = a.id AND d.name = 'bpm'
   WHERE a.track_id = t.id AND a.analyzer = 'rhythm'),
  (SELECT v.value FROM analyses a JOIN text_values v ON v.analysis_id = a.id AND v.name = 'key'
   WHERE a.track_id = t.id AND a.analyzer = 'tonal')
FROM tracks t WHERE t.id = ?1)sql";

Result<std::vector<TrackSummary>> Summaries(Database& db, const std::vector<int64_t>& ids) {
  Statement& s = db.Cached(kSummarySql);
  TIMBRE_RETURN_IF_ERROR(s.prepared());
  std::vector<TrackSummary> out;
  out.reserve(ids.size());
  Status st;
  for (int64_t id : ids) {
    s.Bind(1, id);
    if (s.Step(&st)) {
      TrackSummary t;
      t.id = s.Int(0);
      t.path = s.Text(1);
      t.title = s.Text(2);
      t.artist = s.Text(3);
      t.album = s.Text(4);
      t.album_artist = s.Text(5);
      t.album_key = s.Text(6);
      t.duration = s.Real(7);
      if (!s.IsNull(8)) t.bpm = s.Real(8);
      t.key = s.Text(9);
      out.push_back(std::move(t));
    }
    if (!st.ok()) return st;
    s.Reset();
  }
  return out;
}

Result<std::vector<std::string>> EmbeddingSpaces(Database& db) {
  Statement s(db.handle(), "SELECT DISTINCT space FROM embeddings ORDER BY space");
  std::vector<std::string> out;
  Status st;
  while (s.Step(&st)) out.push_back(s.Text(0));
  if (!st.ok()) return st;
  return out;
}

Result<std::vector<TrackText>> TextOutputs(Database& db, const std::string& analyzer,
                                           const std::string& name) {
  Statement s(db.handle(), R"sql(
SELECT v.track_id, v.value FROM text_values v JOIN analyses a ON a.id = v.analysis_id
JOIN tracks t ON t.id = v.track_id
WHERE a.analyzer = ?1 AND v.name = ?2 AND t.status = 'ok' ORDER BY v.track_id)sql");
  s.Bind(1, analyzer).Bind(2, name);
  std::vector<TrackText> out;
  Status st;
  while (s.Step(&st)) out.push_back({s.Int(0), s.Text(1)});
  if (!st.ok()) return st;
  return out;
}

}  // namespace timbre::store::sqlite
