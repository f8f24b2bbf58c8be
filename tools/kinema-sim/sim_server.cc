#include "tools/kinema-sim/sim_server.h"

#include <openssl/rand.h>
#include <fstream>
#include <sstream>
#include <spdlog/spdlog.h>

#include "tools/kinema-sim/discovery.h"
#include "tools/kinema-sim/hostile_answers.h"
#include "tools/kinema-sim/kubeconfig_writer.h"
#include "tools/kinema-sim/openapi.h"
#include "tools/kinema-sim/rbac/bootstrap_policy.h"
#include "tools/kinema-sim/report.h"
#include "tools/kinema-sim/snapshot_loader.h"
#include "tools/kinema-sim/tls_certs.h"

namespace kinema::sim {

namespace {

std::string RandomToken() {
  unsigned char bytes[24];
  RAND_bytes(bytes, sizeof(bytes));
  static const char kHex[] = "0123456789abcdef";
  std::string s;
  for (unsigned char b : bytes) {
    s += kHex[b >> 4];
    s += kHex[b & 15];
  }
  return s;
}

HttpResponse TextResponse(int status, const std::string& text) {
  HttpResponse r;
  r.status = status;
  r.content_type = "text/plain; charset=utf-8";
  r.body = text;
  return r;
}

}  // namespace

StatusOr<nlohmann::json> LoadScenarioFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::NotFound("scenario " + path + ": cannot open");
  std::stringstream buf;
  buf << in.rdbuf();
  nlohmann::json doc = nlohmann::json::parse(buf.str(), nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return Status::InvalidArgument("scenario " + path + ": not valid JSON");
  if (!doc.is_object()) return Status::InvalidArgument("scenario " + path + ": top level must be an object");
  return doc;
}

SimServer::SimServer(SimOptions options)
    : options_(std::move(options)),
      clock_(options_.time_scale),
      store_(options_.watch_history),
      registry_(&store_, &clock_) {
  token_ = options_.token.empty() ? RandomToken() : options_.token;
  tokens_ = std::make_unique<rbac::ServiceAccountTokens>(&store_, &clock_);
}

SimServer::~SimServer() { Stop(); }

void SimServer::AddRoute(const std::string& prefix, bool require_auth, RouteHandler handler,
                         FaultClassifier classify) {
  routes_.push_back(Route{prefix, require_auth, std::move(handler), std::move(classify)});
}

std::string SimServer::ServerUrl() const {
  std::string host = options_.listen_host == "0.0.0.0" ? "127.0.0.1" : options_.listen_host;
  if (host.find(':') != std::string::npos) host = "[" + host + "]";
  return std::string(options_.tls ? "https://" : "http://") + host + ":" + std::to_string(port());
}

Status SimServer::Start() {
  auto pricer = NodePricer::LoadFile(options_.catalog);
  if (!pricer.ok()) return pricer.status();
  pricer_ = pricer.value();
  if (!options_.faults.empty()) {
    auto rules = FaultInjector::ParseFile(options_.faults);
    if (!rules.ok()) return rules.status();
    faults_ = std::make_unique<FaultInjector>(rules.value(), options_.seed);
    spdlog::info("fault injection: {} rule(s), seed {}", rules.value().size(), options_.seed);
  }
  if (!options_.scenario.empty()) {
    auto scenario = LoadScenarioFile(options_.scenario);
    if (!scenario.ok()) return scenario.status();
    scenario_ = std::move(scenario).value();
  }
  if (!options_.audit_log.empty()) {
    audit_ = std::make_unique<std::ofstream>(options_.audit_log, std::ios::app);
    if (!*audit_) return Status::InvalidArgument("--audit-log " + options_.audit_log + ": cannot open for writing");
  }
  auto summary = LoadSnapshotFile(options_.snapshot, &registry_);
  if (!summary.ok()) return summary.status();
  std::string counts;
  for (const auto& [kind, n] : summary.value().counts) counts += (counts.empty() ? "" : ", ") + kind + "=" + std::to_string(n);
  spdlog::info("snapshot {} loaded: {} (skipped {}), resourceVersion {}", options_.snapshot, counts,
               summary.value().skipped, store_.CurrentRv());
  KINEMA_RETURN_IF_ERROR(rbac::EnsureBootstrapPolicy(&registry_));

  api_ = std::make_unique<ApiHandler>(&registry_, faults_.get(), &stats_);
  api_->SetWebhooks(&webhooks_);
  HttpServer::Options ho;
  ho.host = options_.listen_host;
  ho.port = options_.listen_port;
  ho.tls = options_.tls;
  ho.threads = options_.threads;
  std::string ca_path;
  if (options_.tls) {
    auto tls = GenerateTlsMaterial(options_.listen_host);
    if (!tls.ok()) return tls.status();
    ho.cert_chain_pem = tls.value().server_cert_pem;
    ho.key_pem = tls.value().server_key_pem;
    ca_path = CaPathFor(options_.kubeconfig);
    ca_pem_ = tls.value().ca_cert_pem;
    KINEMA_RETURN_IF_ERROR(WriteFileAtomically(ca_path, tls.value().ca_cert_pem, 0644).WithContext("write CA"));
  }
  http_ = std::make_unique<HttpServer>(ho, this);
  KINEMA_RETURN_IF_ERROR(http_->Start());
  if (builtin_pod_terminator) {
    terminator_ = std::make_unique<PodTerminator>(&registry_, &http_->io());
    terminator_->Start();
  }
  for (SimComponent* c : components_) {
    KINEMA_RETURN_IF_ERROR(c->Start(*this).WithContext("start " + c->Name()));
    ++started_components_;
    spdlog::info("sim component {} started", c->Name());
  }
  KubeconfigParams kp{ServerUrl(), token_, ca_path};
  KINEMA_RETURN_IF_ERROR(
      WriteFileAtomically(options_.kubeconfig, RenderKubeconfig(kp), 0600).WithContext("write kubeconfig"));
  spdlog::info("kinema-sim serving {} (time-scale {}), kubeconfig {}", ServerUrl(), options_.time_scale,
               options_.kubeconfig);
  return Status::OK();
}

void SimServer::Stop() {
  while (started_components_ > 0) components_[--started_components_]->Stop();
  if (terminator_) terminator_->Stop();
  if (http_) http_->Stop();
}

std::optional<rbac::UserInfo> SimServer::Authenticate(const HttpRequest& req) const {
  static const rbac::UserInfo kAdmin{"kinema-sim-admin", {"system:masters", "system:authenticated"}, true};
  std::string h = req.Header("authorization");
  // client-go (kubectl) never sends credentials over plain HTTP, so without
  // --tls a request with no Authorization header is served (like the old
  // insecure port); a wrong or malformed one is still 401.
  if (h.empty()) return options_.tls ? std::nullopt : std::optional<rbac::UserInfo>(kAdmin);
  static const std::string kBearer = "Bearer ";
  if (h.size() <= kBearer.size() || h.compare(0, kBearer.size(), kBearer) != 0) return std::nullopt;
  std::string token = h.substr(kBearer.size());
  if (token == token_) return kAdmin;
  return tokens_->Authenticate(token);
}

std::optional<HttpResponse> SimServer::Authorize(const rbac::UserInfo& user, const rbac::RequestAttributes& attrs) const {
  rbac::Decision d = authorizer_.Authorize(user, attrs);
  if (d.allowed) return std::nullopt;
  ApiError e = rbac::Authorizer::Forbidden(user, attrs, d.reason);
  spdlog::info("rbac: denied: {}", e.message);
  HttpResponse r = ErrorResponse(e);
  r.headers.push_back({"X-Content-Type-Options", "nosniff"});
  return r;
}

namespace {

// The RBAC attributes of a resource request (the apiserver's RequestInfo):
// list/watch with fieldSelector metadata.name=X carry name X.
rbac::RequestAttributes AttributesOf(const HttpRequest& req, const RequestInfo& info) {
  rbac::RequestAttributes a;
  a.verb = info.verb;
  a.api_group = info.resource->group;
  a.api_version = info.resource->version;
  a.resource = info.resource->plural;
  a.subresource = info.subresource;
  a.ns = info.ns;
  a.name = info.name;
  a.path = req.path;
  if (a.name.empty() && (a.verb == "list" || a.verb == "watch")) {
    std::string fs = req.Query("fieldSelector");
    for (const std::string prefix : {"metadata.name=", "metadata.name=="}) {
      if (fs.rfind(prefix, 0) == 0 && fs.find(',') == std::string::npos) a.name = fs.substr(prefix.size());
    }
  }
  return a;
}

// Non-resource requests (discovery, /openapi, /version): verb from the method.
rbac::RequestAttributes NonResourceAttributes(const HttpRequest& req) {
  rbac::RequestAttributes a;
  a.resource_request = false;
  std::string m = req.method;
  for (auto& c : m) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  a.verb = m == "head" ? "get" : m;
  a.path = req.path;
  return a;
}

// Extension routes under /apis/G/V/... (metrics.k8s.io) are resource requests
// too; their RBAC attributes from the path alone.
std::optional<rbac::RequestAttributes> RouteAttributes(const HttpRequest& req) {
  if (req.path.rfind("/apis/", 0) != 0) return std::nullopt;
  std::vector<std::string> p;
  size_t start = 6;
  while (start <= req.path.size()) {
    size_t slash = req.path.find('/', start);
    if (slash == std::string::npos) slash = req.path.size();
    if (slash > start) p.push_back(req.path.substr(start, slash - start));
    start = slash + 1;
  }
  if (p.size() < 3) return NonResourceAttributes(req);  // discovery of the group
  rbac::RequestAttributes a;
  a.api_group = p[0];
  a.api_version = p[1];
  size_t i = 2;
  if (p.size() >= 5 && p[2] == "namespaces") {
    a.ns = p[3];
    i = 4;
  }
  a.resource = p[i];
  if (i + 1 < p.size()) a.name = p[i + 1];
  if (i + 2 < p.size()) a.subresource = p[i + 2];
  a.verb = a.name.empty() ? (req.Query("watch") == "true" || req.Query("watch") == "1" ? "watch" : "list") : "get";
  a.path = req.path;
  return a;
}

}  // namespace

std::chrono::milliseconds SimServer::DelayFor(const HttpRequest& req) {
  if (faults_->empty()) return std::chrono::milliseconds(0);
  for (const auto& route : routes_) {  // the same precedence as Handle()
    if (req.path.rfind(route.prefix, 0) != 0) continue;
    std::optional<FaultTarget> target = route.classify ? route.classify(req) : std::nullopt;
    if (!target && req.path.rfind("/apis/metrics.k8s.io", 0) == 0) target = MetricsApiTarget(req);
    if (!target) return std::chrono::milliseconds(0);
    auto delay = faults_->DecideLatency(target->verb, target->resource);
    if (delay.count() > 0) spdlog::info("fault: {} {} delayed {} ms", target->verb, target->resource, delay.count());
    return delay;
  }
  auto info = ParseResourceRequest(req);
  if (!info.ok()) return std::chrono::milliseconds(0);
  return faults_->DecideLatency(info.value().verb, info.value().FaultResource());
}

HandlerResult SimServer::HandleDiscovery(const HttpRequest& req, bool* handled) {
  *handled = true;
  const std::string& p = req.path;
  std::string path = p.size() > 1 && p.back() == '/' ? p.substr(0, p.size() - 1) : p;
  if (path == "/api") return {JsonResponse(200, CoreApiVersions(ServerUrl().substr(ServerUrl().find("//") + 2))), nullptr};
  if (path == "/apis") return {JsonResponse(200, ApiGroupList()), nullptr};
  if (path == "/openapi/v2") return {JsonResponse(200, OpenApiV2()), nullptr};
  if (path == "/openapi/v3") return {JsonResponse(200, OpenApiV3Root()), nullptr};
  if (path.rfind("/openapi/v3/", 0) == 0) {
    auto doc = OpenApiV3GroupVersion(path.substr(12));
    if (!doc) return {ErrorResponse(ApiError::NotFoundRaw("", "")), nullptr};
    return {JsonResponse(200, *doc), nullptr};
  }
  if (path == "/api/v1") return {JsonResponse(200, *ApiResourceList("", "v1")), nullptr};
  if (path.rfind("/apis/", 0) == 0) {
    std::string rest = path.substr(6);
    size_t slash = rest.find('/');
    if (slash == std::string::npos) {
      for (const auto& [group, version] : ResourceRegistry::Default().GroupVersions()) {
        if (group != rest) continue;
        nlohmann::json gv = {{"groupVersion", group + "/" + version}, {"version", version}};
        return {JsonResponse(200, nlohmann::json{{"kind", "APIGroup"}, {"apiVersion", "v1"}, {"name", group},
                                                 {"versions", {gv}}, {"preferredVersion", gv}}
                                      .dump()),
                nullptr};
      }
      return {ErrorResponse(ApiError::NotFoundRaw("", "")), nullptr};
    }
    if (rest.find('/', slash + 1) == std::string::npos) {
      auto list = ApiResourceList(rest.substr(0, slash), rest.substr(slash + 1));
      if (!list) return {ErrorResponse(ApiError::NotFoundRaw("", "")), nullptr};
      return {JsonResponse(200, *list), nullptr};
    }
  }
  *handled = false;
  return {};
}

// serviceaccounts/token (TokenRequest) and pods/log, served here rather
// than by ApiHandler: they need the token issuer and the run-image kubelet.
HandlerResult SimServer::HandleInClusterSubresource(const HttpRequest& req, const RequestInfo& info, bool* handled) {
  *handled = true;
  if (info.resource->plural == "serviceaccounts" && info.subresource == "token" && info.verb == "create") {
    std::string body = req.body;
    if (req.Header("content-type").find("protobuf") != std::string::npos) {
      auto decoded = rbac::DecodeTokenRequestProtobuf(req.body);
      if (!decoded.ok()) return {ErrorResponse(decoded.error()), nullptr};
      body = decoded.value().dump();
    }
    auto r = rbac::CreateTokenRequest(*tokens_, store_, clock_, info.ns, info.name, body);
    if (!r.ok()) return {ErrorResponse(r.error()), nullptr};
    return {JsonResponse(201, r.value().dump()), nullptr};
  }
  if (info.resource->plural == "pods" && info.subresource == "log" && info.verb == "get") {
    if (!store_.Get(*info.resource, info.ns, info.name)) {
      return {ErrorResponse(ApiError::NotFound(*info.resource, info.name)), nullptr};
    }
    if (pod_log_) return {pod_log_(req, info.ns, info.name), nullptr};
    HttpResponse r;  // simulated containers write nothing
    r.content_type = "text/plain";
    return {r, nullptr};
  }
  *handled = false;
  return {};
}

// metrics.k8s.io for fault rules: .../v1beta1/nodes (list), .../nodes/N
// (get), .../namespaces/NS/pods (list), .../namespaces/NS/pods/P (get).
std::optional<FaultTarget> SimServer::MetricsApiTarget(const HttpRequest& req) {
  if (req.method != "GET") return std::nullopt;
  const std::string prefix = "/apis/metrics.k8s.io/v1beta1/";
  if (req.path.rfind(prefix, 0) != 0) return std::nullopt;
  int segments = 0;
  std::string rest = req.path.substr(prefix.size());
  for (size_t i = 0; i < rest.size(); ++i) {
    if (rest[i] != '/' && (i == 0 || rest[i - 1] == '/')) ++segments;
  }
  if (segments == 0) return std::nullopt;
  return FaultTarget{segments % 2 == 1 ? "list" : "get", kMetricsApiResource};
}

// Hostile-peer faults (faults.h): the answer was computed (the request was
// carried out); it is spoiled on its way out.
void SimServer::SpoilIfHostile(const FaultTarget& target, HttpResponse* response) {
  if (faults_->empty()) return;
  HostileDecision d = faults_->DecideHostile(target.verb, target.resource);
  if (d.kind == HostileKind::kNone) return;
  spdlog::info("fault: hostile answer ({}) to {} {}", HostileKindName(d.kind), target.verb, target.resource);
  SpoilAnswer(d, response);
}

// One JSON line per resource request, flushed at once (tests read the file
// while the server runs): what was asked, by which client, with what result.
void SimServer::Audit(const HttpRequest& req, const RequestInfo& info, int code) {
  nlohmann::json line = {{"time", SimClock::FormatMicroTime(clock_.Now())},
                         {"verb", info.verb},
                         {"group", info.resource ? info.resource->group : ""},
                         {"resource", info.FaultResource()},
                         {"namespace", info.ns},
                         {"name", info.name},
                         {"userAgent", req.Header("user-agent")},
                         {"user", [&] {
                            auto u = Authenticate(req);
                            return u ? u->name : std::string();
                          }()},
                         {"code", code}};
  std::lock_guard<std::mutex> l(audit_mu_);
  *audit_ << line.dump() << '\n';
  audit_->flush();
}

HandlerResult SimServer::Handle(const HttpRequest& req) {
  stats_.requests++;
  const std::string& path = req.path;
  if (path == "/version" || path == "/version/") return {JsonResponse(200, VersionDocument()), nullptr};
  if (path == "/healthz" || path == "/livez" || path == "/readyz") return {TextResponse(200, "ok"), nullptr};
  if (path == "/sim/v1/report") {
    if (req.method != "GET") return {ErrorResponse(ApiError::MethodNotAllowed("only GET is allowed")), nullptr};
    return {JsonResponse(200, BuildReport(store_, pricer_, clock_, stats_).dump()), nullptr};
  }
  for (const auto& route : routes_) {
    if (path.rfind(route.prefix, 0) != 0) continue;
    if (route.require_auth) {
      auto user = Authenticate(req);
      if (!user) return {ErrorResponse(ApiError::Unauthorized()), nullptr};
      if (auto attrs = RouteAttributes(req)) {
        if (auto denied = Authorize(*user, *attrs)) return {*denied, nullptr};
      }
    }
    HttpResponse resp = route.handler(req);
    std::optional<FaultTarget> target = route.classify ? route.classify(req) : std::nullopt;
    if (!target && path.rfind("/apis/metrics.k8s.io", 0) == 0) target = MetricsApiTarget(req);
    if (target) SpoilIfHostile(*target, &resp);
    return {std::move(resp), nullptr};
  }
  auto user = Authenticate(req);
  if (!user) {
    spdlog::debug("401 for {} {} from {}", req.method, req.target, req.remote);
    return {ErrorResponse(ApiError::Unauthorized()), nullptr};
  }
  bool handled = false;
  HandlerResult d = HandleDiscovery(req, &handled);
  if (handled) {
    if (auto denied = Authorize(*user, NonResourceAttributes(req))) return {*denied, nullptr};
    return d;
  }
  auto info = ParseResourceRequest(req);
  if (!info.ok()) {
    if (info.error().code == 404) {
      ApiError e = ApiError::NotFoundRaw("", "");
      return {ErrorResponse(e), nullptr};
    }
    return {ErrorResponse(info.error()), nullptr};
  }
  if (auto denied = Authorize(*user, AttributesOf(req, info.value()))) {
    if (audit_) Audit(req, info.value(), denied->status);
    return {*denied, nullptr};
  }
  HandlerResult sub = HandleInClusterSubresource(req, info.value(), &handled);
  if (handled) {
    if (audit_) Audit(req, info.value(), sub.response.status);
    return sub;
  }
  HandlerResult r = api_->Handle(req, info.value());
  if (audit_) Audit(req, info.value(), r.stream ? 200 : r.response.status);
  if (!r.stream) SpoilIfHostile(FaultTarget{info.value().verb, info.value().FaultResource()}, &r.response);
  if (!r.stream && r.response.status >= 500) {
    spdlog::warn("{} {} -> {}", req.method, req.target, r.response.status);
  }
  return r;
}

}  // namespace kinema::sim
