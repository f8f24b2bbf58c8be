// ApiHandler: the Kubernetes REST surface for resource paths
// (/api/v1/..., /apis/GROUP/VERSION/...): parses the URL into a RequestInfo,
// maps the HTTP method to a verb and serves it through the Registry.
//
//   GET    collection          list (labelSelector, fieldSelector, limit, continue,
//                              resourceVersion[Match]) or watch (watch=1)
//   GET    object[/sub]        get (/status, /scale, /resize)
//   POST   collection          create; POST object/eviction, object/binding
//   PUT    object[/sub]        update (/status, /resize, /scale)
//   PATCH  object[/sub]        json, merge and strategic merge patches
//   DELETE object | collection delete (DeleteOptions body or query) / deletecollection
//
// Lists: items sorted by namespace/name; `limit` pages carry a continue token
// bound to a consistent snapshot of the first page's resourceVersion
// (snapshots kept 5 minutes, then 410 Expired). Table output when the client
// asks for as=Table.
// Thread-safety: Handle() may be called concurrently.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "tools/kinema-sim/admission_webhooks.h"
#include "tools/kinema-sim/api_error.h"
#include "tools/kinema-sim/faults.h"
#include "tools/kinema-sim/http_types.h"
#include "tools/kinema-sim/registry.h"
#include "tools/kinema-sim/sim_stats.h"

namespace kinema::sim {

struct RequestInfo {
  const ResourceType* resource = nullptr;
  std::string ns;           // namespace from the path ("" when not namespaced path)
  std::string name;
  std::string subresource;
  std::string verb;         // get list watch create update patch delete deletecollection
  // "pods" or "pods/eviction": the name fault rules match on.
  std::string FaultResource() const;
};

// Parses a resource path; NotFound for anything that is not a served resource.
ApiResult<RequestInfo> ParseResourceRequest(const HttpRequest& req);

HttpResponse JsonResponse(int status, std::string body);
HttpResponse ErrorResponse(const ApiError& e);

class ApiHandler {
 public:
  ApiHandler(Registry* registry, FaultInjector* faults, SimStats* stats);

  // Validating admission webhooks (not owned; may be null).
  void SetWebhooks(const AdmissionWebhooks* webhooks) { webhooks_ = webhooks; }
  // Serves a request whose path starts with /api/ or /apis/ (not discovery).
  HandlerResult Handle(const HttpRequest& req, const RequestInfo& info);

 private:
  HandlerResult List(const HttpRequest& req, const RequestInfo& info);
  HandlerResult Watch(const HttpRequest& req, const RequestInfo& info);
  HttpResponse Get(const HttpRequest& req, const RequestInfo& info);
  HttpResponse Create(const HttpRequest& req, const RequestInfo& info);
  HttpResponse Update(const HttpRequest& req, const RequestInfo& info);
  HttpResponse Patch(const HttpRequest& req, const RequestInfo& info);
  HttpResponse Delete(const HttpRequest& req, const RequestInfo& info);
  HttpResponse DeleteCollection(const HttpRequest& req, const RequestInfo& info);
  HttpResponse ObjectResponse(int status, const HttpRequest& req, const ObjectPtr& obj);

  struct ListSnapshot {
    uint64_t rv;
    std::vector<ObjectPtr> items;
    std::chrono::steady_clock::time_point created;
  };
  uint64_t SaveSnapshot(ListSnapshot snap);
  std::shared_ptr<const ListSnapshot> FindSnapshot(uint64_t id);

  Registry* registry_;
  ObjectStore* store_;
  FaultInjector* faults_;
  SimStats* stats_;
  const AdmissionWebhooks* webhooks_ = nullptr;
  std::optional<ApiError> Admit(const HttpRequest& req, const RequestInfo& info) const;
  std::mutex snap_mu_;
  uint64_t next_snapshot_ = 1;
  std::map<uint64_t, std::shared_ptr<const ListSnapshot>> snapshots_;
};

}  // namespace kinema::sim
