#include "engine/kube/informer.h"

#include <spdlog/spdlog.h>

#include <random>

namespace kinema::kube {

namespace {
enum DispatchType { kAdd = 0, kUpdate = 1, kDelete = 2 };

double Jitter01() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return std::uniform_real_distribution<double>(0.0, 1.0)(rng);
}
}  // namespace

Informer::Informer(Client* client, const ResourceKind& kind, InformerOptions options)
    : client_(client), kind_(kind), options_(std::move(options)) {}

Informer::~Informer() { Stop(); }

void Informer::AddHandler(EventHandler handler) { handlers_.push_back(std::move(handler)); }

void Informer::Start() {
  if (thread_.joinable()) return;
  stop_ = false;
  thread_ = std::thread([this] { Run(); });
}

void Informer::Stop() {
  stop_ = true;
  {
    std::lock_guard<std::mutex> l(sleep_mu_);
    sleep_cv_.notify_all();
  }
  if (thread_.joinable()) thread_.join();
}

bool Informer::WaitForSync(std::chrono::milliseconds timeout) const {
  std::unique_lock<std::mutex> l(sync_mu_);
  return sync_cv_.wait_for(l, timeout, [this] { return synced_.load(); });
}

Informer::ObjectPtr Informer::Get(const std::string& key) const {
  std::shared_lock<std::shared_mutex> l(store_mu_);
  auto it = store_.find(key);
  return it == store_.end() ? nullptr : it->second;
}

std::vector<Informer::ObjectPtr> Informer::List() const {
  std::shared_lock<std::shared_mutex> l(store_mu_);
  std::vector<ObjectPtr> out;
  out.reserve(store_.size());
  for (const auto& [k, v] : store_) out.push_back(v);
  return out;
}

size_t Informer::Size() const {
  std::shared_lock<std::shared_mutex> l(store_mu_);
  return store_.size();
}

std::string Informer::LastResourceVersion() const {
  std::shared_lock<std::shared_mutex> l(store_mu_);
  return resource_version_;
}

Informer::Stats Informer::stats() const {
  std::lock_guard<std::mutex> l(stats_mu_);
  return stats_;
}

Status Informer::last_error() const {
  std::lock_guard<std::mutex> l(stats_mu_);
  return last_error_;
}

void Informer::SleepFor(std::chrono::milliseconds d) {
  std::unique_lock<std::mutex> l(sleep_mu_);
  sleep_cv_.wait_for(l, d, [this] { return stop_.load(); });
}

void Informer::Dispatch(int type, const ObjectPtr& old_obj, const ObjectPtr& new_obj) {
  for (const auto& h : handlers_) {
    if (type == kAdd && h.on_add) h.on_add(*new_obj);
    if (type == kUpdate && h.on_update) h.on_update(*old_obj, *new_obj);
    if (type == kDelete && h.on_delete) h.on_delete(*old_obj);
  }
}

Status Informer::ListAndReplace() {
  ListOptions lo;
  lo.label_selector = options_.label_selector;
  lo.field_selector = options_.field_selector;
  lo.limit = options_.page_size;
  auto list = client_->List(kind_, options_.ns, lo);
  if (!list.ok()) return list.status();

  std::map<std::string, ObjectPtr> fresh;
  for (auto& item : list->items) {
    auto p = std::make_shared<const Json>(std::move(item));
    fresh[obj::Key(*p)] = std::move(p);
  }
  // Diff against the old cache, then swap, then notify outside the lock.
  std::vector<std::tuple<int, ObjectPtr, ObjectPtr>> changes;
  {
    std::unique_lock<std::shared_mutex> l(store_mu_);
    for (const auto& [key, obj_ptr] : fresh) {
      auto it = store_.find(key);
      if (it == store_.end()) {
        changes.emplace_back(kAdd, nullptr, obj_ptr);
      } else if (obj::ResourceVersion(*it->second) != obj::ResourceVersion(*obj_ptr)) {
        changes.emplace_back(kUpdate, it->second, obj_ptr);
      }
    }
    for (const auto& [key, obj_ptr] : store_) {
      if (fresh.find(key) == fresh.end()) changes.emplace_back(kDelete, obj_ptr, nullptr);
    }
    store_.swap(fresh);
    resource_version_ = list->resource_version;
  }
  {
    std::lock_guard<std::mutex> l(stats_mu_);
    ++stats_.lists;
  }
  for (const auto& [type, old_obj, new_obj] : changes) Dispatch(type, old_obj, new_obj);
  if (!synced_.exchange(true)) {
    std::lock_guard<std::mutex> l(sync_mu_);
    sync_cv_.notify_all();
    spdlog::info("informer {}: synced {} objects at resourceVersion {}", kind_.QualifiedName(), Size(),
                 list->resource_version);
  }
  return Status::OK();
}

void Informer::Apply(const WatchEvent& event) {
  if (event.type == WatchEventType::kBookmark) {
    std::string rv = obj::ResourceVersion(event.object);
    std::unique_lock<std::shared_mutex> l(store_mu_);
    if (!rv.empty()) resource_version_ = rv;
    return;
  }
  auto p = std::make_shared<const Json>(event.object);
  const std::string key = obj::Key(*p);
  ObjectPtr old_obj;
  {
    std::unique_lock<std::shared_mutex> l(store_mu_);
    auto it = store_.find(key);
    if (it != store_.end()) old_obj = it->second;
    if (event.type == WatchEventType::kDeleted) {
      if (it != store_.end()) store_.erase(it);
    } else {
      store_[key] = p;
    }
    std::string rv = obj::ResourceVersion(*p);
    if (!rv.empty()) resource_version_ = rv;
  }
  {
    std::lock_guard<std::mutex> l(stats_mu_);
    ++stats_.events;
  }
  if (event.type == WatchEventType::kDeleted) {
    Dispatch(kDelete, old_obj ? old_obj : p, nullptr);
  } else if (old_obj) {
    Dispatch(kUpdate, old_obj, p);
  } else {
    Dispatch(kAdd, nullptr, p);
  }
}

void Informer::Run() {
  bool need_list = true;
  int failures = 0;
  auto backoff = [&]() {
    double d = static_cast<double>(options_.min_backoff.count()) * (1 << std::min(failures, 10));
    d = std::min(d, static_cast<double>(options_.max_backoff.count()));
    return std::chrono::milliseconds(static_cast<int64_t>(d / 2 + d / 2 * Jitter01()));
  };
  while (!stop_) {
    if (need_list) {
      Status s = ListAndReplace();
      if (!s.ok()) {
        ++failures;
        {
          std::lock_guard<std::mutex> l(stats_mu_);
          last_error_ = s;
        }
        auto d = backoff();
        spdlog::warn("informer {}: list failed: {}; retrying in {} ms", kind_.QualifiedName(), s.ToString(), d.count());
        SleepFor(d);
        continue;
      }
      need_list = false;
      failures = 0;
    }
    WatchOptions wo;
    wo.resource_version = LastResourceVersion();
    wo.label_selector = options_.label_selector;
    wo.field_selector = options_.field_selector;
    wo.allow_bookmarks = true;
    wo.timeout_seconds = options_.watch_timeout_seconds;
    {
      std::lock_guard<std::mutex> l(stats_mu_);
      ++stats_.watches;
    }
    WatchResult r = client_->Watch(
        kind_, options_.ns, wo,
        [this](const WatchEvent& e) {
          Apply(e);
          return !stop_.load();
        },
        &stop_);
    if (stop_) break;
    if (r.gone) {
      spdlog::info("informer {}: resourceVersion {} expired (410), relisting", kind_.QualifiedName(),
                   wo.resource_version);
      std::lock_guard<std::mutex> l(stats_mu_);
      ++stats_.relists_after_gone;
      need_list = true;
      continue;
    }
    if (!r.status.ok()) {
      {
        std::lock_guard<std::mutex> l(stats_mu_);
        ++stats_.watch_errors;
        last_error_ = r.status;
      }
      failures = r.events > 0 ? 1 : failures + 1;
      auto d = backoff();
      spdlog::warn("informer {}: watch ended: {}; resuming from {} in {} ms", kind_.QualifiedName(),
                   r.status.ToString(), LastResourceVersion(), d.count());
      SleepFor(d);
      continue;
    }
    // Normal end (server timeout or the server closed the stream cleanly).
    // An immediately-closed, event-less stream repeated would spin: back off.
    if (r.events == 0) {
      ++failures;
      SleepFor(backoff());
    } else {
      failures = 0;
    }
  }
}

}  // namespace kinema::kube
