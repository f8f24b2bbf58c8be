#include "tools/kinema-sim/cluster/controller_loop.h"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>

#include <future>

#include "engine/common/time.h"

namespace kinema::sim::cluster {

namespace {
constexpr auto kCoalesceWindow = std::chrono::milliseconds(2);
}  // namespace

Status ControllerLoop::Start(SimServer& server) {
  server_ = &server;
  strand_ = std::make_unique<boost::asio::strand<boost::asio::io_context::executor_type>>(
      boost::asio::make_strand(server.io()));
  timer_ = std::make_unique<boost::asio::steady_timer>(*strand_);
  kick_timer_ = std::make_unique<boost::asio::steady_timer>(*strand_);
  KINEMA_RETURN_IF_ERROR(Setup(server));
  Kick();
  return Status::OK();
}

void ControllerLoop::Stop() {
  if (!strand_ || stopped_.exchange(true)) return;
  std::promise<void> done;
  auto fut = done.get_future();
  boost::asio::dispatch(*strand_, [this, &done] {
    timer_->cancel();
    kick_timer_->cancel();
    due_.clear();
    Teardown();
    done.set_value();
  });
  if (fut.wait_for(std::chrono::seconds(10)) != std::future_status::ready) {
    spdlog::warn("{}: strand did not stop within 10s", Name());
  }
}

void ControllerLoop::Kick() {
  if (stopped_.load() || kicked_.exchange(true)) return;
  // Wait a moment so that a burst of store events (a drain, a rollout, a
  // node's pods going) is handled by one Pump, like a workqueue's batching.
  boost::asio::post(*strand_, [this] {
    if (stopped_.load()) return;
    kick_timer_->expires_after(kCoalesceWindow);
    kick_timer_->async_wait([this](const boost::system::error_code& ec) {
      if (ec || stopped_.load()) return;
      kicked_.store(false);
      Pump();
    });
  });
}

void ControllerLoop::At(SimClock::TimePoint due, std::function<void()> fn) {
  due_.emplace(due, std::move(fn));
  ArmTimer();
}

void ControllerLoop::After(double sim_seconds, std::function<void()> fn) {
  At(Now() + std::chrono::duration_cast<SimClock::TimePoint::duration>(std::chrono::duration<double>(sim_seconds)),
     std::move(fn));
}

void ControllerLoop::ArmTimer() {
  if (due_.empty() || stopped_.load()) return;
  SimClock::TimePoint first = due_.begin()->first;
  if (armed_ && armed_for_ <= first) return;
  armed_ = true;
  armed_for_ = first;
  double sim_seconds = std::chrono::duration<double>(first - Now()).count();
  timer_->expires_after(server_->clock().WallDuration(sim_seconds > 0 ? sim_seconds : 0));
  timer_->async_wait([this, first](const boost::system::error_code& ec) {
    if (ec || stopped_.load()) return;  // cancelled (re-armed earlier or stopping)
    if (armed_for_ == first) armed_ = false;
    RunDue();
  });
}

void ControllerLoop::RunDue() {
  auto now = Now();
  while (!due_.empty() && due_.begin()->first <= now && !stopped_.load()) {
    auto fn = std::move(due_.begin()->second);
    due_.erase(due_.begin());
    fn();
  }
  armed_ = false;
  ArmTimer();
}

StatusOr<double> ParseSeconds(const nlohmann::json& value, const std::string& key) {
  if (value.is_number()) {
    double v = value.get<double>();
    if (v < 0) return Status::InvalidArgument(key + ": must not be negative");
    return v;
  }
  if (!value.is_string()) return Status::InvalidArgument(key + ": expected a duration string such as \"2s\"");
  auto d = ParseDuration(value.get<std::string>());
  if (!d.ok()) return Status::InvalidArgument(key + ": " + d.status().ToString());
  return d.value().count() / 1000.0;
}

}  // namespace kinema::sim::cluster
