// Informer: an in-process cache of one kind, fed by an ObjectStore
// subscription (the simulator's equivalent of a client-go informer, minus
// the network).
//
// Contract:
//   - Start() subscribes first and lists second, so no write is missed; each
//     object is reported to the handler once per new resourceVersion
//     (events older than the cached state are dropped).
//   - Drain() applies every queued event and calls the handler with
//     (previous, current); current is null when the object was removed.
//     Because the store queues events synchronously inside the write, a
//     controller that drains before deciding always sees its own earlier
//     writes (read-your-writes without client-go's "expectations").
//   - If the subscription overflows (it is unbounded, so only after Stop())
//     Drain() relists.
// Thread-safety: not thread-safe; owned and drained by one strand. The
// notify callback runs under the store's write lock and must only post.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "tools/kinema-sim/object_store.h"

namespace kinema::sim::cluster {

class Informer {
 public:
  using Handler = std::function<void(const ObjectPtr& previous, const ObjectPtr& current)>;
  using Key = std::pair<std::string, std::string>;  // namespace, name

  Informer(const ResourceType* type, Handler handler);
  ~Informer();

  // Subscribes and loads the current objects (calling the handler for each).
  void Start(ObjectStore* store, std::function<void()> notify);
  void Stop();
  // Applies queued events; true if anything changed.
  bool Drain();

  ObjectPtr Get(const std::string& ns, const std::string& name) const;
  const std::map<Key, ObjectPtr>& items() const { return items_; }
  const ResourceType* type() const { return type_; }

 private:
  void Apply(const ObjectPtr& obj, bool removed);

  const ResourceType* type_;
  Handler handler_;
  ObjectStore* store_ = nullptr;
  std::function<void()> notify_;
  std::shared_ptr<Watcher> watcher_;
  std::map<Key, ObjectPtr> items_;
};

}  // namespace kinema::sim::cluster
