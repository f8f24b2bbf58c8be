#include "engine/cloud/gke_provider.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <thread>

#include "engine/cloud/request_id.h"
#include "engine/common/safe_json.h"
#include "engine/common/shutdown.h"
#include "engine/http/redact.h"

namespace kinema::cloud {

namespace {

using nlohmann::json;

std::string GroupKey(const GroupRef& g) { return g.zone + "/" + g.name; }

std::string GroupPath(const GroupRef& g) {
  return "zones/" + http::UrlEncode(g.zone) + "/instanceGroupManagers/" + http::UrlEncode(g.name);
}

bool Contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

bool IsManagedPool(const NodePool& p) {
  auto it = p.node_labels.find(kManagedPoolLabel);
  return it != p.node_labels.end() && it->second == "true";
}

std::string Join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ", ") + s;
  return out;
}

}  // namespace

// ---------------------------------------------------------------- construction

StatusOr<std::unique_ptr<GkeCloudProvider>> GkeCloudProvider::Create(GkeOptions options,
                                                                     std::unique_ptr<TokenSource> tokens,
                                                                     std::shared_ptr<const http::HttpClient> http) {
  if (options.location.empty()) return Status::InvalidArgument("cloud.location: required for the gke provider");
  if (options.cluster.empty()) return Status::InvalidArgument("cloud.cluster: required for the gke provider");
  if (options.container_endpoint.empty()) options.container_endpoint = kDefaultContainerEndpoint;
  if (options.container_endpoint.rfind("http://", 0) != 0 && options.container_endpoint.rfind("https://", 0) != 0) {
    return Status::InvalidArgument("cloud.containerEndpoint: \"" + http::RedactUrl(options.container_endpoint) +
                                   "\" is not an http(s) URL");
  }
  while (options.container_endpoint.back() == '/') options.container_endpoint.pop_back();
  if (!tokens) tokens = NewNoTokenSource();
  if (!http) http = std::make_shared<http::HttpClient>();
  std::shared_ptr<TokenSource> shared(std::move(tokens));
  // The Compute half shares the token source (one cache, one refresh).
  struct Shared : TokenSource {
    explicit Shared(std::shared_ptr<TokenSource> t) : t_(std::move(t)) {}
    StatusOr<std::string> Token() override { return t_->Token(); }
    void Invalidate() override { t_->Invalidate(); }
    std::string Describe() const override { return t_->Describe(); }
    std::shared_ptr<TokenSource> t_;
  };
  GceOptions compute_options = options.compute;
  compute_options.instance_template.clear();  // nodes come from the pools' templates
  compute_options.unavailable_ttl = options.unavailable_ttl;
  auto compute = GceCloudProvider::Create(compute_options, std::make_unique<Shared>(shared), http);
  if (!compute.ok()) return compute.status();
  auto p = std::unique_ptr<GkeCloudProvider>(
      new GkeCloudProvider(std::move(options), std::move(*compute), std::move(shared), std::move(http)));
  spdlog::info("cloud: {}", p->Describe());
  return p;
}

GkeCloudProvider::GkeCloudProvider(GkeOptions options, std::unique_ptr<GceCloudProvider> compute,
                                   std::shared_ptr<TokenSource> tokens, std::shared_ptr<const http::HttpClient> http)
    : options_(std::move(options)),
      compute_(std::move(compute)),
      container_("gke", std::move(tokens), std::move(http), options_.compute.retry, options_.compute.request_timeout) {}

std::string GkeCloudProvider::Describe() const {
  return "gke project=" + options_.compute.project + " location=" + options_.location + " cluster=" +
         options_.cluster + " nodePools=" + (options_.pool_mode == NodePoolMode::kCreate ? "create" : "existing") +
         " container=" + http::RedactUrl(options_.container_endpoint) +
         " compute=" + http::RedactUrl(compute_->options().endpoint) + " token=" + container_.tokens().Describe();
}

std::string GkeCloudProvider::LocationUrl() const {
  return options_.container_endpoint + "/projects/" + http::UrlEncode(options_.compute.project) + "/locations/" +
         http::UrlEncode(options_.location);
}

std::string GkeCloudProvider::ClusterUrl() const { return LocationUrl() + "/clusters/" + http::UrlEncode(options_.cluster); }

// ---------------------------------------------------------------- raw calls

StatusOr<Operation> GkeCloudProvider::InsertInstance(const InstanceSpec& spec) {
  return MakeCloudError(CloudErrorKind::kInvalid,
                        "gke insert instance " + spec.zone + "/" + spec.name +
                            ": refused — under cloud.provider gke a VM joins the cluster only as a member of a node "
                            "pool's instance group (use LaunchNode)");
}

StatusOr<Instance> GkeCloudProvider::GetInstance(const std::string& zone, const std::string& name) {
  return compute_->GetInstance(zone, name);
}

StatusOr<std::vector<Instance>> GkeCloudProvider::ListInstances(const InstanceFilter& filter) {
  return compute_->ListInstances(filter);
}

StatusOr<Operation> GkeCloudProvider::WaitOperation(const Operation& op, Clock::time_point deadline) {
  return compute_->WaitOperation(op, deadline);
}

StatusOr<std::vector<MachineTypeInfo>> GkeCloudProvider::ListMachineTypes(const std::string& zone) {
  return compute_->ListMachineTypes(zone);
}

StatusOr<MachineTypeInfo> GkeCloudProvider::GetMachineType(const std::string& zone, const std::string& name) {
  return compute_->GetMachineType(zone, name);
}

StatusOr<Operation> GkeCloudProvider::DeleteInstance(const std::string& zone, const std::string& name,
                                                     const std::string& idempotency_key) {
  const std::string what = "gke delete instance " + zone + "/" + name;
  if (idempotency_key.empty()) return Status::InvalidArgument(what + ": idempotency key is empty");
  auto found = FindMembership(zone, name, "");
  if (!found.ok()) return found.status().WithContext(what);
  if (!found->has_value()) {
    spdlog::info("gke: instance {}/{} is no node pool group's member; deleting it with instances.delete", zone, name);
    return compute_->DeleteInstance(zone, name, idempotency_key);
  }
  return DeleteMembers((*found)->first, {name}, idempotency_key);
}

// ---------------------------------------------------------------- pools

NodePoolSpec GkeCloudProvider::NodePoolSpecFor(const std::string& machine_type, CapacityType capacity) const {
  NodePoolSpec spec;
  spec.name = NodePoolNameFor(machine_type, capacity);
  spec.machine_type = machine_type;
  spec.spot = capacity == CapacityType::kSpot;
  const Catalog& cat = options_.catalog;
  if (const MachineType* mt = cat.FindType(machine_type)) {
    for (const auto& z : mt->zones) {
      if (options_.compute.zones.empty() || Contains(options_.compute.zones, z)) spec.locations.push_back(z);
    }
    spec.node_labels = mt->labels;
    spec.taints = mt->taints;
  } else {
    spec.locations = options_.compute.zones;
  }
  // GKE sets cloud.google.com/gke-nodepool from the pool itself.
  spec.node_labels.erase("cloud.google.com/gke-nodepool");
  if (spec.spot) {
    for (const auto& [k, v] : cat.spot_labels) spec.node_labels[k] = v;
    for (const auto& t : cat.spot_taints) {
      if (std::find(spec.taints.begin(), spec.taints.end(), t) == spec.taints.end()) spec.taints.push_back(t);
    }
  }
  spec.node_labels["kinema.io/capacity-type"] = CapacityTypeName(capacity);
  spec.node_labels[kManagedPoolLabel] = "true";
  spec.resource_labels[kManagedResourceLabel] = "true";
  return spec;
}

std::string GkeCloudProvider::NodeGroupFor(const std::string& machine_type, CapacityType capacity) const {
  return NodePoolNameFor(machine_type, capacity);
}

void GkeCloudProvider::RememberPool(const NodePool& pool) {
  std::lock_guard<std::mutex> l(mu_);
  if (pool.Usable()) {
    pools_[pool.name] = CachedPool{pool, Clock::now()};
  } else {
    pools_.erase(pool.name);
  }
}

void GkeCloudProvider::ForgetGroup(const GroupRef& group) {
  std::lock_guard<std::mutex> l(mu_);
  groups_.erase(GroupKey(group));
  // The pool that listed it may be gone or recreated too.
  for (auto it = pools_.begin(); it != pools_.end();) {
    bool listed = false;
    for (const auto& url : it->second.pool.instance_group_urls) {
      GroupRef g;
      if (ParseGroupUrl(url, &g) && g.SameGroup(group)) listed = true;
    }
    it = listed ? pools_.erase(it) : std::next(it);
  }
}

StatusOr<NodePool> GkeCloudProvider::GetNodePool(const std::string& name) {
  {
    std::lock_guard<std::mutex> l(mu_);
    auto it = pools_.find(name);
    if (it != pools_.end() && Clock::now() - it->second.at < options_.pool_cache_ttl) return it->second.pool;
  }
  const std::string what = "gke get node pool " + name;
  auto r = container_.Call("GET", ClusterUrl() + "/nodePools/" + http::UrlEncode(name), "", what);
  if (!r.ok()) return r.status();
  auto pool = ParseNodePool(safe_json::Parse(r->body), what);
  if (pool.ok()) RememberPool(*pool);
  return pool;
}

StatusOr<std::vector<NodePool>> GkeCloudProvider::ListNodePools() {
  const std::string what = "gke list node pools of " + options_.cluster;
  auto r = container_.Call("GET", ClusterUrl() + "/nodePools", "", what);
  if (!r.ok()) return r.status();
  auto pools = ParseNodePoolList(safe_json::Parse(r->body), what);
  if (pools.ok()) {
    for (const auto& p : *pools) RememberPool(p);
  }
  return pools;
}

StatusOr<ClusterOperation> GkeCloudProvider::GetClusterOperation(const std::string& name) {
  const std::string what = "gke get operation " + name;
  auto r = container_.Call("GET", LocationUrl() + "/operations/" + http::UrlEncode(name), "", what);
  if (!r.ok()) return r.status();
  return ParseClusterOperation(safe_json::Parse(r->body), what);
}

StatusOr<std::vector<ClusterOperation>> GkeCloudProvider::ListClusterOperations() {
  const std::string what = "gke list operations in " + options_.location;
  auto r = container_.Call("GET", LocationUrl() + "/operations", "", what);
  if (!r.ok()) return r.status();
  return ParseClusterOperationList(safe_json::Parse(r->body), what);
}

StatusOr<ClusterOperation> GkeCloudProvider::WaitClusterOperation(const std::string& name, Clock::time_point deadline,
                                                                  std::chrono::milliseconds poll) {
  while (true) {
    auto op = GetClusterOperation(name);
    if (!op.ok() || op->done()) return op;
    if (Clock::now() + poll >= deadline) {
      return MakeCloudError(CloudErrorKind::kDeadlineExceeded,
                            "gke wait for operation " + name + " (" + op->operation_type + " " + op->target_name +
                                "): still " + op->status + " at the deadline");
    }
    if (!SleepUnlessShutdown(poll)) {
      return Status::Cancelled("gke wait for operation " + name + ": the process is shutting down");
    }
  }
}

StatusOr<std::string> GkeCloudProvider::FindCreateOperation(const std::string& pool) {
  {
    std::lock_guard<std::mutex> l(mu_);
    auto it = create_ops_.find(pool);
    if (it != create_ops_.end()) return it->second;
  }
  auto ops = ListClusterOperations();
  if (!ops.ok()) return ops.status();
  for (const auto& op : *ops) {
    if (op.target_name == pool && !op.done() && op.operation_type == "CREATE_NODE_POOL") {
      std::lock_guard<std::mutex> l(mu_);
      create_ops_[pool] = op.name;
      return op.name;
    }
  }
  return std::string();
}

StatusOr<NodePoolProgress> GkeCloudProvider::ProgressOf(const NodePool& pool) {
  NodePoolProgress p;
  p.pool = pool;
  if (pool.Usable()) {
    p.state = NodePoolProgress::State::kReady;
    p.detail = "node pool " + pool.name + " " + pool.status;
    std::lock_guard<std::mutex> l(mu_);
    create_ops_.erase(pool.name);
    return p;
  }
  if (pool.status == "PROVISIONING" || pool.status == "STATUS_UNSPECIFIED" || pool.status.empty()) {
    auto op = FindCreateOperation(pool.name);
    if (!op.ok()) return op.status();
    p.state = NodePoolProgress::State::kCreating;
    p.operation = *op;
    p.detail = "node pool " + pool.name + " PROVISIONING" + (op->empty() ? "" : " (operation " + *op + ")");
    return p;
  }
  p.state = NodePoolProgress::State::kFailed;
  p.error = MakeCloudError(CloudErrorKind::kNoNodeGroup,
                           "node pool " + pool.name + " is " + pool.status +
                               (pool.status_message.empty() ? "" : ": " + pool.status_message) +
                               (pool.status == "ERROR" ? " (delete it; Kinema recreates it when next needed)" : ""));
  p.detail = p.error.message();
  return p;
}

StatusOr<NodePoolProgress> GkeCloudProvider::EnsureNodePool(const NodePoolSpec& spec) {
  const std::string what = "gke ensure node pool " + spec.name;
  auto pool = GetNodePool(spec.name);
  if (pool.ok()) return ProgressOf(*pool);
  if (ClassifyCloudError(pool.status()) != CloudErrorKind::kNotFound) return pool.status();
  if (spec.locations.empty() && !options_.compute.zones.empty()) {
    return Status::InvalidArgument(what + ": machine type " + spec.machine_type + " is offered in none of " +
                                   Join(options_.compute.zones));
  }
  CallOptions raw;
  raw.raw_errors = true;
  spdlog::info("gke: creating node pool {} ({} {}, zones {}) in cluster {}", spec.name, spec.machine_type,
               spec.spot ? "spot" : "on-demand", spec.locations.empty() ? "of the cluster" : Join(spec.locations),
               options_.cluster);
  auto r = container_.Call("POST", ClusterUrl() + "/nodePools", BuildNodePoolCreateBody(spec).dump(), what, raw);
  if (!r.ok()) return r.status();
  NodePoolProgress p;
  if (r->status >= 200 && r->status < 300) {
    auto op = ParseClusterOperation(safe_json::Parse(r->body), what);
    if (!op.ok()) return op.status();
    {
      std::lock_guard<std::mutex> l(mu_);
      create_ops_[spec.name] = op->name;
    }
    if (op->done() && !op->error.ok()) {
      p.state = NodePoolProgress::State::kFailed;
      p.error = op->error;
      p.detail = op->error.message();
      return p;
    }
    p.state = NodePoolProgress::State::kCreating;
    p.operation = op->name;
    p.detail = "creating node pool " + spec.name + " (operation " + op->name + ")";
    return p;
  }
  if (IsClusterBusyError(r->status, r->body)) {
    p.state = NodePoolProgress::State::kBusy;
    p.detail = "cluster " + options_.cluster + " is busy (HTTP " + std::to_string(r->status) + " " +
               GceErrorReason(r->body) + "); node pool " + spec.name + " will be created when it is free";
    spdlog::info("gke: {}", p.detail);
    return p;
  }
  Status err = GceHttpError(r->status, r->body, what);
  if (ClassifyCloudError(err) == CloudErrorKind::kAlreadyExists) {
    auto again = GetNodePool(spec.name);
    if (!again.ok()) return again.status();
    return ProgressOf(*again);
  }
  return err;
}

StatusOr<NodePoolProgress> GkeCloudProvider::ResolvePool(const std::string& machine_type, CapacityType capacity,
                                                         bool create_missing) {
  const bool spot = capacity == CapacityType::kSpot;
  const std::string own = NodePoolNameFor(machine_type, capacity);
  if (options_.pool_mode == NodePoolMode::kCreate) {
    auto pool = GetNodePool(own);
    if (pool.ok()) return ProgressOf(*pool);
    if (ClassifyCloudError(pool.status()) != CloudErrorKind::kNotFound) return pool.status();
  }
  auto pools = ListNodePools();
  if (!pools.ok()) return pools.status();
  const NodePool* best = nullptr;
  for (const auto& p : *pools) {
    if (!IsManagedPool(p) || p.machine_type != machine_type || p.spot != spot) continue;
    if (best == nullptr || (p.Usable() && !best->Usable()) || (p.Usable() == best->Usable() && p.name < best->name)) {
      best = &p;
    }
  }
  if (best != nullptr) return ProgressOf(*best);
  if (!create_missing) {
    NodePoolProgress p;
    p.state = NodePoolProgress::State::kAbsent;
    p.detail = "no node pool for " + machine_type + " " + CapacityTypeName(capacity);
    return p;
  }
  if (options_.pool_mode == NodePoolMode::kExisting) {
    NodePoolProgress p;
    p.state = NodePoolProgress::State::kFailed;
    p.error = MakeCloudError(CloudErrorKind::kNoNodeGroup,
                             "no node pool of cluster " + options_.cluster + " labelled " + kManagedPoolLabel +
                                 "=true runs " + machine_type + " " + CapacityTypeName(capacity) +
                                 " (cloud.nodePools: existing)");
    p.detail = p.error.message();
    return p;
  }
  return EnsureNodePool(NodePoolSpecFor(machine_type, capacity));
}

// ---------------------------------------------------------------- groups

StatusOr<GroupRef> GkeCloudProvider::GroupInZone(const NodePool& pool, const std::string& zone) const {
  std::vector<std::string> zones;
  for (const auto& url : pool.instance_group_urls) {
    GroupRef g;
    if (!ParseGroupUrl(url, &g)) continue;
    if (g.zone == zone) return g;
    zones.push_back(g.zone);
  }
  return MakeCloudError(CloudErrorKind::kNoNodeGroup, "node pool " + pool.name + " has no instance group in zone " +
                                                          zone + " (its groups are in " +
                                                          (zones.empty() ? "no zone" : Join(zones)) + ")");
}

StatusOr<InstanceGroupManager> GkeCloudProvider::GetGroup(const GroupRef& group) {
  {
    std::lock_guard<std::mutex> l(mu_);
    auto it = groups_.find(GroupKey(group));
    if (it != groups_.end()) return it->second;
  }
  const std::string what = "gce get instance group " + group.zone + "/" + group.name;
  auto j = compute_->GetJson(GroupPath(group), what);
  if (!j.ok()) {
    if (ClassifyCloudError(j.status()) == CloudErrorKind::kNotFound) ForgetGroup(group);
    return j.status();
  }
  auto g = ParseInstanceGroupManager(*j, what);
  if (!g.ok()) return g.status();
  std::lock_guard<std::mutex> l(mu_);
  groups_[GroupKey(group)] = *g;
  return g;
}

StatusOr<std::vector<ManagedInstance>> GkeCloudProvider::ListMembers(const GroupRef& group) {
  const std::string what = "gce list members of group " + group.zone + "/" + group.name;
  std::vector<ManagedInstance> out;
  PageCursor cursor;
  while (true) {
    std::string url = compute_->ProjectUrl() + "/" + GroupPath(group) + "/listManagedInstances";
    if (!cursor.token.empty()) url += "?pageToken=" + http::UrlEncode(cursor.token);
    auto r = compute_->caller().Call("POST", url, "", what);
    if (!r.ok()) {
      if (ClassifyCloudError(r.status()) == CloudErrorKind::kNotFound) ForgetGroup(group);
      return r.status();
    }
    auto page = safe_json::Parse(r->body);
    auto members = ParseManagedInstances(page, what);
    if (!members.ok()) return members.status();
    for (auto& m : *members) {
      if (m.zone.empty()) m.zone = group.zone;
      out.push_back(std::move(m));
    }
    auto more = cursor.Advance(page, what);
    if (!more.ok()) return more.status();
    if (!*more) break;
  }
  return out;
}

StatusOr<Operation> GkeCloudProvider::DeleteMembers(const GroupRef& group, const std::vector<std::string>& names,
                                                    const std::string& request_key) {
  const std::string what = "gce delete members of group " + group.zone + "/" + group.name;
  std::string request_id = RequestIdFor("igm.deleteInstances", request_key);
  std::string names_text;
  for (const auto& n : names) names_text += (names_text.empty() ? "" : ",") + n;
  spdlog::info("gke: deleting {} from group {}/{} requestId={}", names_text, group.zone, group.name, request_id);
  return compute_->PostForOperation(GroupPath(group) + "/deleteInstances?requestId=" + request_id,
                                    BuildDeleteInstancesBody(group.zone, names).dump(), what);
}

StatusOr<std::optional<std::pair<GroupRef, ManagedInstance>>> GkeCloudProvider::FindMembership(
    const std::string& zone, const std::string& name, const std::string& pool_hint) {
  using Found = std::optional<std::pair<GroupRef, ManagedInstance>>;
  std::vector<GroupRef> candidates;
  auto add = [&](const GroupRef& g) {
    for (const auto& c : candidates) {
      if (c.SameGroup(g)) return;
    }
    candidates.push_back(g);
  };
  // 1. The instance's own `created-by` (authoritative while it exists).
  auto in = compute_->GetInstance(zone, name);
  if (in.ok()) {
    auto it = in->metadata.find("created-by");
    GroupRef g;
    if (it != in->metadata.end() && ParseCreatedBy(it->second, &g)) add(g);
  } else if (ClassifyCloudError(in.status()) != CloudErrorKind::kNotFound) {
    return in.status();
  }
  // 2. The hinted pool, 3. every pool's group in the zone (a member stuck in
  // CREATING has no instance, hence no created-by).
  if (!pool_hint.empty()) {
    auto pool = GetNodePool(pool_hint);
    if (pool.ok()) {
      auto g = GroupInZone(*pool, zone);
      if (g.ok()) add(*g);
    } else if (ClassifyCloudError(pool.status()) != CloudErrorKind::kNotFound) {
      return pool.status();
    }
  }
  auto search = [&](size_t from) -> StatusOr<Found> {
    for (size_t i = from; i < candidates.size(); ++i) {
      auto members = ListMembers(candidates[i]);
      if (!members.ok()) {
        if (ClassifyCloudError(members.status()) == CloudErrorKind::kNotFound) continue;
        return members.status();
      }
      for (const auto& m : *members) {
        if (m.name == name) return Found(std::make_pair(candidates[i], m));
      }
    }
    return Found();
  };
  auto found = search(0);
  if (!found.ok() || found->has_value()) return found;
  size_t searched = candidates.size();
  auto pools = ListNodePools();
  if (!pools.ok()) return pools.status();
  for (const auto& p : *pools) {
    auto g = GroupInZone(p, zone);
    if (g.ok()) add(*g);
  }
  return search(searched);
}

// ---------------------------------------------------------------- node API

NodeStatus GkeCloudProvider::FromMember(const ManagedInstance& m, const GroupRef& group,
                                        const std::string& pool) const {
  NodeStatus st;
  st.instance_name = m.name;
  st.zone = group.zone;
  st.group = pool;
  st.provider_id = "gce://" + options_.compute.project + "/" + group.zone + "/" + m.name;
  const std::string& a = m.current_action;
  st.detail = "member of " + group.name + ": " + (a.empty() ? "?" : a) +
              (m.instance_status.empty() ? "" : ", instance " + m.instance_status);
  if (a == "NONE" && m.instance_status == "RUNNING") {
    st.state = NodeState::kRunning;
  } else if (a == "DELETING" || a == "ABANDONING" || a == "STOPPING" || a == "SUSPENDING") {
    st.state = NodeState::kDeleting;
  } else {
    st.state = NodeState::kCreating;
  }
  return st;
}

NodeStatus GkeCloudProvider::FailStuckMember(NodeStatus st, const NodeSpec& spec, const GroupRef& group,
                                             const Status& error) {
  st.state = NodeState::kFailed;
  st.error = error;
  CloudErrorKind kind = ClassifyCloudError(error);
  // cluster-autoscaler's deleteCreatedNodesWithErrors: the group would retry
  // forever and keep targetSize inflated; remove the member.
  auto op = DeleteMembers(group, {st.instance_name}, spec.key + "/stuck");
  if (op.ok()) {
    st.operation = op->name;
    st.detail = error.message() + "; deleted the stuck member (operation " + op->name + ")";
  } else {
    st.detail = error.message() + "; deleting the stuck member failed (" + op.status().message() +
                "): the next call retries";
    st.state = NodeState::kCreating;  // not over until the member is gone
  }
  if (IsCapacityError(kind)) {
    offerings_.Mark(spec.machine_type, spec.zone, spec.capacity, options_.unavailable_ttl, error.message());
  }
  return st;
}

StatusOr<NodeStatus> GkeCloudProvider::LaunchNode(const NodeSpec& spec) { return LaunchOrDescribe(spec, true); }

StatusOr<NodeStatus> GkeCloudProvider::DescribeNode(const NodeSpec& spec) { return LaunchOrDescribe(spec, false); }

StatusOr<NodeStatus> GkeCloudProvider::LaunchOrDescribe(const NodeSpec& spec, bool mutate) {
  const std::string what = std::string(mutate ? "gke launch node " : "gke describe node ") + spec.key + " (" +
                           spec.machine_type + " " + CapacityTypeName(spec.capacity) + " in " + spec.zone + ")";
  if (spec.key.empty() || spec.zone.empty() || spec.machine_type.empty()) {
    return Status::InvalidArgument(what + ": key, zone and machine type are required");
  }
  if (!options_.compute.zones.empty() && !Contains(options_.compute.zones, spec.zone)) {
    return Status::InvalidArgument(what + ": zone " + spec.zone + " is not one of the configured zones (" +
                                   Join(options_.compute.zones) + ")");
  }
  NodeStatus st;
  st.zone = spec.zone;
  st.group = NodePoolNameFor(spec.machine_type, spec.capacity);

  // 1. The pool.
  auto progress = ResolvePool(spec.machine_type, spec.capacity, mutate);
  if (!progress.ok()) return progress.status().WithContext(what);
  if (!progress->pool.name.empty()) st.group = progress->pool.name;
  st.operation = progress->operation;
  st.detail = progress->detail;
  switch (progress->state) {
    case NodePoolProgress::State::kAbsent:
      st.state = NodeState::kAbsent;
      return st;
    case NodePoolProgress::State::kCreating:
    case NodePoolProgress::State::kBusy:
      st.state = NodeState::kPreparing;
      return st;
    case NodePoolProgress::State::kFailed:
      st.state = NodeState::kFailed;
      st.error = progress->error.WithContext(what);
      if (mutate) {
        offerings_.Mark(spec.machine_type, spec.zone, spec.capacity, options_.unavailable_ttl,
                        progress->error.message());
      }
      return st;
    case NodePoolProgress::State::kReady: break;
  }

  // 2. The pool's group in the zone, its base name, the member's name.
  auto group = GroupInZone(progress->pool, spec.zone);
  if (!group.ok()) {
    st.state = NodeState::kFailed;
    st.error = group.status().WithContext(what);
    st.detail = group.status().message();
    if (mutate) offerings_.Mark(spec.machine_type, spec.zone, spec.capacity, options_.unavailable_ttl, st.detail);
    return st;
  }
  auto igm = GetGroup(*group);
  if (!igm.ok()) return igm.status().WithContext(what);
  st.instance_name = GroupMemberNameFor(igm->base_instance_name, spec.key);
  st.provider_id = "gce://" + options_.compute.project + "/" + spec.zone + "/" + st.instance_name;

  // 3. Membership.
  auto find = [&]() -> StatusOr<std::optional<ManagedInstance>> {
    auto members = ListMembers(*group);
    if (!members.ok()) return members.status();
    for (auto& m : *members) {
      if (m.name == st.instance_name) return std::optional<ManagedInstance>(std::move(m));
    }
    return std::optional<ManagedInstance>();
  };
  auto member = find();
  if (!member.ok()) return member.status().WithContext(what);
  auto settle = [&](const ManagedInstance& m) -> NodeStatus {
    NodeStatus out = FromMember(m, *group, st.group);
    Status err = ManagedInstanceError(m, "group " + group->name + " member " + m.name);
    if (IsCreatingAction(m.current_action) && !err.ok()) {
      if (!mutate) {
        out.state = NodeState::kFailed;
        out.error = err;
        out.detail = err.message();
        return out;
      }
      return FailStuckMember(out, spec, *group, err);
    }
    if (mutate && out.state == NodeState::kDeleting) {
      // Its stuck creation was abandoned, or someone retires it: this key is spent.
      out.state = NodeState::kFailed;
      out.error = MakeCloudError(CloudErrorKind::kSpent, what + ": member " + m.name +
                                                             " is being deleted; use a new key for a new node");
      out.detail = out.error.message();
    }
    return out;
  };
  if (member->has_value()) return settle(**member);
  if (!mutate) {
    st.state = NodeState::kAbsent;
    st.detail = "no member " + st.instance_name + " in group " + group->name;
    return st;
  }

  // 4. Absent: ask the group for it.
  std::string request_id = RequestIdFor("igm.createInstances", spec.key);
  spdlog::info("gke: creating {} in group {}/{} (pool {}) requestId={}", st.instance_name, group->zone, group->name,
               st.group, request_id);
  auto op = compute_->PostForOperation(GroupPath(*group) + "/createInstances?requestId=" + request_id,
                                       BuildCreateInstancesBody({st.instance_name}).dump(), what);
  if (!op.ok()) {
    if (ClassifyCloudError(op.status()) != CloudErrorKind::kAlreadyExists) return op.status();
    st.state = NodeState::kCreating;
    st.detail = "member " + st.instance_name + " exists (created concurrently)";
    return st;
  }
  st.operation = op->name;
  if (op->done() && !op->error.ok()) {
    CloudErrorKind kind = ClassifyCloudError(op->error);
    if (kind != CloudErrorKind::kAlreadyExists) {
      st.state = NodeState::kFailed;
      st.error = op->error;
      st.detail = op->error.message();
      if (IsCapacityError(kind)) {
        offerings_.Mark(spec.machine_type, spec.zone, spec.capacity, options_.unavailable_ttl, st.detail);
      }
      return st;
    }
  }
  if (!op->done()) {
    st.state = NodeState::kCreating;
    st.detail = "createInstances " + op->status + " (operation " + op->name + ")";
    return st;
  }
  // DONE: the member is scheduled, so it is listed now — unless this was a
  // repeated requestId whose member has been deleted since.
  auto again = find();
  if (!again.ok()) return again.status().WithContext(what);
  if (again->has_value()) return settle(**again);
  st.state = NodeState::kFailed;
  st.error = MakeCloudError(CloudErrorKind::kSpent, what + ": member " + st.instance_name +
                                                        " was created (operation " + op->name +
                                                        ") and has been deleted since; use a new key");
  st.detail = st.error.message();
  return st;
}

StatusOr<NodeStatus> GkeCloudProvider::RetireNode(const NodeRef& node, const std::string& idempotency_key) {
  const std::string what = "gke retire node " + node.zone + "/" + node.instance_name;
  if (idempotency_key.empty()) return Status::InvalidArgument(what + ": idempotency key is empty");
  NodeStatus st;
  st.instance_name = node.instance_name;
  st.zone = node.zone;
  st.group = node.group;
  st.provider_id = "gce://" + options_.compute.project + "/" + node.zone + "/" + node.instance_name;
  auto found = FindMembership(node.zone, node.instance_name, node.group);
  if (!found.ok()) return found.status().WithContext(what);
  if (!found->has_value()) {
    // Not any group's member: a stray instance, or none at all.
    auto in = compute_->GetInstance(node.zone, node.instance_name);
    if (!in.ok() && ClassifyCloudError(in.status()) == CloudErrorKind::kNotFound) {
      st.state = NodeState::kAbsent;
      st.detail = "no instance and no group member of that name";
      return st;
    }
    if (!in.ok()) return in.status().WithContext(what);
    auto op = compute_->DeleteInstance(node.zone, node.instance_name, idempotency_key);
    if (!op.ok()) {
      if (ClassifyCloudError(op.status()) != CloudErrorKind::kNotFound) return op.status().WithContext(what);
      st.state = NodeState::kAbsent;
      st.detail = "no instance and no group member of that name";
      return st;
    }
    spdlog::warn("gke: {} is no node pool group's member; deleted it with instances.delete", what);
    st.operation = op->name;
    st.state = op->done() ? NodeState::kAbsent : NodeState::kDeleting;
    st.detail = "not a group member; instances.delete " + op->status;
    return st;
  }
  const auto& [group, member] = **found;
  st.detail = "member of " + group.name + ": " + member.current_action;
  if (member.current_action == "DELETING" || member.current_action == "ABANDONING") {
    st.state = NodeState::kDeleting;
    return st;
  }
  auto op = DeleteMembers(group, {node.instance_name}, idempotency_key);
  if (!op.ok()) return op.status().WithContext(what);
  st.operation = op->name;
  if (op->done() && !op->error.ok() && ClassifyCloudError(op->error) != CloudErrorKind::kNotFound) {
    st.state = NodeState::kFailed;
    st.error = op->error;
    st.detail = op->error.message();
    return st;
  }
  st.state = NodeState::kDeleting;
  st.detail = "deleteInstances " + op->status + " (operation " + op->name + ")";
  return st;
}

StatusOr<std::vector<ManagedNode>> GkeCloudProvider::ListManagedNodes() {
  auto pools = ListNodePools();
  if (!pools.ok()) return pools.status();
  std::vector<ManagedNode> out;
  for (const auto& p : *pools) {
    if (!IsManagedPool(p)) continue;
    for (const auto& url : p.instance_group_urls) {
      GroupRef g;
      if (!ParseGroupUrl(url, &g)) continue;
      auto members = ListMembers(g);
      if (!members.ok()) {
        if (ClassifyCloudError(members.status()) == CloudErrorKind::kNotFound) continue;
        return members.status();
      }
      for (const auto& m : *members) {
        ManagedNode n;
        n.instance_name = m.name;
        n.zone = g.zone;
        n.group = p.name;
        n.provider_id = "gce://" + options_.compute.project + "/" + g.zone + "/" + m.name;
        n.status = m.current_action;
        n.instance_status = m.instance_status;
        n.last_error = ManagedInstanceError(m, "group " + g.name + " member " + m.name);
        out.push_back(std::move(n));
      }
    }
  }
  return out;
}

}  // namespace kinema::cloud
