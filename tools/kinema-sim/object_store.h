// ObjectStore: the simulator's etcd. Every Kubernetes object lives here as an
// immutable StoredObject; a write replaces the pointer.
//
// Contract / invariants:
//   - One global, strictly increasing resourceVersion (RV) across all kinds,
//     like the etcd revision. Every successful write (put or remove) takes the
//     next RV and stamps it into metadata.resourceVersion of the stored object
//     (a removed object's final state also carries its deletion RV).
//   - Each write appends one StoreEvent to a bounded history (capacity set at
//     construction). `HistoryFloor()` is the highest RV no longer covered:
//     every event with rv > floor is still in the history, so a watch may
//     resume from any RV >= floor; older RVs get 410 Expired.
//   - Mutate() runs the caller's mutator under the store's write lock, so a
//     read-modify-write on one object is atomic (optimistic-concurrency checks
//     belong in the mutator). Mutators must not call back into the store.
//   - Objects are stored with their serialized JSON text cached, so lists and
//     watch streams never re-serialize.
//   - The store knows nothing about HTTP and applies no Kubernetes semantics
//     (uid, generation, defaults, finalizers): the API layer (api_handler) does.
//     Controllers (issue 4) may use Mutate()/List()/Subscribe() directly; they
//     then bypass admission, exactly like writing to etcd would.
//
// Thread-safety: all public methods are thread-safe. Reads take a shared
// lock; writes and watch registration take the exclusive lock. Watcher
// notification callbacks run under the write lock and must only enqueue work
// (e.g. post to an io_context), never block or touch the store.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "tools/kinema-sim/api_error.h"
#include "tools/kinema-sim/resource_types.h"
#include "tools/kinema-sim/selectors.h"

namespace kinema::sim {

struct StoredObject {
  const ResourceType* type = nullptr;
  std::string ns;    // empty for cluster-scoped kinds
  std::string name;
  uint64_t rv = 0;
  nlohmann::json body;  // full object, metadata.resourceVersion == rv
  std::string text;     // body.dump()
};
using ObjectPtr = std::shared_ptr<const StoredObject>;

enum class EventType { kAdded, kModified, kDeleted };
const char* EventTypeName(EventType t);

struct StoreEvent {
  EventType type;
  const ResourceType* resource;
  uint64_t rv;
  ObjectPtr object;    // new state; for kDeleted the final state (with the deletion RV)
  ObjectPtr previous;  // old state (null for kAdded)
};

// Which objects a watch (or subscription) sees. A null resource means every kind.
struct WatchFilter {
  const ResourceType* resource = nullptr;
  std::string ns;  // empty = all namespaces
  LabelSelector labels;
  FieldSelector fields;
  bool Matches(const StoredObject& o) const;
};

// One item of a watch stream, as the client will see it.
struct WatchItem {
  enum class Kind { kEvent, kBookmark };
  Kind kind = Kind::kEvent;
  std::string type;  // "ADDED", "MODIFIED", "DELETED", "BOOKMARK"
  ObjectPtr object;  // null for bookmarks
  uint64_t rv = 0;
  const ResourceType* resource = nullptr;
};

// A registered watch: the store pushes matching events into its queue and
// calls `notify`; the consumer drains with Take(). Thread-safe.
class Watcher {
 public:
  Watcher(WatchFilter filter, std::function<void()> notify, size_t max_queue);

  const WatchFilter& filter() const { return filter_; }
  // Takes every queued item (possibly none).
  std::vector<WatchItem> Take();
  // True once the consumer is too slow (queue overflowed) or Stop() was called.
  bool overflowed() const;
  bool stopped() const;
  // Unregisters: no more items are queued; safe to call more than once.
  void Stop();

 private:
  friend class ObjectStore;
  void Offer(const StoreEvent& e);   // filtered push (store lock held)
  void Push(WatchItem item);         // unfiltered push (store lock held)

  const WatchFilter filter_;
  const std::function<void()> notify_;
  const size_t max_queue_;
  mutable std::mutex mu_;
  std::deque<WatchItem> queue_;
  bool overflowed_ = false;
  bool stopped_ = false;
};

class ObjectStore {
 public:
  struct Mutation {
    enum class Action { kNone, kPut, kRemove };
    Action action = Action::kNone;
    nlohmann::json object;  // kPut: the complete new object
  };
  // Gets the current object (null if absent), decides what to write.
  using Mutator = std::function<ApiResult<Mutation>(const ObjectPtr& current)>;

  struct ListResult {
    std::vector<ObjectPtr> items;  // sorted by namespace/name
    uint64_t rv = 0;               // the store RV the list reflects
  };

  explicit ObjectStore(size_t history_capacity);

  uint64_t CurrentRv() const;
  uint64_t HistoryFloor() const;

  // nullptr when absent.
  ObjectPtr Get(const ResourceType& rt, const std::string& ns, const std::string& name) const;
  ListResult List(const WatchFilter& filter) const;

  // Atomic read-modify-write of one object. Returns the stored object after
  // a put, the final state after a remove, the current object for kNone
  // (NotFound if there is none). With dry_run nothing is written (the
  // returned object shows what would have been stored, RV unchanged).
  ApiResult<ObjectPtr> Mutate(const ResourceType& rt, const std::string& ns, const std::string& name,
                              const Mutator& fn, bool dry_run = false);

  // Registers a watch. from_rv == nullopt: start with a synthetic ADDED for
  // every matching object. Otherwise replay history events with rv > from_rv;
  // from_rv below HistoryFloor() is 410 Expired ("too old resource version").
  ApiResult<std::shared_ptr<Watcher>> Watch(const WatchFilter& filter, std::optional<uint64_t> from_rv,
                                            std::function<void()> notify, size_t max_queue = 200000);
  // In-process subscription to every future event (controllers, metrics).
  std::shared_ptr<Watcher> Subscribe(const WatchFilter& filter, std::function<void()> notify);
  // Queues a BOOKMARK carrying the current RV, ordered after every event
  // already queued for this watcher.
  void Bookmark(const std::shared_ptr<Watcher>& w);

  // Forgets the history (used once after the snapshot is loaded).
  void CompactHistory();

 private:
  using Key = std::string;  // "ns/name" or "name"
  static Key MakeKey(const std::string& ns, const std::string& name);
  void Record(const StoreEvent& e);  // lock held

  const size_t history_capacity_;
  mutable std::shared_mutex mu_;
  uint64_t rv_ = 100;
  uint64_t floor_ = 100;
  std::unordered_map<const ResourceType*, std::map<Key, ObjectPtr>> data_;
  std::deque<StoreEvent> history_;
  std::vector<std::weak_ptr<Watcher>> watchers_;
};

}  // namespace kinema::sim
