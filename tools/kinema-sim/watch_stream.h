// WatchStream: serves one Kubernetes watch request as a StreamSource — one
// `{"type":...,"object":...}` JSON document per line.
//
// Contract:
//   - Registers with the ObjectStore on Start(); a too-old resourceVersion is
//     answered like the real apiserver's watch cache: 200, then a single
//     ERROR event carrying Status{code:410, reason:"Expired"}, then the end.
//   - With bookmarks allowed, a BOOKMARK (only metadata.resourceVersion) is
//     sent every `bookmark_period` and just before the deadline.
//   - A consumer too slow to keep up (queue overflow) gets its stream ended;
//     the client must re-watch, as with the real server.
//   - `encode` renders an object for the stream (plain JSON, or a Table for
//     kubectl's as=Table requests).
// Thread-safety: see StreamSource.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "tools/kinema-sim/http_types.h"
#include "tools/kinema-sim/object_store.h"

namespace kinema::sim {

class WatchStream : public StreamSource {
 public:
  struct Options {
    std::optional<uint64_t> from_rv;  // nullopt: initial ADDED events first
    std::chrono::seconds timeout{1800};
    bool bookmarks = false;
    std::chrono::milliseconds bookmark_period{std::chrono::seconds(5)};
    std::optional<std::chrono::milliseconds> drop_after;  // fault injection
    // Object rendering; default = the stored JSON text.
    std::function<std::string(const StoredObject&, const std::string& event_type)> encode;
  };

  WatchStream(ObjectStore* store, WatchFilter filter, Options options);

  void Start(std::function<void()> wake) override;
  std::string Drain(bool* finished) override;
  std::chrono::steady_clock::time_point Deadline() const override { return deadline_; }
  std::optional<std::chrono::milliseconds> DropAfter() const override { return options_.drop_after; }
  std::chrono::milliseconds TickPeriod() const override;
  void Tick() override;
  void Stop() override;

 private:
  ObjectStore* store_;
  WatchFilter filter_;
  Options options_;
  std::chrono::steady_clock::time_point deadline_;
  std::shared_ptr<Watcher> watcher_;
  std::string pending_error_;  // an ERROR line to send, then finish
  bool final_bookmark_sent_ = false;
};

}  // namespace kinema::sim
