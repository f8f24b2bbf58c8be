// GceCloudProvider: CloudProvider over the real Compute Engine REST API v1
// (also what kinema-sim's fake GCE under /compute/v1/ serves), for
// self-managed clusters (`cloud.provider: gce`): one standalone instance per
// node.
//
// Contract:
//   - Boot: instances.insert. With options.instance_template (config
//     cloud.instanceTemplate) the insert names it as sourceInstanceTemplate
//     and the body overrides only name, machine type, zone, spot scheduling
//     and labels (the template's labels kept), so the VM carries the
//     operator's join logic (kube-env, startup-script, user-data). Without a
//     template the body is built from options.boot (a plain image: fine for
//     kinema-sim, useless for a real cluster) — and on the real GCE endpoint
//     every insert is refused (kFailedPrecondition) with a message that says
//     to set cloud.instanceTemplate. The template is read once
//     (instanceTemplates.get / regionInstanceTemplates.get) and its join
//     metadata keys are logged.
//   - Node API (cloud_provider.h): LaunchNode gets the instance by name and
//     inserts it when absent (requestId from the key); the instance is
//     labelled kinema-managed=true. A quota/stockout failure marks the
//     offering unavailable for options.unavailable_ttl. RetireNode is
//     instances.delete (requestId from its key).
//   - Endpoint: options.endpoint, default https://compute.googleapis.com/compute/v1
//     (config key cloud.endpoint); every path is
//     <endpoint>/projects/<project>/zones/<zone>/...
//   - instances.insert is POSTed with ?requestId=RequestIdFor("instances.insert",
//     key) and instances.delete with ?requestId=RequestIdFor("instances.delete",
//     key): a retried or resumed mutation is deduplicated by GCE itself.
//   - WaitOperation loops on zoneOperations.wait (which returns at DONE or
//     near a 2-minute server deadline, sometimes at once) until DONE or the
//     caller's deadline; if the endpoint does not implement .../wait (404/405/
//     501 while GET of the operation works) it polls zoneOperations.get.
//   - Retries: connection failures, request timeouts, 5xx (not 501), 429 and
//     403 rateLimitExceeded and 400 resourceNotReady (another operation on
//     the instance still running) are retried with jittered exponential backoff
//     (options.retry, honouring Retry-After); no other 4xx is retried. One
//     401 drops the cached token and retries with a fresh one. Every request
//     has a timeout (options.request_timeout; wait calls get
//     options.wait_request_timeout, capped by the caller's deadline).
//   - ListInstances lists each zone (filter.zones, else options.zones) with
//     a server-side label filter and pagination, and applies the label and
//     name-prefix filter again on the client, so a server that ignores
//     `filter` cannot widen the result. With no zone at all it uses
//     aggregated/instances.
//   - When options.zones is non-empty, mutations in other zones are refused
//     (kInvalidArgument) before anything is sent.
//   - Tokens come from the TokenSource and are never logged.
// Thread-safety: safe for concurrent use (HttpClient and TokenSource are).
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "engine/cloud/cloud_provider.h"
#include "engine/cloud/gce_wire.h"
#include "engine/cloud/google_api.h"
#include "engine/cloud/mig_wire.h"
#include "engine/cloud/offering_availability.h"
#include "engine/cloud/token_source.h"
#include "engine/http/http_client.h"
#include "engine/kube/retry_policy.h"

namespace kinema::cloud {

inline constexpr const char* kDefaultGceEndpoint = "https://compute.googleapis.com/compute/v1";
// The cloud label LaunchNode puts on the instances it creates.
inline constexpr const char* kManagedResourceLabelGce = "kinema-managed";

struct GceOptions {
  std::string endpoint = kDefaultGceEndpoint;
  std::string project;                       // required
  std::vector<std::string> zones;            // allowed zones; empty = any
  // projects/P/global/instanceTemplates/T, projects/P/regions/R/instanceTemplates/T,
  // global/instanceTemplates/T or a full URL; empty: build from `boot`
  // (refused on the real endpoint).
  std::string instance_template;
  std::string instance_prefix = "kinema";    // LaunchNode names: <prefix>-<hash of key>
  std::chrono::milliseconds unavailable_ttl{180000};
  std::chrono::milliseconds request_timeout{30000};
  std::chrono::milliseconds wait_request_timeout{150000};  // > the server's 2-minute wait
  std::chrono::milliseconds poll_interval{1000};  // between early-returning waits / polls
  kube::RetryPolicy retry;                   // 5 attempts, 200 ms .. 5 s
  BootTemplate boot;
};

class GceCloudProvider : public CloudProvider {
 public:
  // `http` may be shared with other adapters. Fails on an empty project or
  // an endpoint that is not http(s).
  static StatusOr<std::unique_ptr<GceCloudProvider>> Create(GceOptions options, std::unique_ptr<TokenSource> tokens,
                                                            std::shared_ptr<const http::HttpClient> http);

  StatusOr<Operation> InsertInstance(const InstanceSpec& spec) override;
  StatusOr<Instance> GetInstance(const std::string& zone, const std::string& name) override;
  StatusOr<std::vector<Instance>> ListInstances(const InstanceFilter& filter) override;
  StatusOr<Operation> DeleteInstance(const std::string& zone, const std::string& name,
                                     const std::string& idempotency_key) override;
  StatusOr<Operation> WaitOperation(const Operation& op, Clock::time_point deadline) override;
  StatusOr<std::vector<MachineTypeInfo>> ListMachineTypes(const std::string& zone) override;
  StatusOr<MachineTypeInfo> GetMachineType(const std::string& zone, const std::string& name) override;
  std::string Describe() const override;

  StatusOr<NodeStatus> LaunchNode(const NodeSpec& spec) override;
  StatusOr<NodeStatus> DescribeNode(const NodeSpec& spec) override;
  StatusOr<NodeStatus> RetireNode(const NodeRef& node, const std::string& idempotency_key) override;
  StatusOr<std::vector<ManagedNode>> ListManagedNodes() override;
  std::string NodeGroupFor(const std::string&, CapacityType) const override { return ""; }
  std::vector<UnavailableOffering> UnavailableOfferings() const override { return offerings_.List(); }

  // zones.list: the zones of `region` (all zones when empty), sorted.
  StatusOr<std::vector<std::string>> ListZones(const std::string& region);

  // Compute calls the GKE provider shares (zonal paths under the project).
  StatusOr<nlohmann::json> GetJson(const std::string& path_under_project, const std::string& what);
  StatusOr<Operation> PostForOperation(const std::string& path_under_project, const std::string& body,
                                       const std::string& what);
  // instanceTemplates.get / regionInstanceTemplates.get of `ref` (any of the
  // forms GceOptions::instance_template accepts).
  StatusOr<InstanceTemplate> GetInstanceTemplate(const std::string& ref);
  // Reads options.instance_template once and logs which join metadata it
  // carries; OK without a template on a custom endpoint. The first boot
  // calls it; kinema may call it at start-up to fail early.
  Status CheckInstanceTemplate();

  const GceOptions& options() const { return options_; }
  const GoogleApiCaller& caller() const { return caller_; }
  OfferingAvailability& offerings() { return offerings_; }
  std::string ProjectUrl() const;
  std::string NameFor(const NodeSpec& spec) const;
  std::string ProviderIdFor(const std::string& zone, const std::string& name) const;

 private:
  GceCloudProvider(GceOptions options, std::shared_ptr<TokenSource> tokens,
                   std::shared_ptr<const http::HttpClient> http);

  std::string ZoneUrl(const std::string& zone) const;
  Status CheckZone(const std::string& zone, const std::string& what) const;
  StatusOr<std::vector<Instance>> ListZone(const std::string& zone, const InstanceFilter& filter);
  StatusOr<std::vector<Instance>> ListAggregated(const InstanceFilter& filter);
  NodeStatus FromInstance(const Instance& in) const;
  NodeStatus FailCapacity(NodeStatus st, const NodeSpec& spec, const Status& error);

  GceOptions options_;
  GoogleApiCaller caller_;
  OfferingAvailability offerings_;
  std::mutex template_mu_;
  bool template_checked_ = false;
  Status template_status_;
  Labels template_labels_;
};

// True for Google's own endpoints (empty, or a host under googleapis.com).
bool IsGoogleEndpoint(const std::string& endpoint);
// A template reference as an API path under compute/v1
// ("projects/P/global/instanceTemplates/T"); InvalidArgument when it is not one.
StatusOr<std::string> InstanceTemplatePath(const std::string& ref, const std::string& project);

// Picks the token source for a configuration: a token file when given; the
// metadata server when the endpoint is Google's (empty or *.googleapis.com);
// otherwise none (kinema-sim and other test endpoints accept no token).
std::unique_ptr<TokenSource> ChooseTokenSource(const std::string& endpoint, const std::string& token_file,
                                               std::shared_ptr<const http::HttpClient> http);

}  // namespace kinema::cloud
