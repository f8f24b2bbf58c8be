// ControllerLoop: the plumbing every simulated controller shares — a strand
// on the SimServer's io_context, coalesced wake-ups from store
// subscriptions, and a queue of callbacks due at simulated times.
//
// Contract:
//   - Everything a controller does (draining informers, syncing, timers)
//     runs on its strand, one thing at a time; subclasses need no locks.
//   - Kick() is thread-safe and cheap (an atomic flag): many store events
//     cause one Pump(), run 2 ms (wall) after the first of them.
//   - At(t, fn) runs fn on the strand once simulated time reaches t; one
//     Asio timer serves the whole queue (20k pending pod starts cost one
//     timer, not 20k).
//   - Stop() runs on the strand (waits for it) so no callback runs after it
//     returns.
// Thread-safety: Kick() from any thread; the rest on the strand (or
// before Attach()).
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "engine/common/status.h"
#include "tools/kinema-sim/sim_component.h"
#include "tools/kinema-sim/sim_server.h"

namespace kinema::sim::cluster {

class ControllerLoop : public SimComponent {
 public:
  ~ControllerLoop() override = default;

  Status Start(SimServer& server) final;
  void Stop() final;

 protected:
  // Called on Start(): read scenario keys, create informers (Watch() them).
  // Runs on the caller's thread before any callback can run.
  virtual Status Setup(SimServer& server) = 0;
  // Called on the strand after store events (Kick) and once after Setup.
  virtual void Pump() = 0;
  virtual void Teardown() {}

  SimServer& server() { return *server_; }
  SimClock::TimePoint Now() const { return server_->clock().Now(); }

  // Thread-safe wake-up; also the notify callback for informers.
  void Kick();
  std::function<void()> Notifier() {
    return [this] { Kick(); };
  }
  // Runs `fn` on the strand once simulated time reaches `due`.
  void At(SimClock::TimePoint due, std::function<void()> fn);
  void After(double sim_seconds, std::function<void()> fn);

 private:
  void ArmTimer();
  void RunDue();

  SimServer* server_ = nullptr;
  std::unique_ptr<boost::asio::strand<boost::asio::io_context::executor_type>> strand_;
  std::unique_ptr<boost::asio::steady_timer> timer_;
  std::unique_ptr<boost::asio::steady_timer> kick_timer_;
  std::multimap<SimClock::TimePoint, std::function<void()>> due_;
  SimClock::TimePoint armed_for_{};
  bool armed_ = false;
  std::atomic<bool> kicked_{false};
  std::atomic<bool> stopped_{false};
};

// "2s", "1m30s", "250ms" → simulated seconds; InvalidArgument naming `key`.
StatusOr<double> ParseSeconds(const nlohmann::json& value, const std::string& key);

}  // namespace kinema::sim::cluster
