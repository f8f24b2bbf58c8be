#include "tools/kinema-sim/gce/fake_gce.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <regex>

#include "tools/kinema-sim/gce/gce_responses.h"
#include "tools/kinema-sim/gce/list_filter.h"
#include "tools/kinema-sim/gce/node_template.h"
#include "tools/kinema-sim/resource_types.h"
#include "tools/kinema-sim/sim_server.h"

namespace kinema::sim::gce {

namespace {

using nlohmann::json;
using std::chrono::duration_cast;
using std::chrono::milliseconds;

const ResourceType& Nodes() { return *ResourceRegistry::Default().Find("", "v1", "nodes"); }

constexpr int kMaxResults = 500;

HttpResponse Json(int status, const json& body) { return JsonResponse(status, body); }
HttpResponse Invalid(const std::string& message) { return GceInvalid(message); }
HttpResponse NotFoundResource(const std::string& path) { return GceNotFound(path); }
std::vector<std::string> Split(const std::string& s) { return SplitPath(s); }
std::string Last(const std::string& url) { return LastSegment(url); }

HttpResponse FaultResponse(const ComputeFault& f) {
  return Json(f.code, json{{"error",
                            {{"code", f.code},
                             {"message", f.message},
                             {"errors", json::array({{{"message", f.message}, {"domain", f.domain}, {"reason", f.reason}}})}}}});
}

// Pagination over a sorted list: the token is the offset of the next page.
struct Page {
  size_t begin = 0, end = 0;
  std::string next_token;
};
StatusOr<Page> Paginate(const HttpRequest& req, size_t total) {
  Page p;
  size_t max = kMaxResults;
  if (req.HasQuery("maxResults")) {
    try {
      long v = std::stol(req.Query("maxResults"));
      if (v < 0 || v > kMaxResults) throw std::out_of_range("maxResults");
      if (v > 0) max = static_cast<size_t>(v);
    } catch (...) {
      return Status::InvalidArgument("Invalid value for field 'maxResults': '" + req.Query("maxResults") +
                                     "'. Must be less than or equal to 500");
    }
  }
  std::string tok = req.Query("pageToken");
  if (!tok.empty()) {
    unsigned long long off = 0;
    char tail = 0;
    if (std::sscanf(tok.c_str(), "kinema-page-%llu%c", &off, &tail) != 1 || off > total) {
      return Status::InvalidArgument("Invalid value for field 'pageToken': '" + tok + "'.");
    }
    p.begin = static_cast<size_t>(off);
  }
  p.end = std::min(total, p.begin + max);
  if (p.end < total) p.next_token = "kinema-page-" + std::to_string(p.end);
  return p;
}

}  // namespace

std::optional<FaultTarget> ClassifyComputeRequest(const HttpRequest& req) {
  const std::string prefix = "/compute/v1/";
  if (req.path.rfind(prefix, 0) != 0) return std::nullopt;
  std::vector<std::string> seg = Split(req.path.substr(prefix.size()));
  const std::string& m = req.method;
  auto target = [](const char* verb, const char* resource) { return FaultTarget{verb, resource}; };
  if (seg.size() < 3 || seg[0] != "projects") return std::nullopt;
  if (seg.size() == 4 && seg[2] == "aggregated" && seg[3] == "instances" && m == "GET") {
    return target("list", "compute.instances");
  }
  if (seg.size() == 5 && seg[2] == "global" && seg[3] == "instanceTemplates" && m == "GET") {
    return target("get", "compute.instanceTemplates");
  }
  if (seg.size() == 6 && seg[2] == "regions" && seg[4] == "instanceTemplates" && m == "GET") {
    return target("get", "compute.instanceTemplates");
  }
  if (seg[2] != "zones") return std::nullopt;
  if (seg.size() == 3 && m == "GET") return target("list", "compute.zones");
  if (seg.size() == 4 && m == "GET") return target("get", "compute.zones");
  if (seg.size() < 5) return std::nullopt;
  const std::string& coll = seg[4];
  if (coll == "instances") {
    if (seg.size() == 5 && m == "POST") return target("create", "compute.instances");
    if (seg.size() == 5 && m == "GET") return target("list", "compute.instances");
    if (seg.size() == 6 && m == "GET") return target("get", "compute.instances");
    if (seg.size() == 6 && m == "DELETE") return target("delete", "compute.instances");
    if (seg.size() == 7 && seg[6] == "simulateMaintenanceEvent" && m == "POST") {
      return target("update", "compute.instances");
    }
  } else if (coll == "operations") {
    if (seg.size() == 6 && m == "GET") return target("get", "compute.operations");
    if (seg.size() == 7 && seg[6] == "wait" && m == "POST") return target("wait", "compute.operations");
  } else if (coll == "machineTypes" && m == "GET") {
    if (seg.size() == 5) return target("list", "compute.machineTypes");
    if (seg.size() == 6) return target("get", "compute.machineTypes");
  } else if (coll == "instanceGroupManagers") {
    const char* r = "compute.instanceGroupManagers";
    if (seg.size() == 6 && m == "GET") return target("get", r);
    if (seg.size() == 7) {
      const std::string& verb = seg[6];
      if (verb == "createInstances" && m == "POST") return target("create", r);
      if (verb == "deleteInstances" && m == "POST") return target("delete", r);
      if (verb == "listManagedInstances" && m == "POST") return target("list", r);
      if (verb == "listErrors" && m == "GET") return target("list", r);
      if (verb == "resize" && m == "POST") return target("update", r);
    }
  }
  return std::nullopt;
}

FakeGce::~FakeGce() { Stop(); }

void FakeGce::Attach(SimServer& server) {
  server_ = &server;
  server.AddRoute(
      "/compute/v1/", /*require_auth=*/false, [this](const HttpRequest& req) { return Handle(req); },
      ClassifyComputeRequest);
  server.AddRoute(
      "/container/v1/", /*require_auth=*/false, [this](const HttpRequest& req) { return HandleContainer(req); },
      ClassifyContainerRequest);
  server.AddComponent(this);
}

// ---------------------------------------------------------------- lifecycle

Status FakeGce::Start(SimServer& server) {
  server_ = &server;
  auto sc = ParseCloudScenario(server.scenario());
  if (!sc.ok()) return sc.status().WithContext("scenario");
  auto cat = ParseCatalog(server.pricer().catalog());
  if (!cat.ok()) return cat.status().WithContext("catalog (fake GCE machine types)");
  std::unique_lock<std::mutex> l(mu_);
  scenario_ = std::move(*sc);
  catalog_ = std::move(*cat);
  origin_ = server.clock().Now();
  unmanaged_at_ = origin_;
  rng_.seed(server.options().seed ^ 0x6763655f73696dULL);
  next_id_ = 4'000'000'000'000'000'000ULL + (rng_() % 1'000'000'000'000ULL) * 1000;
  for (const auto& mt : catalog_.machine_types) zones_.insert(mt.zones.begin(), mt.zones.end());
  WatchFilter nodes_filter;
  nodes_filter.resource = &Nodes();
  node_watch_ = server.store().Subscribe(nodes_filter, nullptr);
  Adopt();
  {
    // The operator's template for self-managed clusters (cloud.instanceTemplate).
    std::string path = "projects/" + scenario_.project + "/global/instanceTemplates/sim-node-template";
    std::string type = catalog_.machine_types.empty() ? "e2-standard-4" : catalog_.machine_types.front().name;
    templates_[path] = json{
        {"kind", "compute#instanceTemplate"},
        {"id", std::to_string(next_id_++)},
        {"creationTimestamp", Timestamp(origin_)},
        {"name", "sim-node-template"},
        {"description", "kinema-sim: a node that joins the simulated cluster (startup-script)"},
        {"properties",
         {{"machineType", type},
          {"canIpForward", false},
          {"networkInterfaces", json::array({{{"kind", "compute#networkInterface"}, {"name", "nic0"}}})},
          {"disks", json::array({{{"kind", "compute#attachedDisk"}, {"type", "PERSISTENT"}, {"boot", true},
                                  {"autoDelete", true},
                                  {"initializeParams", {{"diskSizeGb", "50"}, {"diskType", "pd-balanced"}}}}})},
          {"metadata",
           {{"kind", "compute#metadata"},
            {"items", json::array({{{"key", "startup-script"},
                                    {"value", "#!/bin/bash\n# kinema-sim: the kubelet joins the simulated cluster\n"}}})}}},
          {"scheduling", {{"provisioningModel", "STANDARD"}, {"automaticRestart", true}, {"onHostMaintenance", "MIGRATE"}}},
          {"labels", {{"cluster", "sim"}, {"role", "worker"}}}}},
        {"selfLink", "projects/" + scenario_.project + "/global/instanceTemplates/sim-node-template"}};
  }
  if (scenario_.gke()) AdoptPools();
  started_ = true;
  stopping_ = false;
  l.unlock();
  server.stats().SetCloudLedger(this);
  thread_ = std::thread([this] { RunLoop(); });
  spdlog::info("gce: project {} , {} zone(s), {} adopted instance(s); bootDelay {}s joinDelay {}s deleteDelay {}s, "
               "{} stockout(s), {} event(s); mode {}{}",
               scenario_.project, zones_.size(), instances_.size(), scenario_.boot_delay_s, scenario_.join_delay_s,
               scenario_.delete_delay_s, scenario_.stockouts.size(), scenario_.events.size(), scenario_.mode,
               scenario_.gke() ? " (cluster " + scenario_.cluster + " in " + Region() + ", " +
                                     std::to_string(pools_.size()) + " node pool(s))"
                               : std::string());
  return Status::OK();
}

void FakeGce::Stop() {
  {
    std::lock_guard<std::mutex> l(mu_);
    if (!started_) return;
    started_ = false;
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  if (node_watch_) node_watch_->Stop();
  if (server_ != nullptr && server_->stats().cloud_ledger() == this) server_->stats().SetCloudLedger(nullptr);
}

double FakeGce::SecondsSinceOrigin(TimePoint t) const {
  return std::chrono::duration<double>(t - origin_).count();
}

FakeGce::TimePoint FakeGce::At(double s) const {
  return origin_ + duration_cast<TimePoint::duration>(std::chrono::duration<double>(s));
}

std::string FakeGce::Timestamp(TimePoint t) const {
  // GCE style: millisecond precision with a numeric offset.
  std::string micro = SimClock::FormatMicroTime(t);  // ...SS.ffffffZ
  return micro.substr(0, micro.size() - 4) + "+00:00";
}

void FakeGce::Adopt() {
  WatchFilter f;
  f.resource = &Nodes();
  auto nodes = server_->store().List(f).items;
  if (!scenario_.project_set) {
    std::map<std::string, int> votes;
    for (const auto& obj : nodes) {
      std::string p, z, n;
      if (obj->body.contains("spec") && ParseProviderId(obj->body["spec"].value("providerID", ""), &p, &z, &n)) {
        votes[p]++;
      }
    }
    int best = 0;
    for (const auto& [p, v] : votes) {
      if (v > best) {
        best = v;
        scenario_.project = p;
      }
    }
  }
  projects_.insert(scenario_.project);
  for (const auto& obj : nodes) {
    const json& node = obj->body;
    const json labels = node["metadata"].value("labels", json::object());
    InstanceRec in;
    in.adopted = true;
    in.project = scenario_.project;
    in.name = obj->name;
    in.zone = labels.value("topology.kubernetes.io/zone", labels.value("failure-domain.beta.kubernetes.io/zone", ""));
    std::string provider_id = node.contains("spec") ? node["spec"].value("providerID", "") : "";
    std::string p, z, n;
    if (ParseProviderId(provider_id, &p, &z, &n)) {
      in.project = p;
      in.zone = z;
      in.name = n;
    }
    in.machine_type =
        labels.value("node.kubernetes.io/instance-type", labels.value("beta.kubernetes.io/instance-type", ""));
    const MachineType* mt = catalog_.FindType(in.machine_type);
    if (in.zone.empty()) {
      in.zone = mt != nullptr ? mt->zones.front() : "unknown-zone";
      spdlog::warn("gce: node {} has no zone label; its instance is placed in {}", obj->name, in.zone);
    }
    in.spot = server_->pricer().IsSpot(node);
    in.price = server_->pricer().PriceOf(node);
    if (mt != nullptr) {
      in.vcpus = static_cast<int64_t>(std::ceil(mt->vcpu));
    } else if (node.contains("status") && node["status"].contains("capacity")) {
      try {
        in.vcpus = std::stoll(node["status"]["capacity"].value("cpu", "0"));
      } catch (...) {
      }
    }
    in.id = next_id_++;
    if (node.contains("status") && node["status"].contains("addresses")) {
      for (const auto& a : node["status"]["addresses"]) {
        if (a.value("type", "") == "InternalIP") in.internal_ip = a.value("address", "");
      }
    }
    if (in.internal_ip.empty()) {
      uint64_t n_ip = next_ip_++;
      in.internal_ip = "10.128." + std::to_string(n_ip / 250) + "." + std::to_string(n_ip % 250 + 2);
    }
    in.created = in.running_at = in.join_at = origin_;
    in.node = NodeState::kRegistered;
    in.delete_on_preemption = true;
    projects_.insert(in.project);
    zones_.insert(in.zone);
    if (provider_id.empty()) {
      std::string pid = ProviderIdFor(in.project, in.zone, in.name);
      auto r = server_->registry().Modify(
          Nodes(), "", obj->name,
          [&](json& o) -> std::optional<ApiError> {
            o["spec"]["providerID"] = pid;
            return std::nullopt;
          },
          "");
      if (!r.ok()) spdlog::warn("gce: could not set providerID of node {}: {}", obj->name, r.error().message);
    }
    std::string key = in.project + "/" + in.zone + "/" + in.name;
    Track(in);
    instances_.emplace(key, std::move(in));
  }
}

void FakeGce::RunLoop() {
  std::unique_lock<std::mutex> l(mu_);
  while (!stopping_) {
    TimePoint now = server_->clock().Now();
    IntegrateUnmanaged(now);
    ObserveNodes();
    TimePoint next = Advance(now);
    // Sleep until the next due instant (in wall time), at most 50 ms.
    milliseconds wait(50);
    if (next != TimePoint::max()) {
      double sim_s = std::max(0.0, std::chrono::duration<double>(next - server_->clock().Now()).count());
      wait = std::min(wait, server_->clock().WallDuration(sim_s) + milliseconds(1));
    }
    cv_.wait_for(l, wait);
  }
}

void FakeGce::IntegrateUnmanaged(TimePoint now) const {
  if (now <= unmanaged_at_) return;
  double per_hour = 0;
  for (const auto& [name, price] : unmanaged_) per_hour += price;
  unmanaged_cost_ += per_hour * std::chrono::duration<double>(now - unmanaged_at_).count() / 3600.0;
  unmanaged_at_ = now;
}

void FakeGce::Track(const InstanceRec& in) { instance_names_[in.name]++; }

void FakeGce::Untrack(const InstanceRec& in) {
  auto it = instance_names_.find(in.name);
  if (it != instance_names_.end() && --it->second <= 0) instance_names_.erase(it);
}

void FakeGce::ObserveNodes() {
  if (!node_watch_) return;
  for (const WatchItem& item : node_watch_->Take()) {
    if (!item.object) continue;
    const std::string& name = item.object->name;
    if (item.type == "DELETED") {
      unmanaged_.erase(name);
    } else if (item.type == "ADDED" && !instance_names_.count(name)) {
      unmanaged_[name] = server_->pricer().PriceOf(item.object->body);
      spdlog::info("gce: node {} has no instance behind it; billed as a node", name);
    }
  }
}

FakeGce::TimePoint FakeGce::Advance(TimePoint now) {
  if (scenario_.gke()) {
    SettlePools(now);
    AdvanceGroups(now);
  }
  // Scenario events due by now, at their own instants.
  while (next_event_ < scenario_.events.size() && At(scenario_.events[next_event_].at_s) <= now) {
    ApplyEvent(scenario_.events[next_event_], At(scenario_.events[next_event_].at_s));
    ++next_event_;
  }
  TimePoint next = TimePoint::max();
  if (next_event_ < scenario_.events.size()) next = At(scenario_.events[next_event_].at_s);
  for (auto it = instances_.begin(); it != instances_.end();) {
    InstanceRec& in = it->second;
    if (in.node == NodeState::kPending) {
      if (in.end != End::kNone && in.stop_at <= in.join_at) {
        in.node = NodeState::kSkipped;
      } else if (now >= in.join_at) {
        RegisterNode(in, now);
      } else {
        next = std::min(next, in.join_at);
      }
    }
    if (in.node == NodeState::kRegistered && in.end != End::kNone) {
      in.node_not_ready_at = in.stop_at + duration_cast<TimePoint::duration>(
                                              std::chrono::duration<double>(scenario_.node_not_ready_delay_s));
      if (now >= in.node_not_ready_at) {
        std::string ts = Timestamp(now);
        auto r = server_->store().Mutate(Nodes(), "", in.name, [&](const ObjectPtr& cur) -> ApiResult<ObjectStore::Mutation> {
          ObjectStore::Mutation m;
          if (!cur) return m;
          json o = cur->body;
          if (MarkNotReady(o, ts)) {
            m.action = ObjectStore::Mutation::Action::kPut;
            m.object = std::move(o);
          }
          return m;
        });
        if (r.ok()) {
          spdlog::info("gce: node {} NotReady: its instance {}/{} is {}", in.name, in.zone, in.name,
                       Exists(in, now) ? StatusOf(in, now) : std::string("gone"));
        }
        in.node = NodeState::kNotReady;
        in.node_remove_at = now + duration_cast<TimePoint::duration>(
                                      std::chrono::duration<double>(scenario_.node_remove_delay_s));
      } else {
        next = std::min(next, in.node_not_ready_at);
      }
    }
    if (in.node == NodeState::kNotReady) {
      if (now >= in.node_remove_at) {
        DeleteOptions opts;
        auto r = server_->registry().Delete(Nodes(), "", in.name, opts);
        if (r.ok()) {
          spdlog::info("gce: node {} removed: its instance {}/{} is {}", in.name, in.zone, in.name,
                       Exists(in, now) ? StatusOf(in, now) : std::string("gone"));
        }
        in.node = NodeState::kRemoved;
      } else {
        next = std::min(next, in.node_remove_at);
      }
    }
    bool node_done = in.node == NodeState::kRemoved || in.node == NodeState::kSkipped;
    if (in.gone_at && now >= *in.gone_at && node_done) {
      // Fully gone: keep its bill, forget it.
      closed_cost_ += BilledCost(in, now);
      Untrack(in);
      InstanceRec gone = std::move(in);
      it = instances_.erase(it);
      // A group recreates a member lost behind its back (same name).
      if (!gone.group.empty()) RecreateLostMember(gone, now);
      continue;
    }
    if (in.gone_at && now < *in.gone_at) next = std::min(next, *in.gone_at);
    ++it;
  }
  return next;
}

void FakeGce::RegisterNode(InstanceRec& in, TimePoint now) {
  const MachineType* mt = catalog_.FindType(in.machine_type);
  if (mt == nullptr) {
    in.node = NodeState::kSkipped;
    return;
  }
  NodeParams p;
  if (scenario_.gke()) {
    // GKE's CSR approver: only members of a node pool's group get a kubelet
    // certificate; any other VM never becomes a Node.
    if (!IsPoolMember(in)) {
      in.node = NodeState::kSkipped;
      if (!in.non_member_counted) {
        in.non_member_counted = true;
        ++non_member_instances_;
      }
      spdlog::warn("gce: instance {}/{} is not a member of any node pool's instance group of cluster {}: its kubelet "
                   "never gets a certificate, no Node registers (counted in cloud.nonMemberInstances)",
                   in.zone, in.name, scenario_.cluster);
      return;
    }
    const GroupRec& g = groups_.at(in.group);
    const PoolRec* pool = PoolOfGroup(g);
    p.node_pool = g.pool;
    if (pool != nullptr) {
      const json& cfg = pool->config;
      if (cfg.contains("labels") && cfg["labels"].is_object()) {
        for (auto& [k, v] : cfg["labels"].items()) {
          if (v.is_string()) p.extra_labels[k] = v.get<std::string>();
        }
      }
      if (cfg.contains("taints") && cfg["taints"].is_array()) {
        for (const auto& t : cfg["taints"]) {
          std::string e = t.value("effect", "");
          e = e == "NO_SCHEDULE" ? "NoSchedule" : e == "PREFER_NO_SCHEDULE" ? "PreferNoSchedule"
              : e == "NO_EXECUTE" ? "NoExecute" : e;
          p.pool_taints.push_back(Taint{t.value("key", ""), t.value("value", ""), e});
        }
      }
    }
  }
  p.name = in.name;
  p.project = in.project;
  p.zone = in.zone;
  p.machine_type = in.machine_type;
  p.spot = in.spot;
  p.internal_ip = in.internal_ip;
  char boot[40];
  std::snprintf(boot, sizeof(boot), "%016llx%016llx", static_cast<unsigned long long>(in.id),
                static_cast<unsigned long long>(rng_()));
  p.boot_id = boot;
  p.timestamp = SimClock::FormatTime(now);
  if (p.node_pool.empty()) p.extra_labels = in.node_labels;
  json node = BuildNode(catalog_, *mt, p);
  auto r = server_->registry().Create(Nodes(), "", node);
  if (!r.ok()) {
    spdlog::warn("gce: instance {}/{} could not register its node: {}", in.zone, in.name, r.error().message);
  } else {
    spdlog::info("gce: node {} registered ({} {} in {})", in.name, in.machine_type, in.spot ? "spot" : "on-demand",
                 in.zone);
  }
  in.node = NodeState::kRegistered;
}

void FakeGce::Stopped(InstanceRec& in, End why, TimePoint at) {
  in.end = why;
  in.stop_at = at;
}

void FakeGce::ApplyEvent(const CloudEvent& ev, TimePoint at) {
  std::vector<InstanceRec*> hit;
  if (!ev.node.empty()) {
    for (auto& [key, in] : instances_) {
      if (in.name == ev.node && in.end == End::kNone && Exists(in, at)) hit.push_back(&in);
    }
    if (hit.empty()) {
      spdlog::warn("gce: scenario event {} at {}s: no running instance for node {}",
                   ev.kind == CloudEvent::Kind::kNodeFailure ? "nodeFailure" : "spotPreemption", ev.at_s, ev.node);
      return;
    }
    if (ev.kind == CloudEvent::Kind::kSpotPreemption && !hit.front()->spot) {
      spdlog::warn("gce: scenario event spotPreemption at {}s: node {} is not spot; ignored", ev.at_s, ev.node);
      return;
    }
  } else {
    std::vector<InstanceRec*> candidates;
    for (auto& [key, in] : instances_) {
      if (in.spot && in.end == End::kNone && Exists(in, at) && at >= in.running_at) candidates.push_back(&in);
    }
    std::shuffle(candidates.begin(), candidates.end(), rng_);
    for (int i = 0; i < ev.count && i < static_cast<int>(candidates.size()); ++i) hit.push_back(candidates[i]);
    if (static_cast<int>(hit.size()) < ev.count) {
      spdlog::warn("gce: scenario event spotPreemption at {}s: {} requested, {} spot instance(s) running", ev.at_s,
                   ev.count, hit.size());
    }
  }
  for (InstanceRec* in : hit) {
    if (ev.kind == CloudEvent::Kind::kNodeFailure) {
      Stopped(*in, End::kFailed, at);
      ++failed_;
      spdlog::info("gce: scenario nodeFailure: instance {}/{} TERMINATED", in->zone, in->name);
    } else {
      Stopped(*in, End::kPreempted, at);
      ++preempted_;
      if (in->delete_on_preemption) {
        in->delete_requested = true;
        in->gone_at = at + duration_cast<TimePoint::duration>(std::chrono::duration<double>(scenario_.delete_delay_s));
      }
      spdlog::info("gce: scenario spotPreemption: instance {}/{} preempted ({})", in->zone, in->name,
                   in->delete_on_preemption ? "deleted" : "stopped");
    }
  }
}

// ---------------------------------------------------------------- accounting

double FakeGce::BilledCost(const InstanceRec& in, TimePoint now) const {
  // Billed while RUNNING: from running_at until it stops (or is gone).
  TimePoint end = in.end != End::kNone ? std::min(now, in.stop_at) : now;
  if (in.gone_at) end = std::min(end, *in.gone_at);
  if (end <= in.running_at) return 0;
  return in.price * std::chrono::duration<double>(end - in.running_at).count() / 3600.0;
}

CloudAccount FakeGce::Account() const {
  std::lock_guard<std::mutex> l(mu_);
  CloudAccount a;
  TimePoint now = server_->clock().Now();
  a.at = now;
  IntegrateUnmanaged(now);
  WatchFilter f;
  f.resource = &Nodes();
  auto nodes = server_->store().List(f).items;
  std::set<std::string> node_names, provider_ids;
  for (const auto& n : nodes) {
    node_names.insert(n->name);
    if (n->body.contains("spec")) provider_ids.insert(n->body["spec"].value("providerID", ""));
    a.nodes_cost_per_hour += server_->pricer().PriceOf(n->body);
  }
  std::set<std::string> tracked;
  a.total_cost = closed_cost_ + unmanaged_cost_;
  for (const auto& [key, in] : instances_) {
    tracked.insert(in.name);
    a.total_cost += BilledCost(in, now);
    if (!Exists(in, now)) continue;
    ++a.instances;
    bool billed = now >= in.running_at && (in.end == End::kNone || now < in.stop_at);
    if (billed) a.cost_per_hour += in.price;
    bool alive = in.end == End::kNone && !in.delete_requested;
    bool joined = in.node == NodeState::kRegistered || in.node == NodeState::kNotReady;
    bool has_node = node_names.count(in.name) > 0 || provider_ids.count(ProviderIdFor(in.project, in.zone, in.name)) > 0;
    if (alive && joined && !has_node) ++a.orphan_instances;
  }
  for (const auto& n : nodes) {
    if (!tracked.count(n->name)) a.cost_per_hour += server_->pricer().PriceOf(n->body);
  }
  a.instances_preempted = preempted_;
  a.instances_failed = failed_;
  a.non_member_instances = non_member_instances_;
  for (const auto& [name, pool] : pools_) a.node_pools += pool.deleted_at ? 0 : 1;
  for (const auto& [key, g] : groups_) {
    for (const auto& [n, m] : g.members) a.stuck_members += m.stuck ? 1 : 0;
  }
  return a;
}

// ---------------------------------------------------------------- HTTP

HttpResponse FakeGce::Handle(const HttpRequest& req) {
  std::optional<FaultTarget> target = ClassifyComputeRequest(req);
  ComputeFaultDecision fault;
  if (target && server_ != nullptr) fault = server_->faults().DecideCompute(target->verb, target->resource);
  if (fault.error) {
    spdlog::info("fault: {} {} -> {} {} (gce {} {}, not carried out)", target->verb, target->resource,
                 fault.error->code, fault.error->reason, req.method, req.target);
    return FaultResponse(*fault.error);
  }
  HttpResponse r = Serve(req);
  if (fault.lost_response) {
    spdlog::info("fault: {} {} -> {} {} (gce {} {} carried out with {}; response lost)", target->verb,
                 target->resource, fault.lost_response->code, fault.lost_response->reason, req.method, req.target,
                 r.status);
    return FaultResponse(*fault.lost_response);
  }
  return r;
}

HttpResponse FakeGce::Serve(const HttpRequest& req) {
  const std::string prefix = "/compute/v1/";
  std::vector<std::string> seg = Split(req.path.substr(std::min(req.path.size(), prefix.size())));
  // zoneOperations.wait blocks without the lock.
  if (seg.size() == 7 && seg[0] == "projects" && seg[2] == "zones" && seg[4] == "operations" && seg[6] == "wait") {
    if (req.method != "POST") return GceError(405, "methodNotAllowed", "Method " + req.method + " not allowed");
    Ctx c;
    {
      std::lock_guard<std::mutex> l(mu_);
      if (!started_) return GceError(503, "backendError", "The fake GCE is not running");
      if (!projects_.count(seg[1])) return NotFoundResource("projects/" + seg[1]);
    }
    std::string host = req.Header("host");
    c.base = std::string(server_->options().tls ? "https://" : "http://") + (host.empty() ? "localhost" : host) +
             "/compute/v1";
    c.project = seg[1];
    c.zone = seg[3];
    return WaitOperation(c, seg[5]);
  }
  std::lock_guard<std::mutex> l(mu_);
  if (!started_) return GceError(503, "backendError", "The fake GCE is not running");
  HttpResponse r = Route(req, seg);
  if (r.status >= 400 && r.status != 404) spdlog::info("gce: {} {} -> {} {}", req.method, req.target, r.status, r.body);
  return r;
}

HttpResponse FakeGce::Route(const HttpRequest& req, const std::vector<std::string>& seg) {
  if (seg.size() < 2 || seg[0] != "projects") return GceError(404, "notFound", "Not Found");
  Ctx c;
  std::string host = req.Header("host");
  c.base = std::string(server_->options().tls ? "https://" : "http://") + (host.empty() ? "localhost" : host) +
           "/compute/v1";
  c.project = seg[1];
  c.now = server_->clock().Now();
  if (!projects_.count(c.project)) return NotFoundResource("projects/" + c.project);
  if (scenario_.gke()) SettlePools(c.now);
  const std::string& m = req.method;
  if (seg.size() >= 3 && (seg[2] == "global" || seg[2] == "regions")) {
    if (m != "GET") return GceError(405, "methodNotAllowed", "Method " + m + " not allowed");
    return RouteTemplate(c, seg);
  }
  if (seg.size() == 4 && seg[2] == "aggregated" && seg[3] == "instances") {
    if (m != "GET") return GceError(405, "methodNotAllowed", "Method " + m + " not allowed");
    return ListInstances(c, req, true);
  }
  if (seg.size() < 3 || seg[2] != "zones") return GceError(404, "notFound", "Not Found");
  if (seg.size() == 3) {
    if (m != "GET") return GceError(405, "methodNotAllowed", "Method " + m + " not allowed");
    return Zones(c, "");
  }
  c.zone = seg[3];
  if (!zones_.count(c.zone)) return Invalid("Invalid value for field 'zone': '" + c.zone + "'. Unknown zone.");
  if (seg.size() == 4) {
    if (m != "GET") return GceError(405, "methodNotAllowed", "Method " + m + " not allowed");
    return Zones(c, c.zone);
  }
  const std::string& coll = seg[4];
  if (coll == "instances") {
    if (seg.size() == 5) {
      if (m == "POST") return Insert(c, req);
      if (m == "GET") return ListInstances(c, req, false);
    } else if (seg.size() == 6) {
      if (m == "GET") return GetInstance(c, seg[5]);
      if (m == "DELETE") return Delete(c, seg[5], req);
    } else if (seg.size() == 7 && seg[6] == "simulateMaintenanceEvent" && m == "POST") {
      return SimulateMaintenanceEvent(c, seg[5]);
    }
  } else if (coll == "operations" && seg.size() == 6 && m == "GET") {
    auto it = ops_.find(seg[5]);
    if (it == ops_.end() || it->second.project != c.project || it->second.zone != c.zone) {
      return NotFoundResource(c.ZonePath() + "/operations/" + seg[5]);
    }
    return Json(200, OperationJson(c, it->second, c.now));
  } else if (coll == "machineTypes" && (seg.size() == 5 || seg.size() == 6) && m == "GET") {
    return MachineTypes(c, seg.size() == 6 ? seg[5] : "", req);
  } else if (coll == "instanceGroupManagers" && seg.size() >= 6) {
    return RouteGroup(c, req, seg);
  } else {
    return GceError(404, "notFound", "Not Found");
  }
  return GceError(405, "methodNotAllowed", "Method " + m + " not allowed on " + req.path);
}

FakeGce::InstanceRec* FakeGce::FindLive(const std::string& project, const std::string& zone, const std::string& name,
                                        TimePoint now) {
  auto it = instances_.find(project + "/" + zone + "/" + name);
  if (it == instances_.end() || !Exists(it->second, now)) return nullptr;
  return &it->second;
}

std::string FakeGce::StatusOf(const InstanceRec& in, TimePoint now) const {
  if (in.end == End::kDeleted && now >= in.stop_at) return "STOPPING";
  if ((in.end == End::kFailed || in.end == End::kPreempted) && now >= in.stop_at) return "TERMINATED";
  if (now >= in.running_at) return "RUNNING";
  auto provisioning_until = in.created + (in.running_at - in.created) * 2 / 5;
  return now < provisioning_until ? "PROVISIONING" : "STAGING";
}

std::string FakeGce::CapacityError(const std::string& zone, const MachineType& type, bool spot, int64_t vcpus,
                                   TimePoint now, std::string* message) const {
  double t = SecondsSinceOrigin(now);
  for (const auto& s : scenario_.stockouts) {
    if (s.Covers(zone, type.name, spot, t)) {
      *message = "The zone 'projects/" + scenario_.project + "/zones/" + zone +
                 "' does not have enough resources available to fulfill the request.  Try a different zone, or try "
                 "again later.";
      return "ZONE_RESOURCE_POOL_EXHAUSTED";
    }
  }
  std::string region = RegionOfZone(zone);
  int64_t used_instances = 0, used_cpus = 0, used_family_cpus = 0;
  const std::string family = type.name.substr(0, type.name.find('-'));
  for (const auto& [key, in] : instances_) {
    if (!Exists(in, now) || RegionOfZone(in.zone) != region) continue;
    if (in.end == End::kFailed || in.end == End::kPreempted) continue;  // TERMINATED: no CPU quota
    ++used_instances;
    used_cpus += in.vcpus;
    if (in.machine_type.substr(0, in.machine_type.find('-')) == family) used_family_cpus += in.vcpus;
  }
  char buf[64];
  if (auto fq = scenario_.quota_family_cpus.find(family);
      fq != scenario_.quota_family_cpus.end() && used_family_cpus + vcpus > fq->second) {
    std::string quota = family + "_CPUS";
    for (auto& ch : quota) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    std::snprintf(buf, sizeof(buf), "%.1f", static_cast<double>(fq->second));
    *message = "Quota '" + quota + "' exceeded.  Limit: " + std::string(buf) + " in region " + region + ".";
    return "QUOTA_EXCEEDED";
  }
  if (scenario_.quota_cpus && used_cpus + vcpus > *scenario_.quota_cpus) {
    std::snprintf(buf, sizeof(buf), "%.1f", static_cast<double>(*scenario_.quota_cpus));
    *message = "Quota 'CPUS' exceeded.  Limit: " + std::string(buf) + " in region " + region + ".";
    return "QUOTA_EXCEEDED";
  }
  if (scenario_.quota_instances && used_instances + 1 > *scenario_.quota_instances) {
    std::snprintf(buf, sizeof(buf), "%.1f", static_cast<double>(*scenario_.quota_instances));
    *message = "Quota 'INSTANCES' exceeded.  Limit: " + std::string(buf) + " in region " + region + ".";
    return "QUOTA_EXCEEDED";
  }
  return "";
}

const FakeGce::OpRec& FakeGce::NewOperation(const std::string& project, const std::string& zone,
                                            const std::string& type, const InstanceRec* target,
                                            const std::string& target_name, const std::string& request_id,
                                            TimePoint now, TimePoint done) {
  OpRec op;
  char name[80];
  long long ms = duration_cast<milliseconds>(now.time_since_epoch()).count();
  uint64_t r = rng_();
  std::snprintf(name, sizeof(name), "operation-%lld-%013llx-%08x-%08x", ms,
                static_cast<unsigned long long>(r & 0xfffffffffffffULL), static_cast<unsigned>(rng_()),
                static_cast<unsigned>(rng_()));
  op.name = name;
  op.project = project;
  op.zone = zone;
  op.type = type;
  op.target_name = target_name;
  op.target_id = target != nullptr ? target->id : 0;
  op.request_id = request_id;
  op.id = next_id_++;
  op.insert_time = now;
  op.done_time = std::max(done, now);
  op.start_time = std::min(op.done_time, now + std::chrono::seconds(1));
  auto [it, inserted] = ops_.emplace(op.name, std::move(op));
  if (!request_id.empty()) request_ids_[project + "/" + request_id] = it->first;
  return it->second;
}

HttpResponse FakeGce::Insert(const Ctx& c, const HttpRequest& req) {
  std::string request_id = req.Query("requestId");
  if (!request_id.empty()) {
    if (!ValidRequestId(request_id)) {
      return Invalid("Invalid value for field 'requestId': '" + request_id +
                     "'. The request ID must be a valid UUID with the exception that zero UUID is not supported.");
    }
    auto seen = request_ids_.find(c.project + "/" + request_id);
    if (seen != request_ids_.end()) {
      const OpRec& op = ops_.at(seen->second);
      spdlog::info("gce: insert requestId {} repeated; returning operation {}", request_id, op.name);
      return Json(200, OperationJson(c, op, c.now));
    }
  }
  json body = json::parse(req.body, nullptr, false);
  if (body.is_discarded() || !body.is_object()) {
    return GceError(400, "parseError", "Invalid JSON payload received.");
  }
  if (req.HasQuery("sourceInstanceTemplate")) {
    // The template's properties, overridden field by field by the body.
    std::string ref = req.Query("sourceInstanceTemplate");
    std::string path = ref;
    if (size_t p = path.find("/compute/v1/"); p != std::string::npos) path = path.substr(p + 12);
    if (path.rfind("global/", 0) == 0 || path.rfind("regions/", 0) == 0) path = c.ProjectPath() + "/" + path;
    auto t = templates_.find(path);
    if (t == templates_.end()) return NotFoundResource(path);
    json merged = t->second["properties"];
    for (auto it = body.begin(); it != body.end(); ++it) merged[it.key()] = it.value();
    if (!body.contains("machineType") && merged.contains("machineType") && merged["machineType"].is_string()) {
      merged["machineType"] = "zones/" + c.zone + "/machineTypes/" + Last(merged["machineType"].get<std::string>());
    }
    json items = merged.contains("metadata") && merged["metadata"].contains("items") ? merged["metadata"]["items"]
                                                                                     : json::array();
    items.push_back({{"key", "instance-template"}, {"value", path}});
    merged["metadata"]["items"] = items;
    body = std::move(merged);
  }
  std::string name = body.value("name", "");
  if (name.empty()) return GceError(400, "required", "Required field 'resource.name' not specified");
  if (!ValidName(name)) {
    return Invalid("Invalid value for field 'resource.name': '" + name +
                   "'. Must be a match of regex '(?:[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?)'");
  }
  std::string mt_url = body.value("machineType", "");
  if (mt_url.empty()) return GceError(400, "required", "Required field 'resource.machineType' not specified");
  std::string type_name = Last(mt_url);
  size_t zpos = mt_url.find("zones/");
  if (zpos != std::string::npos) {
    std::string z = mt_url.substr(zpos + 6);
    z = z.substr(0, z.find('/'));
    if (z != c.zone) {
      return Invalid("Invalid value for field 'resource.machineType': '" + mt_url +
                     "'. Machine type zone must match the instance zone '" + c.zone + "'.");
    }
  }
  const MachineType* mt = catalog_.FindType(type_name);
  if (mt == nullptr || std::find(mt->zones.begin(), mt->zones.end(), c.zone) == mt->zones.end()) {
    return Invalid("Invalid value for field 'resource.machineType': '" + mt_url + "'. Machine type with name '" +
                   type_name + "' does not exist in zone '" + c.zone + "'.");
  }
  bool spot = false;
  if (body.contains("scheduling") && body["scheduling"].is_object()) {
    const json& s = body["scheduling"];
    spot = s.value("provisioningModel", "") == "SPOT" || (s.contains("preemptible") && s["preemptible"] == true);
  }
  if (spot && !mt->price_spot) {
    return Invalid("Invalid value for field 'resource.scheduling.provisioningModel': 'SPOT'. Machine type '" +
                   type_name + "' is not offered as Spot (the catalog has no spot price).");
  }
  auto node_labels = InstanceNodeLabels(body.value("labels", json::object()), body.value("metadata", json::object()));
  if (!node_labels.ok()) return Invalid("Invalid value for field 'resource.metadata': " + node_labels.status().message());

  if (InstanceRec* existing = FindLive(c.project, c.zone, name, c.now)) {
    (void)existing;
    server_->stats().duplicate_create_requests++;
    spdlog::warn("gce: insert of existing instance {}/{} (requestId '{}'): 409 alreadyExists, counted as a "
                 "duplicate create request",
                 c.zone, name, request_id);
    return GceError(409, "alreadyExists", "The resource '" + c.ZonePath() + "/instances/" + name + "' already exists");
  }

  int64_t vcpus = static_cast<int64_t>(std::ceil(mt->vcpu));
  std::string message;
  std::string error = CapacityError(c.zone, *mt, spot, vcpus, c.now, &message);
  auto secs = [](double s) { return duration_cast<TimePoint::duration>(std::chrono::duration<double>(s)); };
  if (!error.empty()) {
    TimePoint done = c.now + secs(std::min(scenario_.operation_error_delay_s, scenario_.boot_delay_s));
    const OpRec& op0 = NewOperation(c.project, c.zone, "insert", nullptr, name, request_id, c.now, done);
    OpRec& op = ops_.at(op0.name);
    op.error_code = error;
    op.error_message = message;
    op.http_error = error == "QUOTA_EXCEEDED" ? 403 : 503;
    op.http_error_message = error == "QUOTA_EXCEEDED" ? "FORBIDDEN" : "SERVICE UNAVAILABLE";
    spdlog::info("gce: insert {}/{} ({}{}) will fail: {}", c.zone, name, type_name, spot ? ", spot" : "", error);
    return Json(200, OperationJson(c, op, c.now));
  }

  InstanceRec in;
  in.project = c.project;
  in.zone = c.zone;
  in.name = name;
  in.machine_type = type_name;
  in.id = next_id_++;
  in.spot = spot;
  auto price = catalog_.Price(type_name, spot ? CapacityType::kSpot : CapacityType::kOnDemand);
  in.price = price.value_or(mt->price_on_demand);
  in.vcpus = vcpus;
  uint64_t n_ip = next_ip_++;
  in.internal_ip = "10.128." + std::to_string(n_ip / 250 % 250) + "." + std::to_string(n_ip % 250 + 2);
  in.body = body;
  in.node_labels = std::move(*node_labels);
  in.created = c.now;
  in.running_at = c.now + secs(scenario_.boot_delay_s);
  in.join_at = in.running_at + secs(scenario_.join_delay_s);
  if (spot && body["scheduling"].value("instanceTerminationAction", "STOP") != "DELETE") {
    in.delete_on_preemption = false;
  }
  std::string key = c.project + "/" + c.zone + "/" + name;
  if (auto old = instances_.find(key); old != instances_.end()) {
    // A gone instance whose Node was still being removed: keep its bill.
    closed_cost_ += BilledCost(old->second, c.now);
    Untrack(old->second);
    instances_.erase(old);
  }
  IntegrateUnmanaged(c.now);
  unmanaged_.erase(name);  // a Node of that name is now this instance's
  Track(in);
  auto [it, ok] = instances_.emplace(key, std::move(in));
  server_->stats().instances_created++;
  const OpRec& op = NewOperation(c.project, c.zone, "insert", &it->second, name, request_id, c.now, it->second.running_at);
  spdlog::info("gce: inserting {}/{} ({} {}) requestId '{}', operation {}", c.zone, name, type_name,
               spot ? "spot" : "on-demand", request_id, op.name);
  cv_.notify_all();
  return Json(200, OperationJson(c, op, c.now));
}

HttpResponse FakeGce::Delete(const Ctx& c, const std::string& name, const HttpRequest& req) {
  std::string request_id = req.Query("requestId");
  if (!request_id.empty()) {
    if (!ValidRequestId(request_id)) {
      return Invalid("Invalid value for field 'requestId': '" + request_id +
                     "'. The request ID must be a valid UUID with the exception that zero UUID is not supported.");
    }
    auto seen = request_ids_.find(c.project + "/" + request_id);
    if (seen != request_ids_.end()) {
      const OpRec& op = ops_.at(seen->second);
      spdlog::info("gce: delete requestId {} repeated; returning operation {}", request_id, op.name);
      return Json(200, OperationJson(c, op, c.now));
    }
  }
  InstanceRec* in = FindLive(c.project, c.zone, name, c.now);
  const std::string path = c.ZonePath() + "/instances/" + name;
  if (in == nullptr) return NotFoundResource(path);
  if (in->delete_requested) return GceError(400, "resourceNotReady", "The resource '" + path + "' is not ready");
  auto secs = [](double s) { return duration_cast<TimePoint::duration>(std::chrono::duration<double>(s)); };
  in->delete_requested = true;
  in->gone_at = c.now + secs(scenario_.delete_delay_s);
  if (in->end == End::kNone) Stopped(*in, End::kDeleted, c.now);
  server_->stats().instances_deleted++;
  const OpRec& op = NewOperation(c.project, c.zone, "delete", in, name, request_id, c.now, *in->gone_at);
  spdlog::info("gce: deleting {}/{} requestId '{}', operation {}", c.zone, name, request_id, op.name);
  cv_.notify_all();
  return Json(200, OperationJson(c, op, c.now));
}

// instances.simulateMaintenanceEvent: a spot instance is preempted at once
// (GCE's documented way to test preemption), exactly as a scenario
// spotPreemption event; an on-demand instance is live-migrated (nothing
// visible changes).
HttpResponse FakeGce::SimulateMaintenanceEvent(const Ctx& c, const std::string& name) {
  InstanceRec* in = FindLive(c.project, c.zone, name, c.now);
  const std::string path = c.ZonePath() + "/instances/" + name;
  if (in == nullptr) return NotFoundResource(path);
  if (in->end != End::kNone || StatusOf(*in, c.now) != "RUNNING") {
    return GceError(400, "resourceNotReady", "The resource '" + path + "' is not ready");
  }
  if (in->spot) {
    CloudEvent ev;
    ev.kind = CloudEvent::Kind::kSpotPreemption;
    ev.node = name;
    ApplyEvent(ev, c.now);
  } else {
    spdlog::info("gce: simulated maintenance on {}/{}: live-migrated", c.zone, name);
  }
  const OpRec& op = NewOperation(c.project, c.zone, "simulateMaintenanceEvent", in, name, "", c.now, c.now);
  cv_.notify_all();
  return Json(200, OperationJson(c, op, c.now));
}

HttpResponse FakeGce::GetInstance(const Ctx& c, const std::string& name) {
  InstanceRec* in = FindLive(c.project, c.zone, name, c.now);
  if (in == nullptr) return NotFoundResource(c.ZonePath() + "/instances/" + name);
  return Json(200, InstanceJson(c, *in, c.now));
}

HttpResponse FakeGce::ListInstances(const Ctx& c, const HttpRequest& req, bool aggregated) {
  auto filter = ListFilter::Parse(req.Query("filter"));
  if (!filter.ok()) return Invalid("Invalid value for field 'filter': '" + req.Query("filter") + "'. " + filter.status().message());
  std::vector<const InstanceRec*> matched;
  for (const auto& [key, in] : instances_) {
    if (in.project != c.project || !Exists(in, c.now)) continue;
    if (!aggregated && in.zone != c.zone) continue;
    std::map<std::string, std::string> fields{
        {"name", in.name}, {"status", StatusOf(in, c.now)}, {"zone", in.zone}, {"machineType", in.machine_type}};
    std::map<std::string, std::string> labels;
    if (in.body.contains("labels") && in.body["labels"].is_object()) {
      for (auto it = in.body["labels"].begin(); it != in.body["labels"].end(); ++it) {
        if (it.value().is_string()) labels[it.key()] = it.value().get<std::string>();
      }
    }
    if (filter->Matches(fields, labels)) matched.push_back(&in);
  }
  // instances_ is ordered by project/zone/name: zone-major, as GCE pages.
  auto page = Paginate(req, matched.size());
  if (!page.ok()) return Invalid(page.status().message());
  json out;
  if (aggregated) {
    out["kind"] = "compute#instanceAggregatedList";
    out["id"] = c.ProjectPath() + "/aggregated/instances";
    json items = json::object();
    for (const auto& z : zones_) {
      items["zones/" + z] = json{{"warning",
                                  {{"code", "NO_RESULTS_ON_PAGE"},
                                   {"message", "There are no results for scope 'zones/" + z + "' on this page."},
                                   {"data", json::array({{{"key", "scope"}, {"value", "zones/" + z}}})}}}};
    }
    for (size_t i = page->begin; i < page->end; ++i) {
      json& scope = items["zones/" + matched[i]->zone];
      scope.erase("warning");
      Ctx zc = c;
      zc.zone = matched[i]->zone;
      scope["instances"].push_back(InstanceJson(zc, *matched[i], c.now));
    }
    out["items"] = items;
    out["selfLink"] = c.base + "/" + c.ProjectPath() + "/aggregated/instances";
  } else {
    out["kind"] = "compute#instanceList";
    out["id"] = c.ZonePath() + "/instances";
    if (page->end > page->begin) {
      out["items"] = json::array();
      for (size_t i = page->begin; i < page->end; ++i) out["items"].push_back(InstanceJson(c, *matched[i], c.now));
    }
    out["selfLink"] = c.base + "/" + c.ZonePath() + "/instances";
  }
  if (!page->next_token.empty()) out["nextPageToken"] = page->next_token;
  return Json(200, out);
}

HttpResponse FakeGce::MachineTypes(const Ctx& c, const std::string& name, const HttpRequest& req) {
  auto render = [&](const MachineType& mt) {
    int guest = std::max(1, static_cast<int>(std::ceil(mt.vcpu)));
    json j{{"kind", "compute#machineType"},
           {"id", std::to_string(1000000 + (std::hash<std::string>{}(mt.name) % 9000000))},
           {"creationTimestamp", "1969-12-31T16:00:00.000-08:00"},
           {"name", mt.name},
           {"description", std::to_string(guest) + " vCPU" + (guest > 1 ? "s" : "") + ", " +
                               std::to_string(mt.memory_mib / 1024) + " GB RAM"},
           {"guestCpus", guest},
           {"memoryMb", mt.memory_mib},
           {"imageSpaceGb", 0},
           {"maximumPersistentDisks", 128},
           {"maximumPersistentDisksSizeGb", "263168"},
           {"zone", c.zone},
           {"selfLink", c.base + "/" + c.ZonePath() + "/machineTypes/" + mt.name},
           {"isSharedCpu", mt.vcpu < 1},
           {"architecture", "X86_64"}};
    return j;
  };
  std::vector<const MachineType*> offered;
  for (const auto& mt : catalog_.machine_types) {
    if (std::find(mt.zones.begin(), mt.zones.end(), c.zone) != mt.zones.end()) offered.push_back(&mt);
  }
  std::sort(offered.begin(), offered.end(), [](const MachineType* a, const MachineType* b) { return a->name < b->name; });
  if (!name.empty()) {
    for (const MachineType* mt : offered) {
      if (mt->name == name) return Json(200, render(*mt));
    }
    return NotFoundResource(c.ZonePath() + "/machineTypes/" + name);
  }
  auto filter = ListFilter::Parse(req.Query("filter"));
  if (!filter.ok()) return Invalid("Invalid value for field 'filter': '" + req.Query("filter") + "'. " + filter.status().message());
  std::vector<const MachineType*> matched;
  for (const MachineType* mt : offered) {
    if (filter->Matches({{"name", mt->name}, {"zone", c.zone}}, {})) matched.push_back(mt);
  }
  auto page = Paginate(req, matched.size());
  if (!page.ok()) return Invalid(page.status().message());
  json out{{"kind", "compute#machineTypeList"},
           {"id", c.ZonePath() + "/machineTypes"},
           {"selfLink", c.base + "/" + c.ZonePath() + "/machineTypes"}};
  if (page->end > page->begin) {
    out["items"] = json::array();
    for (size_t i = page->begin; i < page->end; ++i) out["items"].push_back(render(*matched[i]));
  }
  if (!page->next_token.empty()) out["nextPageToken"] = page->next_token;
  return Json(200, out);
}

HttpResponse FakeGce::Zones(const Ctx& c, const std::string& zone) {
  auto render = [&](const std::string& z) {
    return json{{"kind", "compute#zone"},
                {"id", std::to_string(2000 + std::hash<std::string>{}(z) % 1000)},
                {"creationTimestamp", "1969-12-31T16:00:00.000-08:00"},
                {"name", z},
                {"description", z},
                {"status", "UP"},
                {"region", c.base + "/" + c.ProjectPath() + "/regions/" + RegionOfZone(z)},
                {"selfLink", c.base + "/" + c.ProjectPath() + "/zones/" + z},
                {"availableCpuPlatforms", json::array({"Intel Broadwell", "AMD Milan"})}};
  };
  if (!zone.empty()) return Json(200, render(zone));
  json items = json::array();
  for (const auto& z : zones_) items.push_back(render(z));
  return Json(200, json{{"kind", "compute#zoneList"},
                        {"id", c.ProjectPath() + "/zones"},
                        {"items", items},
                        {"selfLink", c.base + "/" + c.ProjectPath() + "/zones"}});
}

HttpResponse FakeGce::WaitOperation(const Ctx& c0, const std::string& name) {
  Ctx c = c0;
  const SimClock& clock = server_->clock();
  auto wall_start = std::chrono::steady_clock::now();
  // Real GCE returns at DONE or after about 2 minutes; the sim's bound is two
  // simulated minutes, capped in wall time (see kMaxWaitWall).
  milliseconds budget = std::min(kMaxWaitWall, clock.WallDuration(120.0));
  while (true) {
    TimePoint done;
    {
      std::lock_guard<std::mutex> l(mu_);
      if (!zones_.count(c.zone)) return Invalid("Invalid value for field 'zone': '" + c.zone + "'. Unknown zone.");
      auto it = ops_.find(name);
      if (it == ops_.end() || it->second.project != c.project || it->second.zone != c.zone) {
        return NotFoundResource(c.ZonePath() + "/operations/" + name);
      }
      c.now = clock.Now();
      done = it->second.done_time;
      auto spent = duration_cast<milliseconds>(std::chrono::steady_clock::now() - wall_start);
      if (c.now >= done || spent >= budget) return Json(200, OperationJson(c, it->second, c.now));
    }
    double sim_left = std::chrono::duration<double>(done - c.now).count();
    auto spent = duration_cast<milliseconds>(std::chrono::steady_clock::now() - wall_start);
    milliseconds nap = std::min(budget - spent, clock.WallDuration(sim_left) + milliseconds(1));
    std::this_thread::sleep_for(std::max(nap, milliseconds(1)));
  }
}

json FakeGce::OperationJson(const Ctx& c, const OpRec& op, TimePoint now) const {
  std::string status = now >= op.done_time ? "DONE" : now >= op.start_time ? "RUNNING" : "PENDING";
  std::string zone_path = "projects/" + op.project + "/zones/" + op.zone;
  json j{{"kind", "compute#operation"},
         {"id", std::to_string(op.id)},
         {"name", op.name},
         {"zone", c.base + "/" + zone_path},
         {"operationType", op.type},
         {"targetLink", c.base + "/" + zone_path + "/" + op.target_collection + "/" + op.target_name},
         {"status", status},
         {"user", "kinema@" + op.project + ".iam.gserviceaccount.com"},
         {"progress", status == "DONE" ? 100 : 0},
         {"insertTime", Timestamp(op.insert_time)},
         {"selfLink", c.base + "/" + zone_path + "/operations/" + op.name}};
  if (op.target_id != 0) j["targetId"] = std::to_string(op.target_id);
  if (status != "PENDING") j["startTime"] = Timestamp(op.start_time);
  if (status == "DONE") {
    j["endTime"] = Timestamp(op.done_time);
    if (!op.error_code.empty()) {
      j["error"] = {{"errors", json::array({{{"code", op.error_code}, {"message", op.error_message}}})}};
      j["httpErrorStatusCode"] = op.http_error;
      j["httpErrorMessage"] = op.http_error_message;
    }
  }
  return j;
}

json FakeGce::InstanceJson(const Ctx& c, const InstanceRec& in, TimePoint now) const {
  std::string zone_path = "projects/" + in.project + "/zones/" + in.zone;
  std::string status = StatusOf(in, now);
  json labels = in.body.contains("labels") && in.body["labels"].is_object() ? in.body["labels"] : json::object();
  json scheduling = in.body.contains("scheduling") && in.body["scheduling"].is_object()
                        ? in.body["scheduling"]
                        : json{{"provisioningModel", in.spot ? "SPOT" : "STANDARD"},
                               {"automaticRestart", !in.spot},
                               {"onHostMaintenance", in.spot ? "TERMINATE" : "MIGRATE"},
                               {"preemptible", false}};
  if (!scheduling.contains("preemptible")) scheduling["preemptible"] = false;
  std::string network = c.base + "/projects/" + in.project + "/global/networks/default";
  json nic{{"kind", "compute#networkInterface"},
           {"network", network},
           {"networkIP", in.internal_ip},
           {"name", "nic0"},
           {"stackType", "IPV4_ONLY"},
           {"fingerprint", Fingerprint(in.id * 7)}};
  if (in.body.contains("networkInterfaces") && in.body["networkInterfaces"].is_array() &&
      !in.body["networkInterfaces"].empty() && in.body["networkInterfaces"][0].is_object()) {
    const json& req_nic = in.body["networkInterfaces"][0];
    if (req_nic.contains("subnetwork")) nic["subnetwork"] = req_nic["subnetwork"];
    if (req_nic.contains("accessConfigs")) nic["accessConfigs"] = req_nic["accessConfigs"];
  }
  json disk{{"kind", "compute#attachedDisk"},
            {"type", "PERSISTENT"},
            {"mode", "READ_WRITE"},
            {"source", c.base + "/" + zone_path + "/disks/" + in.name},
            {"deviceName", "persistent-disk-0"},
            {"index", 0},
            {"boot", true},
            {"autoDelete", true},
            {"interface", "SCSI"},
            {"diskSizeGb", "50"}};
  if (in.body.contains("disks") && in.body["disks"].is_array() && !in.body["disks"].empty()) {
    const json& d = in.body["disks"][0];
    if (d.contains("initializeParams") && d["initializeParams"].contains("diskSizeGb")) {
      disk["diskSizeGb"] = d["initializeParams"]["diskSizeGb"];
    }
  }
  json metadata{{"kind", "compute#metadata"}, {"fingerprint", Fingerprint(in.id * 13)}};
  if (in.body.contains("metadata") && in.body["metadata"].contains("items")) {
    metadata["items"] = in.body["metadata"]["items"];
  }
  json j{{"kind", "compute#instance"},
         {"id", std::to_string(in.id)},
         {"creationTimestamp", Timestamp(in.created)},
         {"name", in.name},
         {"tags", {{"fingerprint", Fingerprint(in.id * 3)}}},
         {"machineType", c.base + "/" + zone_path + "/machineTypes/" + in.machine_type},
         {"status", status},
         {"zone", c.base + "/" + zone_path},
         {"canIpForward", false},
         {"networkInterfaces", json::array({nic})},
         {"disks", json::array({disk})},
         {"metadata", metadata},
         {"selfLink", c.base + "/" + zone_path + "/instances/" + in.name},
         {"scheduling", scheduling},
         {"cpuPlatform", status == "RUNNING" ? "Intel Broadwell" : "Unknown CPU Platform"},
         {"labels", labels},
         {"labelFingerprint", Fingerprint(in.id * 5)},
         {"startRestricted", false},
         {"deletionProtection", false},
         {"fingerprint", Fingerprint(in.id * 11)}};
  if (in.body.contains("tags") && in.body["tags"].contains("items")) j["tags"]["items"] = in.body["tags"]["items"];
  if (in.body.contains("serviceAccounts")) j["serviceAccounts"] = in.body["serviceAccounts"];
  if (now >= in.running_at) j["lastStartTimestamp"] = Timestamp(in.running_at);
  if (in.end != End::kNone && now >= in.stop_at) j["lastStopTimestamp"] = Timestamp(in.stop_at);
  return j;
}

}  // namespace kinema::sim::gce
