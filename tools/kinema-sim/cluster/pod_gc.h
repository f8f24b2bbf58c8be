// PodGc: the pod garbage collector's orphan sweep
// (pkg/controller/podgc/gc_controller.go gcOrphaned): pods bound to a node
// that no longer exists are force-deleted (grace 0) once the node has been
// gone for the quarantine (`podGC.quarantine`, default 40s — the real
// controller's quarantineTime). A node that comes back in time saves them.
// Thread-safety: runs on its own strand (ControllerLoop).
#pragma once

#include <map>
#include <memory>
#include <set>
#include <string>
#include <unordered_map>

#include "tools/kinema-sim/cluster/controller_loop.h"
#include "tools/kinema-sim/cluster/informer.h"

namespace kinema::sim::cluster {

class PodGc : public ControllerLoop {
 public:
  std::string Name() const override { return "pod-gc"; }

 protected:
  Status Setup(SimServer& server) override;
  void Pump() override;
  void Teardown() override;

 private:
  using Key = Informer::Key;
  void OnNode(const ObjectPtr& prev, const ObjectPtr& cur);
  void OnPod(const ObjectPtr& prev, const ObjectPtr& cur);
  void Quarantine(const std::string& node);
  void Collect(const std::string& node);

  double quarantine_ = 40.0;
  std::unique_ptr<Informer> nodes_, pods_;
  std::unordered_map<std::string, std::set<Key>> pods_by_node_;
  std::set<std::string> quarantined_;  // missing nodes with a sweep queued
  std::set<std::string> newly_missing_;
};

}  // namespace kinema::sim::cluster
