#include "timbre/service/index_cache.h"

#include <spdlog/spdlog.h>

#include "timbre/store/json_views.h"

namespace timbre::service {
namespace {

// A summary's JSON text without its closing brace.
std::string OpenJson(const store::TrackSummary& track) {
  std::string text =
      store::SummaryJson(track).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  text.pop_back();
  return text;
}

}  // namespace

IndexCache::IndexCache(store::Store& store, const Clock& clock, ThreadPool& background,
                       IndexCacheOptions options)
    : store_(store), clock_(clock), background_(background), options_(options) {}

IndexCache::~IndexCache() {
  std::unique_lock lock(mu_);
  refreshed_.wait(lock, [this] { return pending_ == 0; });
}

void IndexCache::SetBeforeRefresh(std::function<void(const std::string&)> hook) {
  std::lock_guard lock(mu_);
  before_refresh_ = std::move(hook);
}

Result<IndexCache::IndexPtr> IndexCache::Current(const std::string& space) {
  std::function<void()> task;
  Result<IndexPtr> answer = IndexPtr();
  IndexPtr current;
  {
    std::lock_guard lock(mu_);
    Entry& e = entries_[space];
    const auto now = clock_.Now();
    if (e.refreshing) return e.index;
    const bool due = !e.ever_checked || now - e.checked >= options_.check_every;
    if (!due) {
      if (!e.index && !e.error.ok()) return e.error;
      return e.index;
    }
    e.checked = now;
    e.ever_checked = true;
    if (!e.index) {
      // The first open (or a retry after a failed one): nothing to serve meanwhile.
      e.refreshing = true;
      ++pending_;
      task = [this, space] { Refresh(space, nullptr, -1, false); };
    } else {
      current = e.index;
    }
  }
  if (task) {
    background_.Submit(std::move(task));
    return IndexPtr();
  }
  // Cheap (one row): whether the store changed since the index was read.
  auto last = store_.LastChange();
  if (!last.ok()) {
    spdlog::warn("index {}: the store's change was not read: {}", space, last.status().message());
    return current;
  }
  {
    std::lock_guard lock(mu_);
    Entry& e = entries_[space];
    if (e.refreshing || !e.index) return e.index;
    const auto now = clock_.Now();
    const bool graph_allowed = !e.graph_built || now - e.graph_built_at >= options_.graph_every;
    const bool wants_graph = graph_allowed &&
                             e.index->vectors().kind() == index::IndexKind::kFlat &&
                             e.index->vectors().size() >= options_.graph_from;
    if (*last == e.last_change && !wants_graph) return e.index;
    e.refreshing = true;
    ++pending_;
    task = [this, space, index = e.index, known = e.last_change, graph_allowed] {
      Refresh(space, index, known, graph_allowed);
    };
    answer = e.index;
  }
  background_.Submit(std::move(task));
  return answer;
}

Result<IndexCache::IndexPtr> IndexCache::Get(const std::string& space) {
  auto now = Current(space);
  if (!now.ok() || *now != nullptr) return now;
  std::unique_lock lock(mu_);
  Entry& e = entries_[space];
  refreshed_.wait(lock, [&e] { return !e.refreshing; });
  if (e.index) return e.index;
  if (!e.error.ok()) return e.error;
  return Internal("the index was neither opened nor refused");
}

void IndexCache::Refresh(const std::string& space, IndexPtr current, int64_t current_change,
                         bool graph_allowed) {
  std::function<void(const std::string&)> hook;
  {
    std::lock_guard lock(mu_);
    hook = before_refresh_;
  }
  if (hook) hook(space);
  IndexPtr opened;
  int64_t change = -1;
  bool graph = false;
  const bool first = current == nullptr;
  auto wants_graph = [&](const index::SpaceIndex& i) {
    return (first || graph_allowed) && i.vectors().kind() == index::IndexKind::kFlat &&
           i.vectors().size() >= options_.graph_from;
  };
  const Status status = [&]() -> Status {
    auto last = store_.LastChange();
    if (!last.ok()) return last.status();
    change = *last;
    if (current && change == current_change && !wants_graph(*current)) {
      opened = current;
      return Status::Ok();
    }
    auto index = index::SpaceIndex::Open(store_, space, index::SyncMode::kReadOnly);
    if (!index.ok()) return index.status();
    graph = wants_graph(**index);
    opened = graph ? IndexPtr((*index)->Rebuilt(index::IndexKind::kHnsw, {}))
                   : IndexPtr(std::move(index).value());
    return Status::Ok();
  }();
  std::lock_guard lock(mu_);
  Entry& e = entries_[space];
  e.refreshing = false;
  if (status.ok()) {
    e.index = std::move(opened);
    e.last_change = change;
    e.error = Status::Ok();
    if (graph) {
      e.graph_built = true;
      e.graph_built_at = clock_.Now();
    }
  } else {
    spdlog::warn("index {}: {}", space, status.message());
    e.error = status;
  }
  --pending_;
  refreshed_.notify_all();
}

SummaryCache::SummaryCache(store::Store& store, const Clock& clock, Clock::Duration check_every)
    : store_(store), clock_(clock), check_every_(check_every) {}

Result<uint64_t> SummaryCache::Refresh() {
  const auto now = clock_.Now();
  {
    std::shared_lock lock(mu_);
    if (ever_checked_ && now - checked_ < check_every_) return generation_;
  }
  auto change = store_.LastChange();
  if (!change.ok()) return change.status();
  std::unique_lock lock(mu_);
  checked_ = now;
  ever_checked_ = true;
  if (*change != last_change_) {
    known_.clear();
    last_change_ = *change;
    ++generation_;
  }
  return generation_;
}

Result<std::vector<SummaryCache::EntryPtr>> SummaryCache::Get(const std::vector<int64_t>& ids) {
  auto generation = Refresh();
  if (!generation.ok()) return generation.status();
  std::vector<EntryPtr> out(ids.size());
  std::vector<int64_t> missing;
  {
    std::shared_lock lock(mu_);
    for (size_t i = 0; i < ids.size(); ++i) {
      auto it = known_.find(ids[i]);
      if (it != known_.end()) {
        out[i] = it->second;
      } else {
        missing.push_back(ids[i]);
      }
    }
  }
  if (missing.empty()) return out;
  // Misses come from the store; ids it does not know stay null and are not cached.
  auto found = store_.Summaries(missing);
  if (!found.ok()) return found.status();
  std::unordered_map<int64_t, EntryPtr> fetched;
  for (auto& t : *found) {
    std::string json = OpenJson(t);
    const int64_t id = t.id;
    fetched.emplace(id, std::make_shared<const Entry>(Entry{std::move(json), std::move(t)}));
  }
  for (size_t i = 0; i < ids.size(); ++i) {
    if (out[i] != nullptr) continue;
    auto it = fetched.find(ids[i]);
    if (it != fetched.end()) out[i] = it->second;
  }
  std::unique_lock lock(mu_);
  // Rows read before a change that another request has seen since are not kept.
  if (*generation == generation_) {
    for (auto& [id, entry] : fetched) known_.insert_or_assign(id, std::move(entry));
  }
  return out;
}

}  // namespace timbre::service
