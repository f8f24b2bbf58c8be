#include "tools/kinema-sim/cluster/informer.h"

namespace kinema::sim::cluster {

Informer::Informer(const ResourceType* type, Handler handler) : type_(type), handler_(std::move(handler)) {}

Informer::~Informer() { Stop(); }

void Informer::Start(ObjectStore* store, std::function<void()> notify) {
  store_ = store;
  notify_ = notify;
  WatchFilter f;
  f.resource = type_;
  watcher_ = store->Subscribe(f, std::move(notify));
  for (const auto& obj : store->List(f).items) Apply(obj, false);
}

void Informer::Stop() {
  if (watcher_) watcher_->Stop();
}

bool Informer::Drain() {
  if (!watcher_) return false;
  if (watcher_->overflowed() && !watcher_->stopped()) {
    // Relist: report removals and changes against the fresh list.
    WatchFilter f;
    f.resource = type_;
    auto fresh = store_->List(f).items;
    std::map<Key, ObjectPtr> next;
    for (const auto& o : fresh) next[{o->ns, o->name}] = o;
    for (const auto& [k, o] : items_) {
      if (!next.count(k)) Apply(o, true);
    }
    for (const auto& o : fresh) Apply(o, false);
    watcher_ = store_->Subscribe(f, notify_);
    return true;
  }
  auto batch = watcher_->Take();
  for (const auto& item : batch) {
    if (item.object) Apply(item.object, item.type == "DELETED");
  }
  return !batch.empty();
}

ObjectPtr Informer::Get(const std::string& ns, const std::string& name) const {
  auto it = items_.find({ns, name});
  return it == items_.end() ? nullptr : it->second;
}

void Informer::Apply(const ObjectPtr& obj, bool removed) {
  Key key{obj->ns, obj->name};
  auto it = items_.find(key);
  ObjectPtr previous = it == items_.end() ? nullptr : it->second;
  if (previous && previous->rv >= obj->rv) return;  // already reflected
  if (removed) {
    if (!previous) return;
    items_.erase(it);
    handler_(previous, nullptr);
    return;
  }
  items_[key] = obj;
  handler_(previous, obj);
}

}  // namespace kinema::sim::cluster
