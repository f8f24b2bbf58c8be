#include "tools/kinema-sim/object_store.h"

#include <algorithm>

namespace kinema::sim {

const char* EventTypeName(EventType t) {
  switch (t) {
    case EventType::kAdded: return "ADDED";
    case EventType::kModified: return "MODIFIED";
    case EventType::kDeleted: return "DELETED";
  }
  return "ERROR";
}

bool WatchFilter::Matches(const StoredObject& o) const {
  if (resource != nullptr && o.type != resource) return false;
  if (!ns.empty() && o.ns != ns) return false;
  if (!labels.Empty()) {
    const nlohmann::json* l = nullptr;
    auto m = o.body.find("metadata");
    if (m != o.body.end()) {
      auto it = m->find("labels");
      if (it != m->end()) l = &*it;
    }
    if (!labels.Matches(l ? *l : nlohmann::json())) return false;
  }
  if (!fields.Empty() && !fields.Matches(o.body)) return false;
  return true;
}

Watcher::Watcher(WatchFilter filter, std::function<void()> notify, size_t max_queue)
    : filter_(std::move(filter)), notify_(std::move(notify)), max_queue_(max_queue) {}

std::vector<WatchItem> Watcher::Take() {
  std::lock_guard<std::mutex> l(mu_);
  std::vector<WatchItem> out(std::make_move_iterator(queue_.begin()), std::make_move_iterator(queue_.end()));
  queue_.clear();
  return out;
}

bool Watcher::overflowed() const {
  std::lock_guard<std::mutex> l(mu_);
  return overflowed_;
}

bool Watcher::stopped() const {
  std::lock_guard<std::mutex> l(mu_);
  return stopped_;
}

void Watcher::Stop() {
  std::lock_guard<std::mutex> l(mu_);
  stopped_ = true;
  queue_.clear();
}

void Watcher::Push(WatchItem item) {
  {
    std::lock_guard<std::mutex> l(mu_);
    if (stopped_ || overflowed_) return;
    if (queue_.size() >= max_queue_) {
      overflowed_ = true;
      queue_.clear();
    } else {
      queue_.push_back(std::move(item));
    }
  }
  if (notify_) notify_();
}

void Watcher::Offer(const StoreEvent& e) {
  bool now = filter_.Matches(*e.object);
  bool before = e.previous != nullptr && filter_.Matches(*e.previous);
  WatchItem item;
  item.rv = e.rv;
  item.resource = e.resource;
  item.object = e.object;
  switch (e.type) {
    case EventType::kAdded:
      if (!now) return;
      item.type = "ADDED";
      break;
    case EventType::kModified:
      if (now && before) item.type = "MODIFIED";
      else if (now) item.type = "ADDED";
      else if (before) item.type = "DELETED";
      else return;
      break;
    case EventType::kDeleted:
      if (!now && !before) return;
      item.type = "DELETED";
      break;
  }
  Push(std::move(item));
}

ObjectStore::ObjectStore(size_t history_capacity) : history_capacity_(std::max<size_t>(history_capacity, 1)) {}

ObjectStore::Key ObjectStore::MakeKey(const std::string& ns, const std::string& name) {
  return ns.empty() ? name : ns + "/" + name;
}

uint64_t ObjectStore::CurrentRv() const {
  std::shared_lock l(mu_);
  return rv_;
}

uint64_t ObjectStore::HistoryFloor() const {
  std::shared_lock l(mu_);
  return floor_;
}

ObjectPtr ObjectStore::Get(const ResourceType& rt, const std::string& ns, const std::string& name) const {
  std::shared_lock l(mu_);
  auto t = data_.find(&rt);
  if (t == data_.end()) return nullptr;
  auto it = t->second.find(MakeKey(ns, name));
  return it == t->second.end() ? nullptr : it->second;
}

ObjectStore::ListResult ObjectStore::List(const WatchFilter& filter) const {
  ListResult out;
  std::shared_lock l(mu_);
  out.rv = rv_;
  for (const auto& [type, objects] : data_) {
    if (filter.resource != nullptr && type != filter.resource) continue;
    auto begin = objects.begin();
    auto end = objects.end();
    if (!filter.ns.empty() && type->namespaced) {
      begin = objects.lower_bound(filter.ns + "/");
      end = objects.lower_bound(filter.ns + "0");  // '0' follows '/'
    }
    for (auto it = begin; it != end; ++it) {
      if (filter.Matches(*it->second)) out.items.push_back(it->second);
    }
  }
  return out;
}

ApiResult<ObjectPtr> ObjectStore::Mutate(const ResourceType& rt, const std::string& ns, const std::string& name,
                                         const Mutator& fn, bool dry_run) {
  std::unique_lock l(mu_);
  auto& objects = data_[&rt];
  Key key = MakeKey(ns, name);
  auto it = objects.find(key);
  ObjectPtr current = it == objects.end() ? nullptr : it->second;
  ApiResult<Mutation> m = fn(current);
  if (!m.ok()) return m.error();
  Mutation& mu = m.value();
  switch (mu.action) {
    case Mutation::Action::kNone:
      if (!current) return ApiError::NotFound(rt, name);
      return current;
    case Mutation::Action::kPut: {
      auto obj = std::make_shared<StoredObject>();
      obj->type = &rt;
      obj->ns = ns;
      obj->name = name;
      obj->rv = dry_run ? (current ? current->rv : 0) : rv_ + 1;
      obj->body = std::move(mu.object);
      if (!dry_run) obj->body["metadata"]["resourceVersion"] = std::to_string(obj->rv);
      obj->text = obj->body.dump();
      if (dry_run) return ObjectPtr(obj);
      rv_++;
      objects[key] = obj;
      Record(StoreEvent{current ? EventType::kModified : EventType::kAdded, &rt, rv_, obj, current});
      return ObjectPtr(obj);
    }
    case Mutation::Action::kRemove: {
      if (!current) return ApiError::NotFound(rt, name);
      if (dry_run) return current;
      rv_++;
      auto last = std::make_shared<StoredObject>(*current);
      last->rv = rv_;
      last->body["metadata"]["resourceVersion"] = std::to_string(rv_);
      last->text = last->body.dump();
      objects.erase(it);
      Record(StoreEvent{EventType::kDeleted, &rt, rv_, last, current});
      return ObjectPtr(last);
    }
  }
  return ApiError::Internal("unknown mutation");
}

void ObjectStore::Record(const StoreEvent& e) {
  history_.push_back(e);
  while (history_.size() > history_capacity_) {
    floor_ = history_.front().rv;
    history_.pop_front();
  }
  size_t live = 0;
  for (size_t i = 0; i < watchers_.size(); ++i) {
    std::shared_ptr<Watcher> w = watchers_[i].lock();
    if (!w || w->stopped() || w->overflowed()) continue;
    w->Offer(e);
    watchers_[live++] = watchers_[i];
  }
  watchers_.resize(live);
}

ApiResult<std::shared_ptr<Watcher>> ObjectStore::Watch(const WatchFilter& filter, std::optional<uint64_t> from_rv,
                                                       std::function<void()> notify, size_t max_queue) {
  std::unique_lock l(mu_);
  if (from_rv && *from_rv < floor_) {
    return ApiError::Gone("too old resource version: " + std::to_string(*from_rv) + " (" +
                          std::to_string(floor_ + 1) + ")");
  }
  auto w = std::make_shared<Watcher>(filter, std::move(notify), max_queue);
  if (!from_rv) {
    for (const auto& [type, objects] : data_) {
      if (filter.resource != nullptr && type != filter.resource) continue;
      for (const auto& [key, obj] : objects) {
        if (!filter.Matches(*obj)) continue;
        WatchItem item;
        item.type = "ADDED";
        item.object = obj;
        item.rv = obj->rv;
        item.resource = type;
        w->Push(std::move(item));
      }
    }
  } else {
    // History is ordered by rv; skip what the client already has.
    auto it = std::upper_bound(history_.begin(), history_.end(), *from_rv,
                               [](uint64_t rv, const StoreEvent& e) { return rv < e.rv; });
    for (; it != history_.end(); ++it) w->Offer(*it);
  }
  watchers_.push_back(w);
  return w;
}

std::shared_ptr<Watcher> ObjectStore::Subscribe(const WatchFilter& filter, std::function<void()> notify) {
  std::unique_lock l(mu_);
  auto w = std::make_shared<Watcher>(filter, std::move(notify), SIZE_MAX);
  watchers_.push_back(w);
  return w;
}

void ObjectStore::Bookmark(const std::shared_ptr<Watcher>& w) {
  std::unique_lock l(mu_);
  WatchItem item;
  item.kind = WatchItem::Kind::kBookmark;
  item.type = "BOOKMARK";
  item.rv = rv_;
  item.resource = w->filter().resource;
  w->Push(std::move(item));
}

void ObjectStore::CompactHistory() {
  std::unique_lock l(mu_);
  history_.clear();
  floor_ = rv_;
}

}  // namespace kinema::sim
