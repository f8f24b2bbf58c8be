#include "tools/kinema-sim/cluster/pod_gc.h"

#include <spdlog/spdlog.h>

#include "tools/kinema-sim/cluster/kinds.h"
#include "tools/kinema-sim/cluster/workload.h"

namespace kinema::sim::cluster {

namespace {

std::string NodeOf(const ObjectPtr& pod) {
  if (!pod) return "";
  auto s = pod->body.find("spec");
  return s != pod->body.end() && s->is_object() ? s->value("nodeName", "") : "";
}

}  // namespace

Status PodGc::Setup(SimServer& server) {
  const Json& sc = server.scenario();
  if (sc.contains("podGC")) {
    const Json& g = sc["podGC"];
    if (!g.is_object()) return Status::InvalidArgument("scenario podGC: must be an object");
    for (auto it = g.begin(); it != g.end(); ++it) {
      if (it.key() != "quarantine") return Status::InvalidArgument("scenario podGC." + it.key() + ": unknown key");
      auto v = ParseSeconds(it.value(), "podGC.quarantine");
      if (!v.ok()) return v.status();
      quarantine_ = v.value();
    }
  }
  nodes_ = std::make_unique<Informer>(&NodesType(), [this](const ObjectPtr& p, const ObjectPtr& c) { OnNode(p, c); });
  pods_ = std::make_unique<Informer>(&PodsType(), [this](const ObjectPtr& p, const ObjectPtr& c) { OnPod(p, c); });
  nodes_->Start(&server.store(), Notifier());
  pods_->Start(&server.store(), Notifier());
  return Status::OK();
}

void PodGc::Teardown() {
  nodes_->Stop();
  pods_->Stop();
}

void PodGc::OnNode(const ObjectPtr& prev, const ObjectPtr& cur) {
  if (!cur && prev && pods_by_node_.count(prev->name)) newly_missing_.insert(prev->name);
}

void PodGc::OnPod(const ObjectPtr& prev, const ObjectPtr& cur) {
  const ObjectPtr& any = cur ? cur : prev;
  Informer::Key key{any->ns, any->name};
  std::string before = NodeOf(prev), after = NodeOf(cur);
  if (!before.empty() && before != after) {
    auto it = pods_by_node_.find(before);
    if (it != pods_by_node_.end()) {
      it->second.erase(key);
      if (it->second.empty()) pods_by_node_.erase(it);
    }
  }
  if (!cur || after.empty()) return;
  pods_by_node_[after].insert(key);
  if (!nodes_->Get("", after)) newly_missing_.insert(after);
}

void PodGc::Pump() {
  nodes_->Drain();
  pods_->Drain();
  auto missing = std::move(newly_missing_);
  newly_missing_.clear();
  for (const auto& node : missing) {
    if (!nodes_->Get("", node)) Quarantine(node);
  }
}

void PodGc::Quarantine(const std::string& node) {
  if (!quarantined_.insert(node).second) return;
  spdlog::info("pod-gc: node {} is gone; its pods are deleted in {}s unless it returns", node, quarantine_);
  After(quarantine_, [this, node] { Collect(node); });
}

void PodGc::Collect(const std::string& node) {
  nodes_->Drain();
  pods_->Drain();
  quarantined_.erase(node);
  if (nodes_->Get("", node)) return;
  auto it = pods_by_node_.find(node);
  if (it == pods_by_node_.end()) return;
  std::vector<Key> keys(it->second.begin(), it->second.end());
  DeleteOptions force;
  force.grace_period_seconds = 0;
  size_t n = 0;
  for (const Key& k : keys) {
    auto r = server().registry().Delete(PodsType(), k.first, k.second, force);
    if (r.ok()) n++;
  }
  spdlog::info("pod-gc: deleted {} orphaned pod(s) of vanished node {}", n, node);
  pods_->Drain();
  // Pods bound to the node meanwhile (after the sweep started) get their own quarantine.
  if (pods_by_node_.count(node)) Quarantine(node);
}

}  // namespace kinema::sim::cluster
