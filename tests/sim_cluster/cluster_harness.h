// Test harness for the cluster controllers: an in-process SimServer (port
// 0, fast --time-scale) with ClusterParts registered, a snapshot built in
// code, and a test-only binder standing in for the scheduler (binds every
// Pending unscheduled pod to a Ready node, round robin). Not product code.
#pragma once

#include <nlohmann/json.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "tools/kinema-sim/cluster/cluster_parts.h"
#include "tools/kinema-sim/sim_server.h"

namespace kinema::sim::clustertest {

using Json = nlohmann::json;

// Snapshot items.
Json NodeItem(const std::string& name, bool ready = true);
Json PodTemplate(const std::string& app, const std::string& image);
// A Deployment with its converged ReplicaSet (hash `hash`, not ours) and
// `replicas` Running/Ready pods spread over `nodes`.
std::vector<Json> ConvergedDeployment(const std::string& ns, const std::string& name, int replicas,
                                      const std::vector<std::string>& nodes, const Json& strategy = Json(),
                                      const std::string& hash = "6b7f9c5d4d");

// Binds Pending pods without a node to Ready nodes (round robin), through
// the pods/binding subresource like a scheduler would.
class TestBinder : public cluster::ControllerLoop {
 public:
  std::string Name() const override { return "test-binder"; }

 protected:
  Status Setup(SimServer& server) override;
  void Pump() override;

 private:
  std::unique_ptr<cluster::Informer> pods_, nodes_;
  std::vector<std::string> unbound_;
  size_t next_ = 0;
};

class Harness {
 public:
  struct Options {
    double time_scale = 100;
    bool binder = true;
    Json scenario = Json::object();
  };
  Harness(const std::vector<Json>& items, Options options);
  ~Harness();

  bool ok() const { return ok_; }
  const std::string& error() const { return error_; }
  SimServer& server() { return *server_; }
  Registry& registry() { return server_->registry(); }
  ObjectStore& store() { return server_->store(); }

  // Polls `pred` every 5 ms of wall time until true or `sim_seconds` of
  // simulated time have passed.
  bool WaitFor(const std::function<bool()>& pred, double sim_seconds);
  // Sleeps for `sim_seconds` of simulated time.
  void Sleep(double sim_seconds);

  std::vector<ObjectPtr> Pods(const std::string& ns, const std::string& label_selector = "");
  ObjectPtr Get(const ResourceType& rt, const std::string& ns, const std::string& name);
  Json Report();

 private:
  std::string dir_;
  std::unique_ptr<cluster::ClusterParts> parts_;
  std::unique_ptr<TestBinder> binder_;
  std::unique_ptr<SimServer> server_;
  bool ok_ = false;
  std::string error_;
};

}  // namespace kinema::sim::clustertest
