// Informer: a local, continuously updated cache of one resource kind
// (client-go's reflector + store), which the controller reads instead of
// hitting the API server.
//
// Contract:
//   - Start() launches one background thread: paginated LIST, then WATCH from
//     the list's resourceVersion with bookmarks. A watch that ends normally is
//     resumed from the last seen resourceVersion; a dropped stream or server
//     error is resumed after a jittered, growing backoff; 410 Gone (expired
//     resourceVersion, as HTTP status or ERROR event) triggers a fresh LIST
//     whose differences against the cache are delivered as add/update/delete.
//   - HasSynced() turns true after the first complete LIST and stays true.
//   - Handlers run on the informer thread, in event order, never while the
//     cache lock is held; a slow handler delays the informer, so keep them short.
//   - Reads (Get/List/Size) are consistent snapshots of the cache and never
//     block on the network.
// Thread-safety: all public methods are thread-safe. AddHandler must be
// called before Start().
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <thread>
#include <vector>

#include "engine/kube/client.h"

namespace kinema::kube {

struct InformerOptions {
  std::string ns;  // "" = all namespaces (or cluster-scoped kinds)
  std::string label_selector;
  std::string field_selector;
  int64_t page_size = 500;
  int watch_timeout_seconds = 300;
  std::chrono::milliseconds min_backoff{200};
  std::chrono::milliseconds max_backoff{30000};
};

struct EventHandler {
  std::function<void(const Json& obj)> on_add;
  std::function<void(const Json& old_obj, const Json& new_obj)> on_update;
  std::function<void(const Json& last_known)> on_delete;
};

class Informer {
 public:
  using ObjectPtr = std::shared_ptr<const Json>;

  struct Stats {
    uint64_t lists = 0;            // complete LISTs
    uint64_t relists_after_gone = 0;
    uint64_t watches = 0;          // watch streams opened
    uint64_t watch_errors = 0;     // streams that ended in an error
    uint64_t events = 0;           // watch events applied (bookmarks excluded)
  };

  Informer(Client* client, const ResourceKind& kind, InformerOptions options = {});
  ~Informer();
  Informer(const Informer&) = delete;
  Informer& operator=(const Informer&) = delete;

  void AddHandler(EventHandler handler);
  void Start();
  void Stop();  // idempotent; returns once the thread has exited

  bool HasSynced() const { return synced_.load(); }
  bool WaitForSync(std::chrono::milliseconds timeout) const;

  // Key: "ns/name" or "name" (see obj::Key).
  ObjectPtr Get(const std::string& key) const;
  std::vector<ObjectPtr> List() const;
  size_t Size() const;
  std::string LastResourceVersion() const;
  Stats stats() const;
  Status last_error() const;

 private:
  void Run();
  Status ListAndReplace();
  void Apply(const WatchEvent& event);
  void SleepFor(std::chrono::milliseconds d);
  void Dispatch(int type, const ObjectPtr& old_obj, const ObjectPtr& new_obj);

  Client* const client_;
  const ResourceKind kind_;
  const InformerOptions options_;
  std::vector<EventHandler> handlers_;

  mutable std::shared_mutex store_mu_;
  std::map<std::string, ObjectPtr> store_;
  std::string resource_version_;

  std::atomic<bool> synced_{false};
  mutable std::mutex sync_mu_;
  mutable std::condition_variable sync_cv_;

  std::atomic<bool> stop_{false};
  std::mutex sleep_mu_;
  std::condition_variable sleep_cv_;
  std::thread thread_;

  mutable std::mutex stats_mu_;
  Stats stats_;
  Status last_error_;
};

}  // namespace kinema::kube
