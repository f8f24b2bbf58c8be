// FakeGce: a fake Google Compute Engine API (Compute REST v1 subset) and
// GKE API (container v1 subset) inside kinema-sim, and the cloud half of the
// simulated world: instances boot, register their Node, die, and are billed;
// node pools own managed instance groups whose members are instances.
// Behaviour and scenario format: README.md in this folder.
//
// Served under /compute/v1/ (any bearer token or none):
//   GET    projects/P/zones[/Z]                         zones.list / zones.get
//   POST   projects/P/zones/Z/instances?requestId=R      instances.insert
//   GET    projects/P/zones/Z/instances[?filter&maxResults&pageToken]
//   GET    projects/P/zones/Z/instances/N
//   DELETE projects/P/zones/Z/instances/N?requestId=R    instances.delete
//   GET    projects/P/aggregated/instances[?filter&maxResults&pageToken]
//   GET    projects/P/zones/Z/operations/O               zoneOperations.get
//   POST   projects/P/zones/Z/operations/O/wait          zoneOperations.wait
//   GET    projects/P/zones/Z/machineTypes[/T]           from the catalog
//   GET    projects/P/zones/Z/instanceGroupManagers/M    (fake_gke.cc: groups)
//   POST   .../instanceGroupManagers/M/createInstances|deleteInstances|
//          listManagedInstances|resize?size=N;  GET .../M/listErrors
//   GET    projects/P/global/instanceTemplates/T, projects/P/regions/R/instanceTemplates/T
// and under /container/v1/ (fake_gke.cc):
//   POST|GET projects/P/locations/L/clusters/C/nodePools[/NP]   create, list, get
//   DELETE   .../nodePools/NP;  POST .../nodePools/NP:setSize
//   GET      projects/P/locations/L/operations[/OP]
//
// Invariants:
//   - A requestId names at most one operation per project, forever: a repeat
//     returns that operation whatever the body, and never creates or deletes
//     anything (GCE keeps them >= 60 minutes; the sim never forgets).
//   - An instance name is unique per project and zone while the instance
//     exists (until its delete operation is DONE).
//   - Operation times (start, done) are fixed when the operation is created;
//     states are a function of simulated time, so answers never depend on
//     when the background thread last ran.
//   - --faults rules on compute.* resources (tools/kinema-sim/faults.h) apply
//     to every request ClassifyComputeRequest() names: an injected error is
//     answered before anything is looked at; a lost response is answered
//     after the request was carried out in full. Latency is waited by the
//     HTTP server's timer before Handle() runs.
//   - Cluster mode "gke": an instance registers its Node only while it is a
//     member of a group listed by a usable node pool; any other instance
//     never does and is counted once in nonMemberInstances. Members lost
//     behind the group's back (instances.delete, preemption, host failure)
//     are recreated under the same name once the old instance is gone.
//   - One cluster operation at a time: a second create/delete/setSize while
//     one runs is 400 FAILED_PRECONDITION (CLUSTER_ALREADY_HAS_OPERATION).
//   - SimStats: instances_created counts inserts that created an instance
//     (not quota/stockout failures, not repeats); instances_deleted counts
//     accepted deletes; duplicate_create_requests counts inserts refused with
//     409 alreadyExists (a name that exists, under another or no requestId).
// Thread-safety: the HTTP handler runs on the server's io threads, the
// lifecycle on FakeGce's own thread; all state is behind one mutex, which is
// never held while waiting. Lock order: FakeGce's mutex, then the store's;
// the FaultInjector is consulted without FakeGce's mutex.
#pragma once

#include <nlohmann/json.hpp>

#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "engine/catalog/catalog.h"
#include "tools/kinema-sim/faults.h"
#include "tools/kinema-sim/gce/cloud_scenario.h"
#include "tools/kinema-sim/http_types.h"
#include "tools/kinema-sim/object_store.h"
#include "tools/kinema-sim/sim_clock.h"
#include "tools/kinema-sim/sim_component.h"
#include "tools/kinema-sim/sim_stats.h"

namespace kinema::sim {
class SimServer;
}

namespace kinema::sim::gce {

// The fault target of a /compute/v1/ request: verb get|list|create|delete|wait
// on compute.instances|operations|machineTypes|zones; nullopt for paths and
// methods the fake does not serve (those answer 404/405, never a fault).
std::optional<FaultTarget> ClassifyComputeRequest(const HttpRequest& req);
// The same for /container/v1/: container.nodePools (create, get, list,
// delete, update = setSize) and container.operations (get, list).
std::optional<FaultTarget> ClassifyContainerRequest(const HttpRequest& req);

class FakeGce : public SimComponent, public CloudLedger {
 public:
  FakeGce() = default;
  ~FakeGce() override;

  // Registers the /compute/v1/ route and the component with `server`
  // (before server.Start()). `server` must outlive this object's use.
  void Attach(SimServer& server);

  // SimComponent
  std::string Name() const override { return "gce"; }
  Status Start(SimServer& server) override;
  void Stop() override;

  // CloudLedger
  CloudAccount Account() const override;

  HttpResponse Handle(const HttpRequest& req);
  HttpResponse HandleContainer(const HttpRequest& req);

  // How long zoneOperations.wait may hold a server thread (wall time), at
  // most: real GCE waits up to 2 minutes; the sim waits up to 2 simulated
  // minutes but never longer than this, since the request blocks an io thread.
  static constexpr std::chrono::milliseconds kMaxWaitWall{500};

 private:
  using TimePoint = SimClock::TimePoint;
  enum class End { kNone, kDeleted, kFailed, kPreempted };
  enum class NodeState { kPending, kSkipped, kRegistered, kNotReady, kRemoved };

  struct InstanceRec {
    std::string project, zone, name, machine_type;
    uint64_t id = 0;
    bool spot = false;
    bool adopted = false;
    double price = 0;
    int64_t vcpus = 0;  // for the CPUS quota
    std::string internal_ip;
    nlohmann::json body;  // insert body as received (disks, metadata, scheduling, ...)
    std::map<std::string, std::string> node_labels;
    TimePoint created, running_at, join_at;
    End end = End::kNone;
    TimePoint stop_at;              // valid when end != kNone
    bool delete_requested = false;  // an instances.delete (or spot DELETE action) is under way
    std::optional<TimePoint> gone_at;
    bool delete_on_preemption = true;
    NodeState node = NodeState::kPending;
    TimePoint node_not_ready_at, node_remove_at;
    std::string group;  // zone/name of the managed instance group it is a member of; "" standalone
    bool non_member_counted = false;
  };

  // ---- GKE: node pools, managed instance groups, templates (fake_gke.cc)
  struct MemberRec {
    std::string name;
    bool deleting = false;   // deleteInstances / resize / pool delete: leaves with its instance
    bool stuck = false;      // could not be created (stockout, quota): retried, never RUNNING
    std::string error_code, error_message;
    TimePoint next_attempt{};
  };
  struct GroupRec {
    std::string project, zone, name, base, template_url, pool;
    uint64_t id = 0;
    std::map<std::string, MemberRec> members;  // by instance name
    nlohmann::json errors = nlohmann::json::array();  // listErrors items, oldest first
    TimePoint created{};
  };
  struct PoolRec {
    std::string name, hash, template_name;
    nlohmann::json config;   // NodePool.config as created
    std::vector<std::string> locations;
    nlohmann::json autoscaling, management;
    int64_t initial_node_count = 0;
    TimePoint created{}, ready_at{};
    bool materialized = false;
    std::optional<TimePoint> deleted_at;  // DELETE_NODE_POOL done then
    std::vector<std::string> groups;      // GroupRec keys zone/name
  };
  struct ClusterOpRec {
    std::string name, type, pool;
    TimePoint start{}, done{};
  };

  struct OpRec {
    std::string name, project, zone, type, target_name, request_id;
    std::string target_collection = "instances";  // or instanceGroupManagers
    uint64_t id = 0, target_id = 0;
    TimePoint insert_time, start_time, done_time;
    std::string error_code, error_message;
    int http_error = 0;
    std::string http_error_message;
  };

  struct Ctx {  // per-request: base URL, project, zone
    std::string base;  // http://host/compute/v1
    std::string project;
    std::string zone;
    TimePoint now;
    std::string ProjectPath() const { return "projects/" + project; }
    std::string ZonePath() const { return ProjectPath() + "/zones/" + zone; }
  };

  HttpResponse Serve(const HttpRequest& req);  // Handle() without faults; takes mu_ itself

  // HTTP (mu_ held unless noted)
  HttpResponse Route(const HttpRequest& req, const std::vector<std::string>& seg);
  HttpResponse Insert(const Ctx& c, const HttpRequest& req);
  HttpResponse Delete(const Ctx& c, const std::string& name, const HttpRequest& req);
  HttpResponse GetInstance(const Ctx& c, const std::string& name);
  HttpResponse SimulateMaintenanceEvent(const Ctx& c, const std::string& name);
  HttpResponse ListInstances(const Ctx& c, const HttpRequest& req, bool aggregated);
  HttpResponse MachineTypes(const Ctx& c, const std::string& name, const HttpRequest& req);
  HttpResponse Zones(const Ctx& c, const std::string& zone);
  HttpResponse WaitOperation(const Ctx& c, const std::string& op);  // takes mu_ itself

  nlohmann::json InstanceJson(const Ctx& c, const InstanceRec& in, TimePoint now) const;
  nlohmann::json OperationJson(const Ctx& c, const OpRec& op, TimePoint now) const;
  std::string StatusOf(const InstanceRec& in, TimePoint now) const;
  bool Exists(const InstanceRec& in, TimePoint now) const { return !in.gone_at || *in.gone_at > now; }
  InstanceRec* FindLive(const std::string& project, const std::string& zone, const std::string& name, TimePoint now);
  const OpRec& NewOperation(const std::string& project, const std::string& zone, const std::string& type,
                            const InstanceRec* target, const std::string& target_name,
                            const std::string& request_id, TimePoint now, TimePoint done);
  std::string CapacityError(const std::string& zone, const MachineType& type, bool spot, int64_t vcpus,
                            TimePoint now, std::string* message) const;

  // GKE (fake_gke.cc; mu_ held)
  HttpResponse RouteGroup(const Ctx& c, const HttpRequest& req, const std::vector<std::string>& seg);
  HttpResponse RouteTemplate(const Ctx& c, const std::vector<std::string>& seg);
  HttpResponse RouteContainer(const HttpRequest& req, const std::vector<std::string>& seg);
  HttpResponse CreateMembers(const Ctx& c, GroupRec& g, const HttpRequest& req);
  HttpResponse DeleteMembers(const Ctx& c, GroupRec& g, const HttpRequest& req);
  HttpResponse ResizeGroup(const Ctx& c, GroupRec& g, const HttpRequest& req);
  HttpResponse ListMembers(const Ctx& c, const GroupRec& g, const HttpRequest& req);
  HttpResponse CreatePool(const HttpRequest& req, const std::string& base);
  HttpResponse DeletePool(PoolRec& pool, const std::string& base);
  HttpResponse SetPoolSize(PoolRec& pool, const HttpRequest& req, const std::string& base);
  nlohmann::json GroupJson(const Ctx& c, const GroupRec& g) const;
  nlohmann::json MemberJson(const Ctx& c, const GroupRec& g, const MemberRec& m) const;
  nlohmann::json PoolJson(const PoolRec& p, const std::string& base) const;
  nlohmann::json ClusterOpJson(const ClusterOpRec& op, const std::string& base) const;
  nlohmann::json TemplateProperties(const PoolRec& p, const std::string& base) const;
  std::optional<HttpResponse> ClusterBusy();
  const ClusterOpRec& NewClusterOp(const std::string& type, const std::string& pool, TimePoint done);
  PoolRec& NewPool(const std::string& name, nlohmann::json config, std::vector<std::string> locations,
                   TimePoint ready_at);
  void Materialize(PoolRec& p);
  void SettlePools(TimePoint now);
  void AdvanceGroups(TimePoint now);
  void AdoptPools();
  bool TryCreateMember(GroupRec& g, MemberRec& m, TimePoint now);
  void StartMemberDelete(GroupRec& g, MemberRec& m, TimePoint now);
  void RecreateLostMember(const InstanceRec& gone, TimePoint now);
  std::string MemberActionOf(const GroupRec& g, const MemberRec& m, TimePoint now) const;
  GroupRec* FindGroup(const std::string& zone, const std::string& name);
  const PoolRec* PoolOfGroup(const GroupRec& g) const;
  bool IsPoolMember(const InstanceRec& in) const;
  std::string ProjectNumber() const;
  std::string Region() const;
  std::string NewOperationName();

  // Lifecycle (mu_ held)
  void Adopt();
  void RunLoop();
  TimePoint Advance(TimePoint now);  // returns the next instant something is due
  void ApplyEvent(const CloudEvent& ev, TimePoint at);
  void Stopped(InstanceRec& in, End why, TimePoint at);
  void RegisterNode(InstanceRec& in, TimePoint now);
  void IntegrateUnmanaged(TimePoint now) const;
  void ObserveNodes();  // drains node_watch_ into unmanaged_
  void Track(const InstanceRec& in);    // instance_names_ bookkeeping
  void Untrack(const InstanceRec& in);
  double BilledCost(const InstanceRec& in, TimePoint now) const;
  double SecondsSinceOrigin(TimePoint t) const;
  TimePoint At(double seconds_since_origin) const;
  std::string Timestamp(TimePoint t) const;

  SimServer* server_ = nullptr;
  CloudScenario scenario_;
  Catalog catalog_;
  TimePoint origin_{};

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool started_ = false;
  bool stopping_ = false;
  std::thread thread_;
  std::set<std::string> projects_;
  std::set<std::string> zones_;
  std::map<std::string, InstanceRec> instances_;    // key project/zone/name
  std::map<std::string, OpRec> ops_;                // key operation name
  std::map<std::string, std::string> request_ids_;  // project/requestId -> operation name
  size_t next_event_ = 0;
  uint64_t next_id_ = 0;
  uint64_t next_ip_ = 0;
  std::mt19937_64 rng_;
  double closed_cost_ = 0;  // billed cost of instances no longer tracked
  uint64_t preempted_ = 0, failed_ = 0;
  // Nodes no instance backs (created through the API): kept current from a
  // store subscription (ADDED/DELETED), their price integrated over time.
  std::shared_ptr<Watcher> node_watch_;
  std::map<std::string, int> instance_names_;    // name -> instance records with it
  std::map<std::string, double> unmanaged_;      // Node name -> price per hour
  mutable double unmanaged_cost_ = 0;
  mutable TimePoint unmanaged_at_{};
  // GKE
  std::map<std::string, PoolRec> pools_;             // by pool name
  std::map<std::string, GroupRec> groups_;           // by zone/name
  std::map<std::string, nlohmann::json> templates_;  // by template self path (projects/.../instanceTemplates/T)
  std::map<std::string, ClusterOpRec> cluster_ops_;  // by operation name
  uint64_t non_member_instances_ = 0;
};

}  // namespace kinema::sim::gce
