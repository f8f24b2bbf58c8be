// FakeGce, GKE half: node pools and cluster operations (/container/v1/),
// managed instance groups and instance templates (/compute/v1/). Behaviour:
// README.md in this folder, "GKE mode".
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <regex>
#include <set>

#include "tools/kinema-sim/gce/fake_gce.h"
#include "tools/kinema-sim/gce/gce_responses.h"
#include "tools/kinema-sim/gce/node_template.h"
#include "tools/kinema-sim/resource_types.h"
#include "tools/kinema-sim/sim_server.h"

namespace kinema::sim::gce {

namespace {

using nlohmann::json;
using std::chrono::duration_cast;

constexpr double kStuckRetrySeconds = 30;  // a group retries a member it could not create
constexpr size_t kMaxInstancesPerCall = 1000;

const ResourceType& Nodes() { return *ResourceRegistry::Default().Find("", "v1", "nodes"); }

std::string Hex8(const std::string& s) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "%08x", static_cast<unsigned>(std::hash<std::string>{}(s) & 0xffffffffu));
  return buf;
}

bool ValidPoolName(const std::string& n) {
  static const std::regex re("[a-z]([-a-z0-9]{0,38}[a-z0-9])?");
  return std::regex_match(n, re);
}

std::string Cut(const std::string& s, size_t n) {
  std::string out = s.substr(0, n);
  while (!out.empty() && out.back() == '-') out.pop_back();
  return out;
}

// Labels GKE and Kubernetes set themselves: never part of a pool's config.
bool WellKnownLabel(const std::string& k) {
  for (const char* p : {"kubernetes.io/", "node.kubernetes.io/", "topology.kubernetes.io/", "beta.kubernetes.io/",
                        "failure-domain.beta.kubernetes.io/", "cloud.google.com/"}) {
    if (k.rfind(p, 0) == 0) return true;
  }
  return false;
}

std::string KubeTaintEffect(const std::string& e) {
  if (e == "NO_SCHEDULE") return "NoSchedule";
  if (e == "PREFER_NO_SCHEDULE") return "PreferNoSchedule";
  if (e == "NO_EXECUTE") return "NoExecute";
  return e;
}

HttpResponse RpcFault(const ComputeFault& f) {
  // The GKE API reports rate limits as 429 RESOURCE_EXHAUSTED.
  if (f.reason == "rateLimitExceeded") {
    return RpcError(429, "RESOURCE_EXHAUSTED", "Quota exceeded for quota metric 'Read requests' and limit "
                                               "'Read requests per minute' of service 'container.googleapis.com'.");
  }
  return RpcError(f.code, f.code == 503 ? "UNAVAILABLE" : "INTERNAL",
                  f.code == 503 ? "The service is currently unavailable." : "Internal error encountered.");
}

}  // namespace

std::optional<FaultTarget> ClassifyContainerRequest(const HttpRequest& req) {
  const std::string prefix = "/container/v1/";
  if (req.path.rfind(prefix, 0) != 0) return std::nullopt;
  std::vector<std::string> seg = SplitPath(req.path.substr(prefix.size()));
  const std::string& m = req.method;
  if (seg.size() < 5 || seg[0] != "projects" || seg[2] != "locations") return std::nullopt;
  if (seg[4] == "operations") {
    if (seg.size() == 5 && m == "GET") return FaultTarget{"list", "container.operations"};
    if (seg.size() == 6 && m == "GET") return FaultTarget{"get", "container.operations"};
    return std::nullopt;
  }
  if (seg[4] != "clusters" || seg.size() < 7 || seg[6] != "nodePools") return std::nullopt;
  const char* r = "container.nodePools";
  if (seg.size() == 7 && m == "POST") return FaultTarget{"create", r};
  if (seg.size() == 7 && m == "GET") return FaultTarget{"list", r};
  if (seg.size() == 8) {
    if (seg[7].find(":setSize") != std::string::npos && m == "POST") return FaultTarget{"update", r};
    if (m == "GET") return FaultTarget{"get", r};
    if (m == "DELETE") return FaultTarget{"delete", r};
  }
  return std::nullopt;
}

// ---------------------------------------------------------------- helpers

std::string FakeGce::ProjectNumber() const {
  uint64_t h = std::hash<std::string>{}(scenario_.project);
  return std::to_string(100000000000ULL + h % 899999999999ULL);
}

std::string FakeGce::Region() const {
  if (!catalog_.region.empty()) return catalog_.region;
  return zones_.empty() ? "us-central1" : RegionOfZone(*zones_.begin());
}

std::string FakeGce::NewOperationName() {
  char name[64];
  long long ms = duration_cast<std::chrono::milliseconds>(server_->clock().Now().time_since_epoch()).count();
  std::snprintf(name, sizeof(name), "operation-%lld-%08x", ms, static_cast<unsigned>(rng_()));
  return name;
}

FakeGce::GroupRec* FakeGce::FindGroup(const std::string& zone, const std::string& name) {
  auto it = groups_.find(zone + "/" + name);
  return it == groups_.end() ? nullptr : &it->second;
}

const FakeGce::PoolRec* FakeGce::PoolOfGroup(const GroupRec& g) const {
  auto it = pools_.find(g.pool);
  return it == pools_.end() ? nullptr : &it->second;
}

bool FakeGce::IsPoolMember(const InstanceRec& in) const {
  if (in.group.empty()) return false;
  auto g = groups_.find(in.group);
  if (g == groups_.end() || !g->second.members.count(in.name)) return false;
  const PoolRec* pool = PoolOfGroup(g->second);
  if (pool == nullptr || !pool->materialized) return false;
  return std::find(pool->groups.begin(), pool->groups.end(), in.group) != pool->groups.end();
}

std::string FakeGce::MemberActionOf(const GroupRec& g, const MemberRec& m, TimePoint now) const {
  if (m.stuck) return m.deleting ? "DELETING" : "CREATING";
  auto it = instances_.find(g.project + "/" + g.zone + "/" + m.name);
  bool live = it != instances_.end() && Exists(it->second, now);
  if (m.deleting) return "DELETING";
  if (!live) return "RECREATING";
  const InstanceRec& in = it->second;
  std::string st = StatusOf(in, now);
  if (st == "PROVISIONING" || st == "STAGING") return "CREATING";
  if (st == "RUNNING" && in.end == End::kNone && !in.delete_requested) return "NONE";
  return "RECREATING";
}

// ---------------------------------------------------------------- pools

FakeGce::PoolRec& FakeGce::NewPool(const std::string& name, json config, std::vector<std::string> locations,
                                   TimePoint ready_at) {
  PoolRec p;
  p.name = name;
  p.hash = Hex8(scenario_.cluster + "/" + name);
  p.template_name = "gke-" + Cut(scenario_.cluster, 20) + "-" + Cut(name, 20) + "-" + p.hash;
  if (!config.contains("diskSizeGb")) config["diskSizeGb"] = 100;
  if (!config.contains("imageType")) config["imageType"] = "COS_CONTAINERD";
  if (!config.contains("diskType")) config["diskType"] = "pd-balanced";
  if (!config.contains("serviceAccount")) config["serviceAccount"] = "default";
  if (!config.contains("oauthScopes")) {
    config["oauthScopes"] = json::array({"https://www.googleapis.com/auth/devstorage.read_only",
                                         "https://www.googleapis.com/auth/logging.write",
                                         "https://www.googleapis.com/auth/monitoring"});
  }
  if (!config.contains("metadata")) config["metadata"] = {{"disable-legacy-endpoints", "true"}};
  if (!config.contains("labels") || !config["labels"].is_object()) config["labels"] = json::object();
  p.config = std::move(config);
  std::sort(locations.begin(), locations.end());
  p.locations = std::move(locations);
  p.autoscaling = json::object();
  p.management = {{"autoUpgrade", true}, {"autoRepair", true}};
  p.created = server_->clock().Now();
  p.ready_at = ready_at;
  auto [it, ok] = pools_.insert_or_assign(name, std::move(p));
  return it->second;
}

json FakeGce::TemplateProperties(const PoolRec& p, const std::string& base) const {
  // kube-env as GKE writes it: node labels and taints for the kubelet.
  std::string labels = "cloud.google.com/gke-nodepool=" + p.name;
  bool spot = p.config.value("spot", false) || p.config.value("preemptible", false);
  if (spot) labels += ",cloud.google.com/gke-spot=true";
  if (p.config["labels"].is_object()) {
    for (auto& [k, v] : p.config["labels"].items()) {
      if (v.is_string()) labels += "," + k + "=" + v.get<std::string>();
    }
  }
  std::string taints;
  if (p.config.contains("taints") && p.config["taints"].is_array()) {
    for (const auto& t : p.config["taints"]) {
      taints += (taints.empty() ? "" : ",") + t.value("key", "") + "=" + t.value("value", "") + ":" +
                KubeTaintEffect(t.value("effect", ""));
    }
  }
  std::string kube_env = "ALLOCATE_NODE_CIDRS: \"true\"\nAUTOSCALER_ENV_VARS: node_labels=" + labels +
                         ";node_taints=" + taints + ";os_distribution=cos;os=linux\nCLUSTER_NAME: " + scenario_.cluster +
                         "\nKUBELET_ARGS: --v=2 --cloud-provider=external --node-labels=" + labels +
                         (taints.empty() ? "" : " --register-with-taints=" + taints) + "\nNODE_LABELS: " + labels +
                         "\nNODE_TAINTS: " + taints + "\nZONE: " + Region() + "\n";
  std::string project_path = "projects/" + scenario_.project;
  json resource_labels = {{"goog-gke-node", ""},
                          {"goog-k8s-cluster-name", scenario_.cluster},
                          {"goog-k8s-node-pool-name", p.name}};
  if (spot) resource_labels["goog-gke-node-pool-provisioning-model"] = "spot";
  if (p.config.contains("resourceLabels") && p.config["resourceLabels"].is_object()) {
    for (auto& [k, v] : p.config["resourceLabels"].items()) resource_labels[k] = v;
  }
  json scheduling = spot ? json{{"onHostMaintenance", "TERMINATE"}, {"automaticRestart", false}, {"preemptible", false},
                                {"provisioningModel", "SPOT"}, {"instanceTerminationAction", "STOP"}}
                         : json{{"onHostMaintenance", "MIGRATE"}, {"automaticRestart", true}, {"preemptible", false},
                                {"provisioningModel", "STANDARD"}};
  return json{
      {"machineType", p.config.value("machineType", "")},
      {"canIpForward", true},
      {"networkInterfaces",
       json::array({{{"kind", "compute#networkInterface"},
                     {"network", base + "/" + project_path + "/global/networks/default"},
                     {"subnetwork", base + "/" + project_path + "/regions/" + Region() + "/subnetworks/default"},
                     {"name", "nic0"},
                     {"stackType", "IPV4_ONLY"}}})},
      {"disks", json::array({{{"kind", "compute#attachedDisk"}, {"type", "PERSISTENT"}, {"mode", "READ_WRITE"},
                              {"boot", true}, {"autoDelete", true},
                              {"initializeParams",
                               {{"sourceImage", "https://www.googleapis.com/compute/v1/projects/gke-node-images/"
                                                "global/images/gke-1320-gke1000000-cos-117-sim"},
                                {"diskSizeGb", std::to_string(p.config.value("diskSizeGb", 100))},
                                {"diskType", p.config.value("diskType", "pd-balanced")}}}}})},
      {"metadata",
       {{"kind", "compute#metadata"},
        {"fingerprint", Fingerprint(std::hash<std::string>{}(p.name))},
        {"items", json::array({{{"key", "kube-labels"}, {"value", labels}},
                               {{"key", "kube-env"}, {"value", kube_env}},
                               {{"key", "cluster-name"}, {"value", scenario_.cluster}},
                               {{"key", "cluster-location"}, {"value", Region()}},
                               {{"key", "configure-sh"}, {"value", "#!/usr/bin/env bash\n# kinema-sim\n"}},
                               {{"key", "disable-legacy-endpoints"}, {"value", "true"}}})}}},
      {"serviceAccounts", json::array({{{"email", "default"},
                                        {"scopes", json::array({"https://www.googleapis.com/auth/cloud-platform"})}}})},
      {"scheduling", scheduling},
      {"labels", resource_labels},
      {"tags", {{"items", json::array({"gke-" + Cut(scenario_.cluster, 20) + "-" + Hex8(scenario_.cluster) + "-node"})}}}};
}

void FakeGce::Materialize(PoolRec& p) {
  if (p.materialized) return;
  p.materialized = true;
  std::string region = Region();
  std::string template_path = "projects/" + scenario_.project + "/regions/" + region + "/instanceTemplates/" +
                              p.template_name;
  templates_[template_path] = json{{"kind", "compute#instanceTemplate"},
                                   {"id", std::to_string(next_id_++)},
                                   {"creationTimestamp", Timestamp(p.ready_at)},
                                   {"name", p.template_name},
                                   {"description", ""},
                                   {"properties", TemplateProperties(p, "https://www.googleapis.com/compute/v1")},
                                   {"selfLink", template_path},
                                   {"region", "projects/" + scenario_.project + "/regions/" + region}};
  for (const auto& zone : p.locations) {
    GroupRec g;
    g.project = scenario_.project;
    g.zone = zone;
    g.pool = p.name;
    g.base = "gke-" + Cut(scenario_.cluster, 20) + "-" + Cut(p.name, 20) + "-" + Hex8(p.name + "/" + zone);
    g.name = g.base + "-grp";
    g.template_url = template_path;
    g.id = next_id_++;
    g.created = p.ready_at;
    std::string key = zone + "/" + g.name;
    p.groups.push_back(key);
    zones_.insert(zone);
    auto [it, ok] = groups_.insert_or_assign(key, std::move(g));
    for (int64_t i = 0; i < p.initial_node_count; ++i) {
      std::string name;
      do {
        static const char* kChars = "abcdefghijklmnopqrstuvwxyz0123456789";
        name = it->second.base + "-";
        for (int k = 0; k < 4; ++k) name.push_back(kChars[rng_() % 36]);
      } while (it->second.members.count(name));
      MemberRec m;
      m.name = name;
      auto [mit, ins] = it->second.members.emplace(name, m);
      TryCreateMember(it->second, mit->second, p.ready_at);
    }
  }
  spdlog::info("gke: node pool {} RUNNING ({} group(s): {})", p.name, p.groups.size(),
               p.locations.empty() ? std::string("-") : p.locations.front() + (p.locations.size() > 1 ? ", ..." : ""));
}

void FakeGce::SettlePools(TimePoint now) {
  for (auto it = pools_.begin(); it != pools_.end();) {
    PoolRec& p = it->second;
    if (!p.materialized && now >= p.ready_at) Materialize(p);
    if (p.deleted_at && now >= *p.deleted_at) {
      for (const auto& key : p.groups) groups_.erase(key);
      templates_.erase("projects/" + scenario_.project + "/regions/" + Region() + "/instanceTemplates/" +
                       p.template_name);
      spdlog::info("gke: node pool {} deleted", p.name);
      it = pools_.erase(it);
      continue;
    }
    ++it;
  }
}

void FakeGce::AdoptPools() {
  // Snapshot nodes belong to pools named by their cloud.google.com/gke-nodepool label.
  WatchFilter f;
  f.resource = &Nodes();
  struct Seen {
    std::map<std::string, int> types;
    bool spot = false;
    std::set<std::string> zones;
    std::optional<std::map<std::string, std::string>> common;
    std::vector<std::string> instance_keys;
  };
  std::map<std::string, Seen> seen;
  for (const auto& obj : server_->store().List(f).items) {
    const json labels = obj->body["metadata"].value("labels", json::object());
    std::string pool = labels.value("cloud.google.com/gke-nodepool", "default-pool");
    std::string pid = obj->body.contains("spec") ? obj->body["spec"].value("providerID", "") : "";
    std::string p, z, n;
    std::string key;
    if (ParseProviderId(pid, &p, &z, &n)) key = p + "/" + z + "/" + n;
    auto in = instances_.find(key);
    if (in == instances_.end()) continue;
    Seen& s = seen[pool];
    s.types[in->second.machine_type]++;
    s.spot = s.spot || in->second.spot;
    s.zones.insert(in->second.zone);
    std::map<std::string, std::string> own;
    for (auto& [k, v] : labels.items()) {
      if (!WellKnownLabel(k) && v.is_string()) own[k] = v.get<std::string>();
    }
    if (!s.common) {
      s.common = own;
    } else {
      for (auto c = s.common->begin(); c != s.common->end();) {
        auto o = own.find(c->first);
        c = (o == own.end() || o->second != c->second) ? s.common->erase(c) : std::next(c);
      }
    }
    s.instance_keys.push_back(key);
  }
  for (auto& [pool_name, s] : seen) {
    std::string type;
    int best = 0;
    for (const auto& [t, n] : s.types) {
      if (n > best) {
        best = n;
        type = t;
      }
    }
    if (s.types.size() > 1) {
      spdlog::warn("gke: snapshot pool {} mixes {} machine types; its config says {}", pool_name, s.types.size(), type);
    }
    json config{{"machineType", type}, {"spot", s.spot}, {"labels", json::object()}};
    for (const auto& [k, v] : s.common.value_or(std::map<std::string, std::string>{})) config["labels"][k] = v;
    PoolRec& p = NewPool(pool_name, config, std::vector<std::string>(s.zones.begin(), s.zones.end()), origin_);
    p.created = origin_;
    p.initial_node_count = 0;
    Materialize(p);
    for (const auto& key : s.instance_keys) {
      InstanceRec& in = instances_.at(key);
      GroupRec* g = nullptr;
      for (const auto& gk : p.groups) {
        if (groups_.at(gk).zone == in.zone) g = &groups_.at(gk);
      }
      if (g == nullptr) continue;
      MemberRec m;
      m.name = in.name;
      g->members.emplace(in.name, m);
      in.group = g->zone + "/" + g->name;
      in.delete_on_preemption = true;
      in.body["metadata"]["items"] = json::array(
          {{{"key", "instance-template"}, {"value", "projects/" + ProjectNumber() + "/regions/" + Region() +
                                                         "/instanceTemplates/" + p.template_name}},
           {{"key", "created-by"},
            {"value", "projects/" + ProjectNumber() + "/zones/" + g->zone + "/instanceGroupManagers/" + g->name}},
           {{"key", "cluster-name"}, {"value", scenario_.cluster}}});
      in.body["labels"] = {{"goog-gke-node", ""}, {"goog-k8s-cluster-name", scenario_.cluster},
                           {"goog-k8s-node-pool-name", p.name}};
    }
    spdlog::info("gke: adopted node pool {} ({} {}, {} node(s) in {} zone(s))", pool_name, type,
                 s.spot ? "spot" : "on-demand", s.instance_keys.size(), s.zones.size());
  }
}

// ---------------------------------------------------------------- members

bool FakeGce::TryCreateMember(GroupRec& g, MemberRec& m, TimePoint now) {
  const PoolRec* pool = PoolOfGroup(g);
  if (pool == nullptr) return false;
  std::string type = pool->config.value("machineType", "");
  bool spot = pool->config.value("spot", false) || pool->config.value("preemptible", false);
  const MachineType* mt = catalog_.FindType(type);
  if (mt == nullptr) return false;
  int64_t vcpus = static_cast<int64_t>(std::ceil(mt->vcpu));
  std::string message;
  std::string error = CapacityError(g.zone, *mt, spot, vcpus, now, &message);
  auto secs = [](double s) { return duration_cast<TimePoint::duration>(std::chrono::duration<double>(s)); };
  std::string url = "https://www.googleapis.com/compute/v1/projects/" + g.project + "/zones/" + g.zone +
                    "/instances/" + m.name;
  if (!error.empty()) {
    bool first = !m.stuck || m.error_code != error;
    m.stuck = true;
    m.error_code = error;
    m.error_message = error == "QUOTA_EXCEEDED" ? "Instance '" + m.name + "' creation failed: " + message : message;
    m.next_attempt = now + secs(kStuckRetrySeconds);
    g.errors.push_back({{"error", {{"code", m.error_code}, {"message", m.error_message}}},
                        {"instanceActionDetails",
                         {{"action", "CREATING"}, {"instance", url},
                          {"version", {{"instanceTemplate", g.template_url}, {"name", ""}}}}},
                        {"timestamp", Timestamp(now)}});
    if (g.errors.size() > 500) g.errors.erase(g.errors.begin());
    if (first) {
      spdlog::info("gke: group {}/{} cannot create {}: {} (stays CREATING, retried every {}s until deleted)", g.zone,
                   g.name, m.name, error, kStuckRetrySeconds);
    }
    return false;
  }
  m.stuck = false;
  m.error_code.clear();
  m.error_message.clear();
  InstanceRec in;
  in.project = g.project;
  in.zone = g.zone;
  in.name = m.name;
  in.machine_type = type;
  in.id = next_id_++;
  in.spot = spot;
  in.price = catalog_.Price(type, spot ? CapacityType::kSpot : CapacityType::kOnDemand).value_or(mt->price_on_demand);
  in.vcpus = vcpus;
  uint64_t n_ip = next_ip_++;
  in.internal_ip = "10.128." + std::to_string(n_ip / 250 % 250) + "." + std::to_string(n_ip % 250 + 2);
  auto t = templates_.find(g.template_url);
  json body = t != templates_.end() ? t->second["properties"] : json::object();
  body["name"] = m.name;
  body["machineType"] = "zones/" + g.zone + "/machineTypes/" + type;
  json items = body.contains("metadata") && body["metadata"].contains("items") ? body["metadata"]["items"]
                                                                               : json::array();
  items.push_back({{"key", "instance-template"},
                   {"value", "projects/" + ProjectNumber() + "/regions/" + Region() + "/instanceTemplates/" +
                                 LastSegment(g.template_url)}});
  items.push_back({{"key", "created-by"},
                   {"value", "projects/" + ProjectNumber() + "/zones/" + g.zone + "/instanceGroupManagers/" + g.name}});
  body["metadata"]["items"] = items;
  in.body = std::move(body);
  in.created = now;
  in.running_at = now + secs(scenario_.boot_delay_s);
  in.join_at = in.running_at + secs(scenario_.join_delay_s);
  in.delete_on_preemption = true;  // the group recreates it anyway
  in.group = g.zone + "/" + g.name;
  std::string key = in.project + "/" + in.zone + "/" + in.name;
  if (auto old = instances_.find(key); old != instances_.end()) {
    closed_cost_ += BilledCost(old->second, now);
    Untrack(old->second);
    instances_.erase(old);
  }
  IntegrateUnmanaged(now);
  unmanaged_.erase(m.name);
  Track(in);
  instances_.emplace(key, std::move(in));
  server_->stats().instances_created++;
  cv_.notify_all();
  return true;
}

void FakeGce::StartMemberDelete(GroupRec& g, MemberRec& m, TimePoint now) {
  m.deleting = true;
  InstanceRec* in = FindLive(g.project, g.zone, m.name, now);
  if (in == nullptr || in->delete_requested) return;
  auto secs = [](double s) { return duration_cast<TimePoint::duration>(std::chrono::duration<double>(s)); };
  in->delete_requested = true;
  in->gone_at = now + secs(scenario_.delete_delay_s);
  if (in->end == End::kNone) Stopped(*in, End::kDeleted, now);
  server_->stats().instances_deleted++;
  cv_.notify_all();
}

void FakeGce::RecreateLostMember(const InstanceRec& gone, TimePoint now) {
  auto g = groups_.find(gone.group);
  if (g == groups_.end()) return;
  auto m = g->second.members.find(gone.name);
  if (m == g->second.members.end() || m->second.deleting) return;
  spdlog::info("gke: group {} recreates member {} (its instance is gone: {})", g->second.name, gone.name,
               gone.end == End::kPreempted ? "preempted" : gone.end == End::kFailed ? "host failure" : "deleted");
  TryCreateMember(g->second, m->second, now);
}

void FakeGce::AdvanceGroups(TimePoint now) {
  auto secs = [](double s) { return duration_cast<TimePoint::duration>(std::chrono::duration<double>(s)); };
  for (auto& [key, g] : groups_) {
    for (auto it = g.members.begin(); it != g.members.end();) {
      MemberRec& m = it->second;
      auto inst = instances_.find(g.project + "/" + g.zone + "/" + m.name);
      bool live = inst != instances_.end() && Exists(inst->second, now);
      if (m.deleting && (m.stuck || !live)) {
        it = g.members.erase(it);
        continue;
      }
      if (!m.deleting && m.stuck && now >= m.next_attempt) TryCreateMember(g, m, now);
      // Auto-repair: a member whose VM failed is deleted and recreated.
      if (!m.deleting && live && inst->second.end == End::kFailed && !inst->second.gone_at) {
        inst->second.delete_requested = true;
        inst->second.gone_at = now + secs(scenario_.delete_delay_s);
        spdlog::info("gke: group {} repairs member {} (TERMINATED)", g.name, m.name);
      }
      // A member with no instance at all (never recorded) is created again.
      if (!m.deleting && !m.stuck && inst == instances_.end()) TryCreateMember(g, m, now);
      ++it;
    }
  }
}

// ---------------------------------------------------------------- Compute: groups and templates

json FakeGce::MemberJson(const Ctx& c, const GroupRec& g, const MemberRec& m) const {
  std::string zone_path = "projects/" + g.project + "/zones/" + g.zone;
  json j{{"instance", c.base + "/" + zone_path + "/instances/" + m.name},
         {"name", m.name},
         {"currentAction", MemberActionOf(g, m, c.now)},
         {"version", {{"instanceTemplate", c.base + "/" + g.template_url}}}};
  auto it = instances_.find(g.project + "/" + g.zone + "/" + m.name);
  if (!m.stuck && it != instances_.end() && Exists(it->second, c.now)) {
    j["id"] = std::to_string(it->second.id);
    j["instanceStatus"] = StatusOf(it->second, c.now);
  }
  if (m.stuck) {
    j["lastAttempt"] = {
        {"errors", {{"errors", json::array({{{"code", m.error_code}, {"message", m.error_message}}})}}}};
  }
  return j;
}

json FakeGce::GroupJson(const Ctx& c, const GroupRec& g) const {
  std::map<std::string, int> actions{{"none", 0},     {"creating", 0},   {"creatingWithoutRetries", 0},
                                     {"verifying", 0}, {"recreating", 0}, {"deleting", 0},
                                     {"abandoning", 0}, {"restarting", 0}, {"refreshing", 0},
                                     {"suspending", 0}, {"resuming", 0},   {"stopping", 0},
                                     {"starting", 0}};
  int64_t target = 0;
  bool stable = true;
  for (const auto& [n, m] : g.members) {
    std::string a = MemberActionOf(g, m, c.now);
    std::string key = a == "NONE" ? "none" : a == "CREATING" ? "creating" : a == "RECREATING" ? "recreating"
                                                                                              : "deleting";
    actions[key]++;
    stable = stable && a == "NONE";
    if (!m.deleting) ++target;
  }
  std::string zone_path = "projects/" + g.project + "/zones/" + g.zone;
  return json{{"kind", "compute#instanceGroupManager"},
              {"id", std::to_string(g.id)},
              {"creationTimestamp", Timestamp(g.created)},
              {"name", g.name},
              {"zone", c.base + "/" + zone_path},
              {"instanceTemplate", c.base + "/" + g.template_url},
              {"versions", json::array({{{"name", ""}, {"instanceTemplate", c.base + "/" + g.template_url}}})},
              {"instanceGroup", c.base + "/" + zone_path + "/instanceGroups/" + g.name},
              {"baseInstanceName", g.base},
              {"fingerprint", Fingerprint(g.id * 17)},
              {"currentActions", actions},
              {"status",
               {{"isStable", stable},
                {"versionTarget", {{"isReached", true}}},
                {"stateful", {{"hasStatefulConfig", false}, {"perInstanceConfigs", {{"allEffective", true}}}}}}},
              {"targetSize", target},
              {"listManagedInstancesResults", "PAGELESS"},
              {"selfLink", c.base + "/" + zone_path + "/instanceGroupManagers/" + g.name},
              {"updatePolicy",
               {{"type", "OPPORTUNISTIC"},
                {"minimalAction", "REPLACE"},
                {"maxSurge", {{"fixed", 1}, {"calculated", 1}}},
                {"maxUnavailable", {{"fixed", 0}, {"calculated", 0}}},
                {"replacementMethod", "SUBSTITUTE"}}}};
}

HttpResponse FakeGce::RouteTemplate(const Ctx& c, const std::vector<std::string>& seg) {
  std::string path;
  if (seg.size() == 5 && seg[2] == "global" && seg[3] == "instanceTemplates") {
    path = c.ProjectPath() + "/global/instanceTemplates/" + seg[4];
  } else if (seg.size() == 6 && seg[2] == "regions" && seg[4] == "instanceTemplates") {
    path = c.ProjectPath() + "/regions/" + seg[3] + "/instanceTemplates/" + seg[5];
  } else {
    return GceError(404, "notFound", "Not Found");
  }
  auto it = templates_.find(path);
  if (it == templates_.end()) return GceNotFound(path);
  json t = it->second;
  t["selfLink"] = c.base + "/" + path;
  if (t.contains("region")) t["region"] = c.base + "/" + t["region"].get<std::string>();
  return JsonResponse(200, t);
}

HttpResponse FakeGce::RouteGroup(const Ctx& c, const HttpRequest& req, const std::vector<std::string>& seg) {
  const std::string path = c.ZonePath() + "/instanceGroupManagers/" + seg[5];
  GroupRec* g = FindGroup(c.zone, seg[5]);
  if (g == nullptr || g->project != c.project) return GceNotFound(path);
  const std::string& m = req.method;
  if (seg.size() == 6) {
    if (m != "GET") return GceError(405, "methodNotAllowed", "Method " + m + " not allowed");
    return JsonResponse(200, GroupJson(c, *g));
  }
  if (seg.size() != 7) return GceError(404, "notFound", "Not Found");
  const std::string& verb = seg[6];
  if (verb == "listErrors") {
    if (m != "GET") return GceError(405, "methodNotAllowed", "Method " + m + " not allowed");
    json out{{"items", g->errors}};
    return JsonResponse(200, out);
  }
  if (m != "POST") return GceError(405, "methodNotAllowed", "Method " + m + " not allowed");
  if (verb == "listManagedInstances") return ListMembers(c, *g, req);
  // Mutations: a requestId names one operation forever.
  std::string request_id = req.Query("requestId");
  if (!request_id.empty()) {
    if (!ValidRequestId(request_id)) {
      return GceInvalid("Invalid value for field 'requestId': '" + request_id +
                        "'. The request ID must be a valid UUID with the exception that zero UUID is not supported.");
    }
    auto seen = request_ids_.find(c.project + "/" + request_id);
    if (seen != request_ids_.end()) {
      const OpRec& op = ops_.at(seen->second);
      spdlog::info("gke: {} requestId {} repeated; returning operation {}", verb, request_id, op.name);
      return JsonResponse(200, OperationJson(c, op, c.now));
    }
  }
  if (verb == "createInstances") return CreateMembers(c, *g, req);
  if (verb == "deleteInstances") return DeleteMembers(c, *g, req);
  if (verb == "resize") return ResizeGroup(c, *g, req);
  return GceError(404, "notFound", "Not Found");
}

HttpResponse FakeGce::ListMembers(const Ctx& c, const GroupRec& g, const HttpRequest&) {
  json items = json::array();
  for (const auto& [n, m] : g.members) {
    if (m.deleting && (m.stuck || !FindLive(g.project, g.zone, n, c.now))) continue;
    items.push_back(MemberJson(c, g, m));
  }
  json out = json::object();
  if (!items.empty()) out["managedInstances"] = items;
  return JsonResponse(200, out);
}

HttpResponse FakeGce::CreateMembers(const Ctx& c, GroupRec& g, const HttpRequest& req) {
  json body = json::parse(req.body, nullptr, false);
  if (body.is_discarded() || !body.is_object()) return GceError(400, "parseError", "Invalid JSON payload received.");
  if (!body.contains("instances") || !body["instances"].is_array() || body["instances"].empty()) {
    return GceError(400, "required", "Required field 'instances' not specified");
  }
  if (body["instances"].size() > kMaxInstancesPerCall) {
    return GceInvalid("Invalid value for field 'instances': at most 1000 instances per request.");
  }
  std::vector<std::string> names;
  for (const auto& i : body["instances"]) {
    std::string name = i.is_object() ? i.value("name", "") : "";
    if (!ValidName(name)) {
      return GceInvalid("Invalid value for field 'instances.name': '" + name +
                        "'. Must be a match of regex '(?:[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?)'");
    }
    names.push_back(name);
  }
  std::string duplicate;
  for (const auto& name : names) {
    auto existing = g.members.find(name);
    if (existing != g.members.end() && !existing->second.deleting) {
      duplicate = name;
      server_->stats().duplicate_create_requests++;
      spdlog::warn("gke: createInstances of existing member {} in group {} (requestId '{}'): refused, counted as a "
                   "duplicate create request",
                   name, g.name, req.Query("requestId"));
      continue;
    }
    if (existing != g.members.end()) g.members.erase(existing);  // a deleting one: replaced
    MemberRec m;
    m.name = name;
    auto [it, ok] = g.members.emplace(name, m);
    TryCreateMember(g, it->second, c.now);
    spdlog::info("gke: group {}/{} creates member {}{}", g.zone, g.name, name,
                 it->second.stuck ? " (stuck: " + it->second.error_code + ")" : "");
  }
  const OpRec& op0 = NewOperation(c.project, c.zone, "compute.instanceGroupManagers.createInstances", nullptr, g.name,
                                  req.Query("requestId"), c.now, c.now + std::chrono::seconds(1));
  OpRec& op = ops_.at(op0.name);
  op.target_collection = "instanceGroupManagers";
  op.start_time = c.now;  // RUNNING at once; DONE once the change is scheduled
  op.target_id = g.id;
  if (!duplicate.empty()) {
    op.error_code = "RESOURCE_ALREADY_EXISTS";
    op.error_message = "The resource 'projects/" + c.project + "/zones/" + c.zone + "/instances/" + duplicate +
                       "' already exists";
    op.http_error = 409;
    op.http_error_message = "CONFLICT";
  }
  cv_.notify_all();
  return JsonResponse(200, OperationJson(c, op, c.now));
}

HttpResponse FakeGce::DeleteMembers(const Ctx& c, GroupRec& g, const HttpRequest& req) {
  json body = json::parse(req.body, nullptr, false);
  if (body.is_discarded() || !body.is_object()) return GceError(400, "parseError", "Invalid JSON payload received.");
  if (!body.contains("instances") || !body["instances"].is_array()) {
    return GceError(400, "required", "Required field 'instances' not specified");
  }
  if (body["instances"].size() > kMaxInstancesPerCall) {
    return GceInvalid("Invalid value for field 'instances': at most 1000 instances per request.");
  }
  bool skip = body.value("skipInstancesOnValidationError", false);
  std::vector<std::string> names;
  for (const auto& i : body["instances"]) {
    std::string url = i.is_string() ? i.get<std::string>() : "";
    std::vector<std::string> parts = SplitPath(url);
    std::string zone;
    for (size_t k = 0; k + 1 < parts.size(); ++k) {
      if (parts[k] == "zones") zone = parts[k + 1];
    }
    std::string name = LastSegment(url);
    bool member = (zone.empty() || zone == g.zone) && g.members.count(name) && !g.members.at(name).deleting;
    if (!member) {
      if (skip) {
        spdlog::info("gke: deleteInstances on group {}: {} is not a member (or already deleting); skipped", g.name,
                     url);
        continue;
      }
      return GceInvalid("Invalid value for field 'instances': '" + url + "'. The instance is not a member of the "
                        "managed instance group or is already being deleted.");
    }
    names.push_back(name);
  }
  for (const auto& name : names) {
    MemberRec& m = g.members.at(name);
    StartMemberDelete(g, m, c.now);
    spdlog::info("gke: group {}/{} deletes member {}", g.zone, g.name, name);
  }
  const OpRec& op0 = NewOperation(c.project, c.zone, "compute.instanceGroupManagers.deleteInstances", nullptr, g.name,
                                  req.Query("requestId"), c.now, c.now + std::chrono::seconds(1));
  OpRec& op = ops_.at(op0.name);
  op.target_collection = "instanceGroupManagers";
  op.start_time = c.now;  // RUNNING at once; DONE once the change is scheduled
  op.target_id = g.id;
  cv_.notify_all();
  return JsonResponse(200, OperationJson(c, op, c.now));
}

HttpResponse FakeGce::ResizeGroup(const Ctx& c, GroupRec& g, const HttpRequest& req) {
  long long size = -1;
  try {
    size = std::stoll(req.Query("size", "-1"));
  } catch (...) {
    size = -1;
  }
  if (size < 0) return GceInvalid("Invalid value for field 'size': '" + req.Query("size") + "'. Must be >= 0");
  std::vector<std::string> alive;
  for (const auto& [n, m] : g.members) {
    if (!m.deleting) alive.push_back(n);
  }
  if (static_cast<size_t>(size) > alive.size()) {
    static const char* kChars = "abcdefghijklmnopqrstuvwxyz0123456789";
    for (size_t i = alive.size(); i < static_cast<size_t>(size); ++i) {
      std::string name;
      do {
        name = g.base + "-";
        for (int k = 0; k < 4; ++k) name.push_back(kChars[rng_() % 36]);
      } while (g.members.count(name));
      MemberRec m;
      m.name = name;
      auto [it, ok] = g.members.emplace(name, m);
      TryCreateMember(g, it->second, c.now);
    }
  } else {
    // The group picks: members that never got an instance first, then the newest.
    std::sort(alive.begin(), alive.end(), [&](const std::string& a, const std::string& b) {
      bool sa = g.members.at(a).stuck, sb = g.members.at(b).stuck;
      if (sa != sb) return sa;
      return a > b;
    });
    for (size_t i = 0; i < alive.size() - static_cast<size_t>(size); ++i) StartMemberDelete(g, g.members.at(alive[i]), c.now);
  }
  spdlog::info("gke: group {}/{} resized to {}", g.zone, g.name, size);
  const OpRec& op0 = NewOperation(c.project, c.zone, "compute.instanceGroupManagers.resize", nullptr, g.name,
                                  req.Query("requestId"), c.now, c.now + std::chrono::seconds(1));
  OpRec& op = ops_.at(op0.name);
  op.target_collection = "instanceGroupManagers";
  op.start_time = c.now;  // RUNNING at once; DONE once the change is scheduled
  op.target_id = g.id;
  cv_.notify_all();
  return JsonResponse(200, OperationJson(c, op, c.now));
}

// ---------------------------------------------------------------- GKE container API

json FakeGce::PoolJson(const PoolRec& p, const std::string& base) const {
  std::string project_path = "projects/" + scenario_.project;
  std::string status = p.deleted_at ? "STOPPING" : p.materialized ? "RUNNING" : "PROVISIONING";
  json j{{"name", p.name},
         {"config", p.config},
         {"initialNodeCount", p.initial_node_count},
         {"locations", p.locations},
         {"selfLink", base + "/" + project_path + "/locations/" + Region() + "/clusters/" + scenario_.cluster +
                          "/nodePools/" + p.name},
         {"version", "1.32.0-gke.1000000"},
         {"status", status},
         {"autoscaling", p.autoscaling},
         {"management", p.management},
         {"maxPodsConstraint", {{"maxPodsPerNode", "110"}}},
         {"podIpv4CidrSize", 24},
         {"upgradeSettings", {{"maxSurge", 1}, {"strategy", "SURGE"}}},
         {"etag", Hex8(p.name + std::to_string(p.groups.size())) + "-0000-4000-8000-" + p.hash + "0000"}};
  if (p.materialized) {
    // The compute base of this sim (the real value is https://www.googleapis.com/compute/v1/...).
    std::string compute = base.substr(0, base.rfind("/container/v1")) + "/compute/v1";
    json urls = json::array();
    for (const auto& key : p.groups) {
      const GroupRec& g = groups_.at(key);
      urls.push_back(compute + "/" + project_path + "/zones/" + g.zone + "/instanceGroupManagers/" + g.name);
    }
    j["instanceGroupUrls"] = urls;
  }
  return j;
}

json FakeGce::ClusterOpJson(const ClusterOpRec& op, const std::string& base) const {
  TimePoint now = server_->clock().Now();
  std::string status = now >= op.done ? "DONE" : "RUNNING";
  std::string loc = "projects/" + scenario_.project + "/locations/" + Region();
  json j{{"name", op.name},
         {"zone", Region()},
         {"operationType", op.type},
         {"status", status},
         {"selfLink", base + "/" + loc + "/operations/" + op.name},
         {"targetLink", base + "/" + loc + "/clusters/" + scenario_.cluster + "/nodePools/" + op.pool},
         {"startTime", SimClock::FormatMicroTime(op.start)},
         {"location", Region()}};
  if (status == "DONE") j["endTime"] = SimClock::FormatMicroTime(op.done);
  return j;
}

std::optional<HttpResponse> FakeGce::ClusterBusy() {
  TimePoint now = server_->clock().Now();
  for (const auto& [name, op] : cluster_ops_) {
    if (now >= op.done) continue;
    std::string doing = op.type == "CREATE_NODE_POOL"   ? "creating a node pool"
                        : op.type == "DELETE_NODE_POOL" ? "deleting a node pool"
                                                        : "setting the size of a node pool";
    return RpcError(400, "FAILED_PRECONDITION",
                    "Operation " + op.name + " is currently " + doing + " for cluster " + scenario_.cluster +
                        ". Please wait and try again once it is done.",
                    json::array({{{"@type", "type.googleapis.com/google.rpc.ErrorInfo"},
                                  {"reason", "CLUSTER_ALREADY_HAS_OPERATION"},
                                  {"domain", "container.googleapis.com"},
                                  {"metadata", {{"operation", op.name}}}}}));
  }
  return std::nullopt;
}

const FakeGce::ClusterOpRec& FakeGce::NewClusterOp(const std::string& type, const std::string& pool, TimePoint done) {
  ClusterOpRec op;
  op.name = NewOperationName();
  op.type = type;
  op.pool = pool;
  op.start = server_->clock().Now();
  op.done = std::max(done, op.start);
  auto [it, ok] = cluster_ops_.emplace(op.name, std::move(op));
  return it->second;
}

HttpResponse FakeGce::CreatePool(const HttpRequest& req, const std::string& base) {
  json body = json::parse(req.body, nullptr, false);
  if (body.is_discarded() || !body.is_object() || !body.contains("nodePool") || !body["nodePool"].is_object()) {
    return RpcError(400, "INVALID_ARGUMENT", "Invalid JSON payload received: want {\"nodePool\": {...}}.");
  }
  const json& np = body["nodePool"];
  std::string name = np.value("name", "");
  if (!ValidPoolName(name)) {
    return RpcError(400, "INVALID_ARGUMENT", "Invalid value for field \"node_pool.name\": \"" + name +
                                                 "\". Must match regex [a-z]([-a-z0-9]{0,38}[a-z0-9])?.");
  }
  if (pools_.count(name)) {
    return RpcError(409, "ALREADY_EXISTS", "Already exists: projects/" + scenario_.project + "/locations/" +
                                               Region() + "/clusters/" + scenario_.cluster + "/nodePools/" + name +
                                               ".");
  }
  if (auto busy = ClusterBusy()) return *busy;
  json config = np.contains("config") && np["config"].is_object() ? np["config"] : json::object();
  std::string type = config.value("machineType", "e2-medium");
  config["machineType"] = type;
  const MachineType* mt = catalog_.FindType(type);
  if (mt == nullptr) {
    return RpcError(400, "INVALID_ARGUMENT", "Machine type \"" + type + "\" does not exist in " + Region() + ".");
  }
  bool spot = config.value("spot", false) || config.value("preemptible", false);
  if (spot && !mt->price_spot) {
    return RpcError(400, "INVALID_ARGUMENT",
                    "Machine type \"" + type + "\" is not offered as Spot (the catalog has no spot price).");
  }
  std::vector<std::string> locations;
  if (np.contains("locations") && np["locations"].is_array() && !np["locations"].empty()) {
    for (const auto& l : np["locations"]) {
      std::string z = l.is_string() ? l.get<std::string>() : "";
      if (std::find(mt->zones.begin(), mt->zones.end(), z) == mt->zones.end()) {
        return RpcError(400, "INVALID_ARGUMENT",
                        "Machine type \"" + type + "\" is not available in zone \"" + z + "\".");
      }
      locations.push_back(z);
    }
  } else {
    for (const auto& z : mt->zones) {
      if (RegionOfZone(z) == Region()) locations.push_back(z);
    }
  }
  if (config.contains("taints") && !config["taints"].is_array()) {
    return RpcError(400, "INVALID_ARGUMENT", "Invalid value for field \"node_pool.config.taints\".");
  }
  int64_t initial = np.value("initialNodeCount", 0);
  if (initial < 0) return RpcError(400, "INVALID_ARGUMENT", "initial_node_count must be >= 0.");
  TimePoint now = server_->clock().Now();
  TimePoint ready = now + duration_cast<TimePoint::duration>(
                              std::chrono::duration<double>(scenario_.node_pool_create_delay_s));
  PoolRec& p = NewPool(name, config, locations, ready);
  p.initial_node_count = initial;
  if (np.contains("autoscaling") && np["autoscaling"].is_object()) p.autoscaling = np["autoscaling"];
  if (np.contains("management") && np["management"].is_object()) p.management = np["management"];
  if (p.autoscaling.value("enabled", false)) {
    spdlog::warn("gke: node pool {} asks for autoscaling; kinema-sim runs no cluster autoscaler", name);
  }
  const ClusterOpRec& op = NewClusterOp("CREATE_NODE_POOL", name, ready);
  spdlog::info("gke: creating node pool {} ({} {}, {} zone(s)); operation {} DONE in {}s", name, type,
               spot ? "spot" : "on-demand", locations.size(), op.name, scenario_.node_pool_create_delay_s);
  cv_.notify_all();
  return JsonResponse(200, ClusterOpJson(op, base));
}

HttpResponse FakeGce::DeletePool(PoolRec& p, const std::string& base) {
  if (p.deleted_at) {
    return RpcError(400, "FAILED_PRECONDITION", "Node pool " + p.name + " is being deleted.");
  }
  if (auto busy = ClusterBusy()) return *busy;
  TimePoint now = server_->clock().Now();
  for (const auto& key : p.groups) {
    GroupRec& g = groups_.at(key);
    for (auto& [n, m] : g.members) StartMemberDelete(g, m, now);
  }
  p.deleted_at = now + duration_cast<TimePoint::duration>(
                           std::chrono::duration<double>(scenario_.node_pool_delete_delay_s));
  const ClusterOpRec& op = NewClusterOp("DELETE_NODE_POOL", p.name, *p.deleted_at);
  spdlog::info("gke: deleting node pool {}; operation {}", p.name, op.name);
  cv_.notify_all();
  return JsonResponse(200, ClusterOpJson(op, base));
}

HttpResponse FakeGce::SetPoolSize(PoolRec& p, const HttpRequest& req, const std::string& base) {
  json body = json::parse(req.body, nullptr, false);
  if (body.is_discarded() || !body.is_object() || !body.contains("nodeCount") || !body["nodeCount"].is_number_integer() ||
      body["nodeCount"].get<int64_t>() < 0) {
    return RpcError(400, "INVALID_ARGUMENT", "Invalid value for field \"node_count\": want an integer >= 0.");
  }
  if (!p.materialized || p.deleted_at) {
    return RpcError(400, "FAILED_PRECONDITION", "Node pool " + p.name + " is not RUNNING.");
  }
  if (auto busy = ClusterBusy()) return *busy;
  int64_t count = body["nodeCount"].get<int64_t>();
  for (const auto& key : p.groups) {
    GroupRec& g = groups_.at(key);
    Ctx c;
    c.base = base.substr(0, base.rfind("/container/v1")) + "/compute/v1";
    c.project = g.project;
    c.zone = g.zone;
    c.now = server_->clock().Now();
    HttpRequest resize;
    resize.method = "POST";
    resize.query["size"] = std::to_string(count);
    ResizeGroup(c, g, resize);
  }
  TimePoint now = server_->clock().Now();
  const ClusterOpRec& op = NewClusterOp("SET_NODE_POOL_SIZE", p.name, now + std::chrono::seconds(10));
  return JsonResponse(200, ClusterOpJson(op, base));
}

HttpResponse FakeGce::HandleContainer(const HttpRequest& req) {
  std::optional<FaultTarget> target = ClassifyContainerRequest(req);
  ComputeFaultDecision fault;
  if (target && server_ != nullptr) fault = server_->faults().DecideCompute(target->verb, target->resource);
  if (fault.error) {
    spdlog::info("fault: {} {} -> {} (gke {} {}, not carried out)", target->verb, target->resource, fault.error->code,
                 req.method, req.target);
    return RpcFault(*fault.error);
  }
  const std::string prefix = "/container/v1/";
  std::vector<std::string> seg = SplitPath(req.path.substr(std::min(req.path.size(), prefix.size())));
  HttpResponse r;
  {
    std::lock_guard<std::mutex> l(mu_);
    if (!started_) return RpcError(503, "UNAVAILABLE", "The fake GKE is not running");
    r = RouteContainer(req, seg);
  }
  if (r.status >= 400 && r.status != 404) spdlog::info("gke: {} {} -> {} {}", req.method, req.target, r.status, r.body);
  if (fault.lost_response) {
    spdlog::info("fault: {} {} -> {} (gke {} {} carried out with {}; response lost)", target->verb, target->resource,
                 fault.lost_response->code, req.method, req.target, r.status);
    return RpcFault(*fault.lost_response);
  }
  return r;
}

HttpResponse FakeGce::RouteContainer(const HttpRequest& req, const std::vector<std::string>& seg) {
  std::string host = req.Header("host");
  std::string base = std::string(server_->options().tls ? "https://" : "http://") + (host.empty() ? "localhost" : host) +
                     "/container/v1";
  if (seg.size() < 5 || seg[0] != "projects" || seg[2] != "locations") return RpcError(404, "NOT_FOUND", "Not Found");
  const std::string& project = seg[1];
  const std::string& location = seg[3];
  if (!scenario_.gke()) {
    return RpcError(404, "NOT_FOUND", "Not found: projects/" + project + "/locations/" + location +
                                          " (kinema-sim runs the GKE API only with scenario cloud.mode: gke).");
  }
  if (!projects_.count(project) || location != Region()) {
    return RpcError(404, "NOT_FOUND", "Not found: projects/" + project + "/locations/" + location + ".");
  }
  TimePoint now = server_->clock().Now();
  SettlePools(now);
  const std::string& m = req.method;
  if (seg[4] == "operations") {
    if (m != "GET") return RpcError(405, "METHOD_NOT_ALLOWED", "Method " + m + " not allowed");
    if (seg.size() == 5) {
      json ops = json::array();
      for (const auto& [name, op] : cluster_ops_) ops.push_back(ClusterOpJson(op, base));
      json out = json::object();
      if (!ops.empty()) out["operations"] = ops;
      return JsonResponse(200, out);
    }
    if (seg.size() == 6) {
      auto it = cluster_ops_.find(seg[5]);
      if (it == cluster_ops_.end()) {
        return RpcError(404, "NOT_FOUND", "Not found: projects/" + project + "/locations/" + location +
                                              "/operations/" + seg[5] + ".");
      }
      return JsonResponse(200, ClusterOpJson(it->second, base));
    }
    return RpcError(404, "NOT_FOUND", "Not Found");
  }
  if (seg[4] != "clusters" || seg.size() < 6) return RpcError(404, "NOT_FOUND", "Not Found");
  if (seg[5] != scenario_.cluster) {
    return RpcError(404, "NOT_FOUND", "Not found: projects/" + project + "/locations/" + location + "/clusters/" +
                                          seg[5] + ".");
  }
  if (seg.size() < 7 || seg[6] != "nodePools") return RpcError(404, "NOT_FOUND", "Not Found");
  if (seg.size() == 7) {
    if (m == "POST") return CreatePool(req, base);
    if (m == "GET") {
      json pools = json::array();
      for (const auto& [name, p] : pools_) pools.push_back(PoolJson(p, base));
      json out = json::object();
      if (!pools.empty()) out["nodePools"] = pools;
      return JsonResponse(200, out);
    }
    return RpcError(405, "METHOD_NOT_ALLOWED", "Method " + m + " not allowed");
  }
  if (seg.size() != 8) return RpcError(404, "NOT_FOUND", "Not Found");
  std::string name = seg[7];
  bool set_size = false;
  if (size_t colon = name.find(':'); colon != std::string::npos) {
    if (name.substr(colon) != ":setSize") return RpcError(404, "NOT_FOUND", "Not Found");
    set_size = true;
    name = name.substr(0, colon);
  }
  auto it = pools_.find(name);
  if (it == pools_.end()) {
    return RpcError(404, "NOT_FOUND", "Not found: projects/" + project + "/locations/" + location + "/clusters/" +
                                          scenario_.cluster + "/nodePools/" + name + ".");
  }
  if (set_size) {
    if (m != "POST") return RpcError(405, "METHOD_NOT_ALLOWED", "Method " + m + " not allowed");
    return SetPoolSize(it->second, req, base);
  }
  if (m == "GET") return JsonResponse(200, PoolJson(it->second, base));
  if (m == "DELETE") return DeletePool(it->second, base);
  return RpcError(405, "METHOD_NOT_ALLOWED", "Method " + m + " not allowed");
}

}  // namespace kinema::sim::gce
