// ScaleEvents: the scenario's timed "scale" events — at a simulated offset
// from start, set a Deployment's (or StatefulSet's) spec.replicas, as
// `kubectl scale` would:
//   {"events":[{"at":"2m","kind":"scale","deployment":"shop/cart","replicas":5}]}
// `deployment` (or `statefulset`) is "namespace/name" or "name" (namespace
// default). Events of other kinds belong to other parts and are ignored;
// a malformed scale event is an InvalidArgument naming events[i].field.
// Thread-safety: runs on its own strand (ControllerLoop).
#pragma once

#include <string>
#include <vector>

#include "tools/kinema-sim/cluster/controller_loop.h"

namespace kinema::sim::cluster {

class ScaleEvents : public ControllerLoop {
 public:
  std::string Name() const override { return "scale-events"; }

  struct Event {
    double at_seconds = 0;
    bool statefulset = false;
    std::string ns, name;
    long long replicas = 0;
  };
  // Parses the scale events of a scenario document.
  static StatusOr<std::vector<Event>> Parse(const nlohmann::json& scenario);

 protected:
  Status Setup(SimServer& server) override;
  void Pump() override {}

 private:
  void Fire(const Event& e);
};

}  // namespace kinema::sim::cluster
