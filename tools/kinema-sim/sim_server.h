// SimServer: the composition root of kinema-sim. Owns the clock, the object
// store, the registry, stats, fault injector, catalog pricing, the pod
// terminator and the HTTP server, and routes requests:
//
//   /version /healthz /livez /readyz      no authentication (public info)
//   /sim/v1/report                        no authentication (the sim's own account)
//   extension routes (AddRoute)           authentication as registered
//   /api /apis /api/v1 /apis/G[/V]        discovery (bearer token required)
//   /api/v1/... /apis/G/V/...             resources via ApiHandler (bearer token required)
// Authentication: with --tls every request must carry `Authorization: Bearer
// <token>` (401 otherwise). Over plain HTTP client-go sends no credentials at
// all, so a request without the header is served; a wrong token is 401.
//
// Plugging in (issue 4): construct, call AddRoute() for /compute/v1/ and
// /metrics, reach the store/registry/clock/stats/io accessors to run
// controllers (subscribe to the store, write through the Registry, schedule
// work on io()), set options.builtin_pod_terminator=false when a simulated
// kubelet takes over pod termination, then Start().
// Thread-safety: configure before Start(); Stop() once.
#pragma once

#include <fstream>
#include <functional>
#include <mutex>

#include <nlohmann/json.hpp>
#include <memory>
#include <string>
#include <vector>

#include "engine/common/status.h"
#include "tools/kinema-sim/admission_webhooks.h"
#include "tools/kinema-sim/api_handler.h"
#include "tools/kinema-sim/faults.h"
#include "tools/kinema-sim/http_server.h"
#include "tools/kinema-sim/object_store.h"
#include "tools/kinema-sim/pod_terminator.h"
#include "tools/kinema-sim/pricing.h"
#include "tools/kinema-sim/rbac/authorizer.h"
#include "tools/kinema-sim/rbac/service_account_tokens.h"
#include "tools/kinema-sim/registry.h"
#include "tools/kinema-sim/sim_component.h"
#include "tools/kinema-sim/sim_clock.h"
#include "tools/kinema-sim/sim_options.h"
#include "tools/kinema-sim/sim_stats.h"

namespace kinema::sim {

// Reads a --scenario file: a JSON object (NotFound / InvalidArgument naming
// the file otherwise).
StatusOr<nlohmann::json> LoadScenarioFile(const std::string& path);

class SimServer : public RequestHandler {
 public:
  using RouteHandler = std::function<HttpResponse(const HttpRequest&)>;
  // Names what a request on an extension route is, for --faults latency
  // rules (nullopt: no rule applies). Errors are the route handler's to inject.
  using FaultClassifier = std::function<std::optional<FaultTarget>(const HttpRequest&)>;

  explicit SimServer(SimOptions options);
  ~SimServer() override;

  // Serves every path starting with `prefix`. Register before Start().
  // With `classify`, latency fault rules apply to the route's requests (on
  // the server's timer, before `handler` runs, never blocking an io thread).
  void AddRoute(const std::string& prefix, bool require_auth, RouteHandler handler,
                FaultClassifier classify = nullptr);
  bool builtin_pod_terminator = true;
  // Validating admission webhooks (admission_webhooks.h). Before Start().
  void AddValidatingWebhook(ValidatingWebhook webhook) { webhooks_.Add(std::move(webhook)); }
  // Registers a component (not owned; must outlive the server). Before Start().
  void AddComponent(SimComponent* component) { components_.push_back(component); }

  // Loads snapshot, catalog and faults, listens, writes the kubeconfig.
  Status Start();
  void Stop();

  int port() const { return http_ ? http_->port() : 0; }
  const std::string& token() const { return token_; }
  std::string ServerUrl() const;

  ObjectStore& store() { return store_; }
  Registry& registry() { return registry_; }
  const SimClock& clock() const { return clock_; }
  SimStats& stats() { return stats_; }
  // The --faults injector (never null; without --faults it injects nothing).
  // Replaced by Start(): take it from there on, not before.
  FaultInjector& faults() { return *faults_; }
  const NodePricer& pricer() const { return pricer_; }
  boost::asio::io_context& io() { return http_->io(); }
  const SimOptions& options() const { return options_; }
  // The --scenario document (a JSON object; {} when no scenario was given).
  const nlohmann::json& scenario() const { return scenario_; }

  // ServiceAccount tokens (TokenRequest, the kubelet's projected tokens)
  // and the RBAC authorizer (issue 20; rbac/README.md).
  const rbac::ServiceAccountTokens& tokens() const { return *tokens_; }
  const rbac::Authorizer& authorizer() const { return authorizer_; }
  // The CA that signed the serving certificate (PEM; empty without --tls).
  const std::string& ca_pem() const { return ca_pem_; }
  // Serves GET .../pods/NAME/log (the run-image kubelet's container logs);
  // without one, pods/log answers with an empty log. Before Start().
  using PodLogHandler = std::function<HttpResponse(const HttpRequest&, const std::string& ns, const std::string& name)>;
  void SetPodLogHandler(PodLogHandler h) { pod_log_ = std::move(h); }

  // RequestHandler
  std::chrono::milliseconds DelayFor(const HttpRequest& req) override;
  HandlerResult Handle(const HttpRequest& req) override;

 private:
  struct Route {
    std::string prefix;
    bool require_auth;
    RouteHandler handler;
    FaultClassifier classify;
  };
  // The user a request authenticates as; nullopt = 401. The sim's own token
  // (the kubeconfig's) and, over plain HTTP, no credentials at all are the
  // superuser; a ServiceAccount token is that ServiceAccount.
  std::optional<rbac::UserInfo> Authenticate(const HttpRequest& req) const;
  // nullopt when allowed, else the 403 response.
  std::optional<HttpResponse> Authorize(const rbac::UserInfo& user, const rbac::RequestAttributes& attrs) const;
  HandlerResult HandleInClusterSubresource(const HttpRequest& req, const RequestInfo& info, bool* handled);
  HandlerResult HandleDiscovery(const HttpRequest& req, bool* handled);
  void Audit(const HttpRequest& req, const RequestInfo& info, int code);
  void SpoilIfHostile(const FaultTarget& target, HttpResponse* response);
  static std::optional<FaultTarget> MetricsApiTarget(const HttpRequest& req);

  SimOptions options_;
  SimClock clock_;
  ObjectStore store_;
  Registry registry_;
  SimStats stats_;
  std::unique_ptr<FaultInjector> faults_ = std::make_unique<FaultInjector>();
  NodePricer pricer_;
  std::unique_ptr<ApiHandler> api_;
  std::unique_ptr<HttpServer> http_;
  std::unique_ptr<PodTerminator> terminator_;
  std::vector<Route> routes_;
  std::vector<SimComponent*> components_;
  AdmissionWebhooks webhooks_;
  std::mutex audit_mu_;
  std::unique_ptr<std::ofstream> audit_;
  size_t started_components_ = 0;
  nlohmann::json scenario_ = nlohmann::json::object();
  std::string token_;
  std::string tls_cert_pem_, tls_key_pem_;
  std::string ca_pem_;
  std::unique_ptr<rbac::ServiceAccountTokens> tokens_;
  rbac::Authorizer authorizer_{&store_};
  PodLogHandler pod_log_;
};

}  // namespace kinema::sim
