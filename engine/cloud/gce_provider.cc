#include "engine/cloud/gce_provider.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <random>
#include <set>
#include <thread>

#include "engine/cloud/request_id.h"
#include "engine/common/safe_json.h"
#include "engine/common/shutdown.h"
#include "engine/http/redact.h"

namespace kinema::cloud {

namespace {

using nlohmann::json;
using std::chrono::milliseconds;

bool Matches(const Instance& in, const InstanceFilter& f) {
  if (!f.name_prefix.empty() && in.name.rfind(f.name_prefix, 0) != 0) return false;
  for (const auto& [k, v] : f.labels) {
    auto it = in.labels.find(k);
    if (it == in.labels.end() || it->second != v) return false;
  }
  return true;
}

bool Is2xx(long s) { return s >= 200 && s < 300; }

// Metadata keys through which a VM joins a cluster (GKE/kube-up, kubeadm, kOps).
constexpr const char* kJoinKeys[] = {"kube-env", "configure-sh", "startup-script", "user-data", "cluster-name"};

}  // namespace

bool IsGoogleEndpoint(const std::string& endpoint) {
  if (endpoint.empty()) return true;
  std::string host = endpoint;
  if (size_t p = host.find("://"); p != std::string::npos) host = host.substr(p + 3);
  host = host.substr(0, host.find('/'));
  host = host.substr(0, host.find(':'));
  const std::string suffix = "googleapis.com";
  return host.size() >= suffix.size() && host.compare(host.size() - suffix.size(), suffix.size(), suffix) == 0;
}

StatusOr<std::string> InstanceTemplatePath(const std::string& ref, const std::string& project) {
  std::string r = ref;
  if (size_t p = r.find("/compute/v1/"); p != std::string::npos) r = r.substr(p + 12);
  while (!r.empty() && r.front() == '/') r.erase(0, 1);
  if (r.rfind("global/", 0) == 0 || r.rfind("regions/", 0) == 0) r = "projects/" + project + "/" + r;
  // projects/P/global/instanceTemplates/T or projects/P/regions/R/instanceTemplates/T
  size_t slashes = std::count(r.begin(), r.end(), '/');
  bool global = r.rfind("projects/", 0) == 0 && r.find("/global/instanceTemplates/") != std::string::npos && slashes == 4;
  bool regional = r.rfind("projects/", 0) == 0 && r.find("/regions/") != std::string::npos &&
                  r.find("/instanceTemplates/") != std::string::npos && slashes == 5;
  if (!global && !regional) {
    return Status::InvalidArgument("cloud.instanceTemplate: \"" + ref +
                                   "\" is not an instance template (want projects/P/global/instanceTemplates/T, "
                                   "projects/P/regions/R/instanceTemplates/T or global/instanceTemplates/T)");
  }
  return r;
}

std::unique_ptr<TokenSource> ChooseTokenSource(const std::string& endpoint, const std::string& token_file,
                                               std::shared_ptr<const http::HttpClient> http) {
  if (!token_file.empty()) return NewFileTokenSource(token_file);
  if (IsGoogleEndpoint(endpoint)) return std::make_unique<MetadataTokenSource>(std::move(http), MetadataTokenOptions{});
  return NewNoTokenSource();
}

StatusOr<std::unique_ptr<GceCloudProvider>> GceCloudProvider::Create(GceOptions options,
                                                                     std::unique_ptr<TokenSource> tokens,
                                                                     std::shared_ptr<const http::HttpClient> http) {
  if (options.project.empty()) return Status::InvalidArgument("cloud.project: required for the gce provider");
  if (options.endpoint.empty()) options.endpoint = kDefaultGceEndpoint;
  if (options.endpoint.rfind("http://", 0) != 0 && options.endpoint.rfind("https://", 0) != 0) {
    return Status::InvalidArgument("cloud.endpoint: \"" + http::RedactUrl(options.endpoint) +
                                   "\" is not an http(s) URL");
  }
  while (!options.endpoint.empty() && options.endpoint.back() == '/') options.endpoint.pop_back();
  if (!options.instance_template.empty()) {
    auto path = InstanceTemplatePath(options.instance_template, options.project);
    if (!path.ok()) return path.status();
    options.instance_template = *path;
  }
  if (!tokens) tokens = NewNoTokenSource();
  if (!http) http = std::make_shared<http::HttpClient>();
  if (options.endpoint.rfind("http://", 0) == 0 && tokens->Describe() != "none") {
    spdlog::warn("cloud: sending GCE credentials over plain HTTP to {}", http::RedactUrl(options.endpoint));
  }
  std::shared_ptr<TokenSource> shared(std::move(tokens));
  auto p = std::unique_ptr<GceCloudProvider>(new GceCloudProvider(std::move(options), std::move(shared), std::move(http)));
  spdlog::info("cloud: {}", p->Describe());
  return p;
}

GceCloudProvider::GceCloudProvider(GceOptions options, std::shared_ptr<TokenSource> tokens,
                                   std::shared_ptr<const http::HttpClient> http)
    : options_(std::move(options)),
      caller_("gce", std::move(tokens), std::move(http), options_.retry, options_.request_timeout) {}

std::string GceCloudProvider::Describe() const {
  std::string zones;
  for (const auto& z : options_.zones) zones += (zones.empty() ? "" : ",") + z;
  return "gce project=" + options_.project + " endpoint=" + http::RedactUrl(options_.endpoint) +
         " zones=" + (zones.empty() ? "any" : zones) +
         " template=" + (options_.instance_template.empty() ? "none" : options_.instance_template) +
         " token=" + caller_.tokens().Describe();
}

std::string GceCloudProvider::ProjectUrl() const { return options_.endpoint + "/projects/" + http::UrlEncode(options_.project); }

std::string GceCloudProvider::ZoneUrl(const std::string& zone) const {
  return ProjectUrl() + "/zones/" + http::UrlEncode(zone);
}

std::string GceCloudProvider::NameFor(const NodeSpec& spec) const {
  return spec.instance_name.empty() ? InstanceNameFor(options_.instance_prefix, spec.key) : spec.instance_name;
}

std::string GceCloudProvider::ProviderIdFor(const std::string& zone, const std::string& name) const {
  return "gce://" + options_.project + "/" + zone + "/" + name;
}

Status GceCloudProvider::CheckZone(const std::string& zone, const std::string& what) const {
  if (zone.empty()) return Status::InvalidArgument(what + ": zone is empty");
  if (!options_.zones.empty() && std::find(options_.zones.begin(), options_.zones.end(), zone) == options_.zones.end()) {
    std::string list;
    for (const auto& z : options_.zones) list += (list.empty() ? "" : ", ") + z;
    return Status::InvalidArgument(what + ": zone " + zone + " is not one of the configured zones (" + list + ")");
  }
  return Status::OK();
}

StatusOr<Operation> GceCloudProvider::InsertInstance(const InstanceSpec& spec) {
  const std::string what = "gce insert instance " + spec.zone + "/" + spec.name + " (" + spec.machine_type + ", " +
                           CapacityTypeName(spec.capacity) + ")";
  KINEMA_RETURN_IF_ERROR(CheckZone(spec.zone, what));
  if (Status s = ValidateInstanceName(spec.name); !s.ok()) return s.WithContext(what);
  if (Status s = ValidateCloudLabels(spec.labels); !s.ok()) return s.WithContext(what);
  if (spec.machine_type.empty()) return Status::InvalidArgument(what + ": machine type is empty");
  if (spec.idempotency_key.empty()) return Status::InvalidArgument(what + ": idempotency key is empty");
  if (options_.instance_template.empty() && IsGoogleEndpoint(options_.endpoint)) {
    return Status::FailedPrecondition(
        what + ": no instance template: a plain VM would never join the cluster. Set cloud.instanceTemplate to an "
               "instance template whose metadata carries the node's join logic (kube-env/configure-sh for kube-up, "
               "startup-script or user-data for kubeadm/kOps), e.g. projects/" + options_.project +
        "/global/instanceTemplates/k8s-worker; or use cloud.provider: gke on GKE");
  }
  std::string request_id = RequestIdFor("instances.insert", spec.idempotency_key);
  std::string url = ZoneUrl(spec.zone) + "/instances?requestId=" + request_id;
  json body;
  if (!options_.instance_template.empty()) {
    KINEMA_RETURN_IF_ERROR(CheckInstanceTemplate().WithContext(what));
    Labels template_labels;
    {
      std::lock_guard<std::mutex> l(template_mu_);
      template_labels = template_labels_;
    }
    url += "&sourceInstanceTemplate=" + http::UrlEncode(options_.instance_template);
    body = BuildInsertFromTemplateBody(spec, template_labels);
  } else {
    body = BuildInsertBody(spec, options_.boot);
  }
  spdlog::info("gce: inserting instance {}/{} type={} capacity={} template={} requestId={}", spec.zone, spec.name,
               spec.machine_type, CapacityTypeName(spec.capacity),
               options_.instance_template.empty() ? "none" : options_.instance_template, request_id);
  auto r = caller_.Call("POST", url, body.dump(), what);
  if (!r.ok()) return r.status();
  auto j = safe_json::Parse(r->body);
  return ParseOperation(j, what);
}

StatusOr<Instance> GceCloudProvider::GetInstance(const std::string& zone, const std::string& name) {
  const std::string what = "gce get instance " + zone + "/" + name;
  if (zone.empty()) return Status::InvalidArgument(what + ": zone is empty");
  if (Status s = ValidateInstanceName(name); !s.ok()) return s.WithContext(what);
  auto r = caller_.Call("GET", ZoneUrl(zone) + "/instances/" + http::UrlEncode(name), "", what);
  if (!r.ok()) return r.status();
  return ParseInstance(safe_json::Parse(r->body), what);
}

StatusOr<std::vector<Instance>> GceCloudProvider::ListZone(const std::string& zone, const InstanceFilter& filter) {
  const std::string what = "gce list instances in " + zone;
  std::vector<Instance> out;
  std::string page_token;
  std::set<std::string> seen_tokens;
  while (true) {
    std::string url = ZoneUrl(zone) + "/instances?maxResults=500";
    if (!filter.labels.empty()) url += "&filter=" + http::UrlEncode(LabelFilter(filter.labels));
    if (!page_token.empty()) url += "&pageToken=" + http::UrlEncode(page_token);
    auto r = caller_.Call("GET", url, "", what);
    if (!r.ok()) return r.status();
    auto j = safe_json::Parse(r->body);
    if (j.is_discarded() || !j.is_object()) return Status::Internal(what + ": response is not a JSON object");
    if (j.contains("items") && j["items"].is_array()) {
      for (const auto& item : j["items"]) {
        auto in = ParseInstance(item, what);
        if (!in.ok()) return in.status();
        if (in->zone.empty()) in->zone = zone;
        if (Matches(*in, filter)) out.push_back(std::move(*in));
      }
    }
    page_token = j.contains("nextPageToken") && j["nextPageToken"].is_string() ? j["nextPageToken"].get<std::string>()
                                                                                : "";
    if (page_token.empty()) break;
    if (!seen_tokens.insert(page_token).second) {
      return Status::Internal(what + ": server repeated pageToken; refusing to loop");
    }
  }
  return out;
}

StatusOr<std::vector<Instance>> GceCloudProvider::ListAggregated(const InstanceFilter& filter) {
  const std::string what = "gce list instances in all zones";
  std::vector<Instance> out;
  std::string page_token;
  std::set<std::string> seen_tokens;
  while (true) {
    std::string url = options_.endpoint + "/projects/" + http::UrlEncode(options_.project) + "/aggregated/instances?maxResults=500";
    if (!filter.labels.empty()) url += "&filter=" + http::UrlEncode(LabelFilter(filter.labels));
    if (!page_token.empty()) url += "&pageToken=" + http::UrlEncode(page_token);
    auto r = caller_.Call("GET", url, "", what);
    if (!r.ok()) return r.status();
    auto j = safe_json::Parse(r->body);
    if (j.is_discarded() || !j.is_object()) return Status::Internal(what + ": response is not a JSON object");
    if (j.contains("items") && j["items"].is_object()) {
      for (auto& [scope, list] : j["items"].items()) {
        if (!list.is_object() || !list.contains("instances") || !list["instances"].is_array()) continue;
        for (const auto& item : list["instances"]) {
          auto in = ParseInstance(item, what);
          if (!in.ok()) return in.status();
          if (in->zone.empty()) in->zone = LastPathSegment(scope);
          if (Matches(*in, filter)) out.push_back(std::move(*in));
        }
      }
    }
    page_token = j.contains("nextPageToken") && j["nextPageToken"].is_string() ? j["nextPageToken"].get<std::string>()
                                                                                : "";
    if (page_token.empty()) break;
    if (!seen_tokens.insert(page_token).second) {
      return Status::Internal(what + ": server repeated pageToken; refusing to loop");
    }
  }
  return out;
}

StatusOr<std::vector<Instance>> GceCloudProvider::ListInstances(const InstanceFilter& filter) {
  const std::vector<std::string>& zones = filter.zones.empty() ? options_.zones : filter.zones;
  if (zones.empty()) return ListAggregated(filter);
  std::vector<Instance> out;
  for (const auto& zone : zones) {
    auto part = ListZone(zone, filter);
    if (!part.ok()) return part.status();
    for (auto& in : *part) out.push_back(std::move(in));
  }
  return out;
}

StatusOr<Operation> GceCloudProvider::DeleteInstance(const std::string& zone, const std::string& name,
                                                     const std::string& idempotency_key) {
  const std::string what = "gce delete instance " + zone + "/" + name;
  KINEMA_RETURN_IF_ERROR(CheckZone(zone, what));
  if (Status s = ValidateInstanceName(name); !s.ok()) return s.WithContext(what);
  if (idempotency_key.empty()) return Status::InvalidArgument(what + ": idempotency key is empty");
  std::string request_id = RequestIdFor("instances.delete", idempotency_key);
  spdlog::info("gce: deleting instance {}/{} requestId={}", zone, name, request_id);
  auto r = caller_.Call("DELETE", ZoneUrl(zone) + "/instances/" + http::UrlEncode(name) + "?requestId=" + request_id, "", what);
  if (!r.ok()) return r.status();
  return ParseOperation(safe_json::Parse(r->body), what);
}

StatusOr<Operation> GceCloudProvider::WaitOperation(const Operation& op, Clock::time_point deadline) {
  const std::string what = "gce wait for operation " + op.name + " (" + op.operation_type + " " +
                           (op.target_name.empty() ? "?" : op.target_name) + " in " + op.zone + ")";
  if (op.done()) return op;
  if (op.name.empty() || op.zone.empty()) return Status::InvalidArgument(what + ": operation has no name or zone");
  const std::string op_url = ZoneUrl(op.zone) + "/operations/" + http::UrlEncode(op.name);
  Operation current = op;
  bool poll_with_get = false;
  while (true) {
    milliseconds remaining = Remaining(deadline);
    if (remaining.count() <= 0) {
      return MakeCloudError(CloudErrorKind::kDeadlineExceeded,
                            what + ": not DONE by the deadline (status " + current.status + ", progress " +
                                std::to_string(current.progress) + "%)");
    }
    auto started = Clock::now();
    StatusOr<ApiResponse> r = Status::OK();
    if (!poll_with_get) {
      CallOptions call;
      call.timeout = std::min(options_.wait_request_timeout, remaining);
      call.deadline = deadline;
      call.raw_errors = true;
      r = caller_.Call("POST", op_url + "/wait", "", what, call);
      if (r.ok() && !Is2xx(r->status)) {
        long code = r->status;
        if (code == 404 || code == 405 || code == 501) {
          // Maybe the endpoint has no .../wait: fall back to polling get.
          CallOptions get;
          get.deadline = deadline;
          auto g = caller_.Call("GET", op_url, "", what, get);
          if (!g.ok()) return g.status();
          spdlog::info("gce: {} answered HTTP {} to zoneOperations.wait; polling zoneOperations.get instead",
                       http::RedactUrl(options_.endpoint), code);
          poll_with_get = true;
          r = std::move(g);
        } else {
          return GceHttpError(code, r->body, what);
        }
      }
    } else {
      CallOptions get;
      get.deadline = deadline;
      r = caller_.Call("GET", op_url, "", what, get);
    }
    if (!r.ok()) return r.status();
    auto parsed = ParseOperation(safe_json::Parse(r->body), what);
    if (!parsed.ok()) return parsed.status();
    current = std::move(*parsed);
    if (current.zone.empty()) current.zone = op.zone;
    if (current.done()) {
      if (!current.error.ok()) {
        spdlog::warn("gce: operation {} ({} {}) failed: {}", current.name, current.operation_type, current.target_name,
                     current.error.ToString());
      }
      return current;
    }
    // zoneOperations.wait may return at once; never spin.
    auto elapsed = Clock::now() - started;
    if (poll_with_get || elapsed < options_.poll_interval) {
      auto pause = std::min<milliseconds>(options_.poll_interval, Remaining(deadline));
      if (pause.count() > 0 && !SleepUnlessShutdown(pause)) {
        return Status::Cancelled(what + ": the process is shutting down (operation still running)");
      }
    }
  }
}

StatusOr<std::vector<MachineTypeInfo>> GceCloudProvider::ListMachineTypes(const std::string& zone) {
  const std::string what = "gce list machine types in " + zone;
  if (zone.empty()) return Status::InvalidArgument(what + ": zone is empty");
  std::vector<MachineTypeInfo> out;
  std::string page_token;
  std::set<std::string> seen_tokens;
  while (true) {
    std::string url = ZoneUrl(zone) + "/machineTypes?maxResults=500";
    if (!page_token.empty()) url += "&pageToken=" + http::UrlEncode(page_token);
    auto r = caller_.Call("GET", url, "", what);
    if (!r.ok()) return r.status();
    auto j = safe_json::Parse(r->body);
    if (j.is_discarded() || !j.is_object()) return Status::Internal(what + ": response is not a JSON object");
    if (j.contains("items") && j["items"].is_array()) {
      for (const auto& item : j["items"]) {
        auto m = ParseMachineType(item, what);
        if (!m.ok()) return m.status();
        if (m->zone.empty()) m->zone = zone;
        out.push_back(std::move(*m));
      }
    }
    page_token = j.contains("nextPageToken") && j["nextPageToken"].is_string() ? j["nextPageToken"].get<std::string>()
                                                                                : "";
    if (page_token.empty()) break;
    if (!seen_tokens.insert(page_token).second) {
      return Status::Internal(what + ": server repeated pageToken; refusing to loop");
    }
  }
  return out;
}

StatusOr<MachineTypeInfo> GceCloudProvider::GetMachineType(const std::string& zone, const std::string& name) {
  const std::string what = "gce get machine type " + zone + "/" + name;
  if (zone.empty() || name.empty()) return Status::InvalidArgument(what + ": zone and name are required");
  auto r = caller_.Call("GET", ZoneUrl(zone) + "/machineTypes/" + http::UrlEncode(name), "", what);
  if (!r.ok()) return r.status();
  auto m = ParseMachineType(safe_json::Parse(r->body), what);
  if (m.ok() && m->zone.empty()) m->zone = zone;
  return m;
}

// ---------------------------------------------------------------- shared calls

StatusOr<std::vector<std::string>> GceCloudProvider::ListZones(const std::string& region) {
  const std::string what = "gce list zones" + (region.empty() ? std::string() : " of " + region);
  std::vector<std::string> out;
  PageCursor cursor;
  while (true) {
    std::string url = ProjectUrl() + "/zones?maxResults=500";
    if (!cursor.token.empty()) url += "&pageToken=" + http::UrlEncode(cursor.token);
    auto r = caller_.Call("GET", url, "", what);
    if (!r.ok()) return r.status();
    auto j = safe_json::Parse(r->body);
    if (j.is_discarded() || !j.is_object()) return Status::Internal(what + ": response is not a JSON object");
    if (j.contains("items") && j["items"].is_array()) {
      for (const auto& z : j["items"]) {
        if (!z.is_object() || !z.contains("name") || !z["name"].is_string()) continue;
        std::string zr = z.contains("region") && z["region"].is_string() ? LastPathSegment(z["region"].get<std::string>())
                                                                         : "";
        if (region.empty() || zr == region) out.push_back(z["name"].get<std::string>());
      }
    }
    auto more = cursor.Advance(j, what);
    if (!more.ok()) return more.status();
    if (!*more) break;
  }
  std::sort(out.begin(), out.end());
  return out;
}

StatusOr<json> GceCloudProvider::GetJson(const std::string& path, const std::string& what) {
  auto r = caller_.Call("GET", ProjectUrl() + "/" + path, "", what);
  if (!r.ok()) return r.status();
  auto j = safe_json::Parse(r->body);
  if (j.is_discarded() || !j.is_object()) return Status::Internal(what + ": response is not a JSON object");
  return j;
}

StatusOr<Operation> GceCloudProvider::PostForOperation(const std::string& path, const std::string& body,
                                                       const std::string& what) {
  auto r = caller_.Call("POST", ProjectUrl() + "/" + path, body, what);
  if (!r.ok()) return r.status();
  return ParseOperation(safe_json::Parse(r->body), what);
}

StatusOr<InstanceTemplate> GceCloudProvider::GetInstanceTemplate(const std::string& ref) {
  auto path = InstanceTemplatePath(ref, options_.project);
  if (!path.ok()) return path.status();
  const std::string what = "gce get instance template " + *path;
  auto r = caller_.Call("GET", options_.endpoint + "/" + *path, "", what);
  if (!r.ok()) return r.status();
  return ParseInstanceTemplate(safe_json::Parse(r->body), what);
}

Status GceCloudProvider::CheckInstanceTemplate() {
  std::lock_guard<std::mutex> l(template_mu_);
  if (template_checked_) return template_status_;
  if (options_.instance_template.empty()) {
    if (IsGoogleEndpoint(options_.endpoint)) {
      return Status::FailedPrecondition("cloud.instanceTemplate: required with cloud.provider gce on the real GCE "
                                        "endpoint (the template carries the node's join logic)");
    }
    return Status::OK();
  }
  auto t = GetInstanceTemplate(options_.instance_template);
  if (!t.ok()) {
    // Not cached: a transient failure must not stick.
    if (ClassifyCloudError(t.status()) == CloudErrorKind::kNotFound) {
      return t.status().WithContext("cloud.instanceTemplate " + options_.instance_template + " does not exist");
    }
    return t.status();
  }
  std::string join;
  for (const char* k : kJoinKeys) {
    if (t->metadata.count(k)) join += std::string(join.empty() ? "" : ", ") + k;
  }
  if (join.empty()) {
    spdlog::warn("gce: instance template {} carries none of the usual join metadata (kube-env, configure-sh, "
                 "startup-script, user-data): its VMs may never register as Nodes",
                 options_.instance_template);
  } else {
    spdlog::info("gce: instance template {} (machine type {}; join metadata: {}); Kinema overrides machine type, zone, "
                 "spot scheduling and labels",
                 options_.instance_template, t->machine_type, join);
  }
  template_labels_ = t->labels;
  template_checked_ = true;
  template_status_ = Status::OK();
  return template_status_;
}

// ---------------------------------------------------------------- node API

NodeStatus GceCloudProvider::FromInstance(const Instance& in) const {
  NodeStatus st;
  st.instance_name = in.name;
  st.zone = in.zone;
  st.provider_id = ProviderIdFor(in.zone, in.name);
  const std::string& s = in.status;
  if (s == "RUNNING") {
    st.state = NodeState::kRunning;
  } else if (s == "PROVISIONING" || s == "STAGING" || s == "REPAIRING" || s == "PENDING") {
    st.state = NodeState::kCreating;
  } else if (s == "STOPPING" || s == "SUSPENDING" || s == "DEPROVISIONING") {
    st.state = NodeState::kDeleting;
  } else {
    st.state = NodeState::kFailed;
    st.error = MakeCloudError(CloudErrorKind::kOther, "instance " + in.zone + "/" + in.name + " is " + s +
                                                          " (preempted, stopped or failed)");
  }
  st.detail = "instance " + s;
  return st;
}

NodeStatus GceCloudProvider::FailCapacity(NodeStatus st, const NodeSpec& spec, const Status& error) {
  st.state = NodeState::kFailed;
  st.error = error;
  st.detail = error.message();
  if (IsCapacityError(ClassifyCloudError(error))) {
    offerings_.Mark(spec.machine_type, spec.zone, spec.capacity, options_.unavailable_ttl, error.message());
  }
  return st;
}

StatusOr<NodeStatus> GceCloudProvider::LaunchNode(const NodeSpec& spec) {
  const std::string what = "gce launch node " + spec.key;
  if (spec.key.empty()) return Status::InvalidArgument(what + ": key is empty");
  InstanceSpec is;
  is.name = NameFor(spec);
  is.zone = spec.zone;
  is.machine_type = spec.machine_type;
  is.capacity = spec.capacity;
  is.labels = spec.labels;
  is.labels[kManagedResourceLabelGce] = "true";
  is.idempotency_key = spec.key;
  NodeStatus base;
  base.instance_name = is.name;
  base.zone = is.zone;
  base.provider_id = ProviderIdFor(is.zone, is.name);

  auto existing = GetInstance(is.zone, is.name);
  if (existing.ok()) return FromInstance(*existing);
  if (ClassifyCloudError(existing.status()) != CloudErrorKind::kNotFound) return existing.status();

  auto op = InsertInstance(is);
  if (!op.ok()) {
    CloudErrorKind kind = ClassifyCloudError(op.status());
    if (kind == CloudErrorKind::kAlreadyExists) {
      base.state = NodeState::kCreating;
      base.detail = "instance exists (created concurrently)";
      return base;
    }
    if (IsCapacityError(kind)) return FailCapacity(base, spec, op.status());
    return op.status();
  }
  base.operation = op->name;
  if (!op->done()) {
    base.state = NodeState::kCreating;
    base.detail = "insert " + op->status + " (operation " + op->name + ")";
    return base;
  }
  if (!op->error.ok()) {
    if (ClassifyCloudError(op->error) == CloudErrorKind::kAlreadyExists) {
      base.state = NodeState::kCreating;
      base.detail = "instance exists";
      return base;
    }
    return FailCapacity(base, spec, op->error);
  }
  // DONE without error: the instance exists now — unless this is a repeated
  // requestId whose instance has been deleted since.
  auto now = GetInstance(is.zone, is.name);
  if (now.ok()) return FromInstance(*now);
  if (ClassifyCloudError(now.status()) != CloudErrorKind::kNotFound) return now.status();
  base.state = NodeState::kFailed;
  base.error = MakeCloudError(CloudErrorKind::kSpent, what + ": instance " + is.zone + "/" + is.name +
                                                          " was created (operation " + op->name +
                                                          ") and has been deleted since; use a new key");
  base.detail = base.error.message();
  return base;
}

StatusOr<NodeStatus> GceCloudProvider::DescribeNode(const NodeSpec& spec) {
  NodeStatus st;
  st.instance_name = NameFor(spec);
  st.zone = spec.zone;
  st.provider_id = ProviderIdFor(spec.zone, st.instance_name);
  auto in = GetInstance(spec.zone, st.instance_name);
  if (in.ok()) return FromInstance(*in);
  if (ClassifyCloudError(in.status()) != CloudErrorKind::kNotFound) return in.status();
  st.state = NodeState::kAbsent;
  st.detail = "no instance";
  return st;
}

StatusOr<NodeStatus> GceCloudProvider::RetireNode(const NodeRef& node, const std::string& idempotency_key) {
  NodeStatus st;
  st.instance_name = node.instance_name;
  st.zone = node.zone;
  st.provider_id = ProviderIdFor(node.zone, node.instance_name);
  auto op = DeleteInstance(node.zone, node.instance_name, idempotency_key);
  if (!op.ok()) {
    if (ClassifyCloudError(op.status()) != CloudErrorKind::kNotFound) return op.status();
    st.state = NodeState::kAbsent;
    st.detail = "instance is gone";
    return st;
  }
  st.operation = op->name;
  if (!op->done()) {
    st.state = NodeState::kDeleting;
    st.detail = "delete " + op->status + " (operation " + op->name + ")";
    return st;
  }
  if (!op->error.ok() && ClassifyCloudError(op->error) != CloudErrorKind::kNotFound) {
    st.state = NodeState::kFailed;
    st.error = op->error;
    st.detail = op->error.message();
    return st;
  }
  st.state = NodeState::kAbsent;
  st.detail = "instance deleted (operation " + op->name + ")";
  return st;
}

StatusOr<std::vector<ManagedNode>> GceCloudProvider::ListManagedNodes() {
  InstanceFilter f;
  f.labels[kManagedResourceLabelGce] = "true";
  auto list = ListInstances(f);
  if (!list.ok()) return list.status();
  std::vector<ManagedNode> out;
  for (const auto& in : *list) {
    ManagedNode n;
    n.instance_name = in.name;
    n.zone = in.zone;
    n.provider_id = ProviderIdFor(in.zone, in.name);
    n.status = in.status;
    n.instance_status = in.status;
    out.push_back(std::move(n));
  }
  return out;
}

}  // namespace kinema::cloud
