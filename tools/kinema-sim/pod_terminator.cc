#include "tools/kinema-sim/pod_terminator.h"

#include <spdlog/spdlog.h>

namespace kinema::sim {

namespace {
const ResourceType& Pods() { return *ResourceRegistry::Default().Find("", "v1", "pods"); }
constexpr auto kTickPeriod = std::chrono::milliseconds(100);
}  // namespace

PodTerminator::PodTerminator(Registry* registry, boost::asio::io_context* io) : registry_(registry), timer_(*io) {}

void PodTerminator::Start() {
  WatchFilter f;
  f.resource = &Pods();
  watcher_ = registry_->store()->Subscribe(f, nullptr);
  for (const auto& pod : registry_->store()->List(f).items) Observe(*pod, false);
  Schedule();
}

void PodTerminator::Stop() {
  stopped_ = true;
  timer_.cancel();
  if (watcher_) watcher_->Stop();
}

void PodTerminator::Observe(const StoredObject& pod, bool deleted) {
  auto key = std::make_pair(pod.ns, pod.name);
  const auto& md = pod.body["metadata"];
  if (deleted || !md.contains("deletionTimestamp")) {
    terminating_.erase(key);
    return;
  }
  SimClock::TimePoint t;
  if (!SimClock::ParseTime(md.value("deletionTimestamp", ""), &t)) t = registry_->clock()->Now();
  terminating_[key] = t;
}

void PodTerminator::Schedule() {
  if (stopped_) return;
  timer_.expires_after(kTickPeriod);
  timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec || stopped_) return;
    Tick();
    Schedule();
  });
}

void PodTerminator::Tick() {
  for (const WatchItem& item : watcher_->Take()) {
    if (item.object) Observe(*item.object, item.type == "DELETED");
  }
  auto now = registry_->clock()->Now();
  for (auto it = terminating_.begin(); it != terminating_.end();) {
    if (it->second > now) {
      ++it;
      continue;
    }
    auto r = registry_->FinishPodTermination(it->first.first, it->first.second);
    if (r.ok() && r.value().removed) spdlog::debug("pod {}/{} terminated", it->first.first, it->first.second);
    it = terminating_.erase(it);  // re-added by the watch if it is still there and terminating
  }
}

}  // namespace kinema::sim
