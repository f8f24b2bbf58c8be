// PodTerminator: the one piece of kubelet behaviour the API server needs so
// that graceful pod deletion (kubectl delete, drain, evictions) completes —
// when a terminating pod's grace period has elapsed in simulated time, it is
// removed (Registry::FinishPodTermination). Issue 4's simulated kubelet will
// take this over (container stop, status updates) and can disable this one.
//
// Thread-safety: Start()/Stop() from the owner; the timer runs on the given
// io_context.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <map>
#include <memory>
#include <string>

#include "tools/kinema-sim/registry.h"

namespace kinema::sim {

class PodTerminator {
 public:
  PodTerminator(Registry* registry, boost::asio::io_context* io);
  void Start();
  void Stop();

 private:
  void Observe(const StoredObject& pod, bool deleted);
  void Tick();
  void Schedule();

  Registry* registry_;
  boost::asio::steady_timer timer_;
  std::shared_ptr<Watcher> watcher_;
  std::map<std::pair<std::string, std::string>, SimClock::TimePoint> terminating_;  // timer strand only
  bool stopped_ = false;
};

}  // namespace kinema::sim
