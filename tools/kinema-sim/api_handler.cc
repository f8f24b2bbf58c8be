#include "tools/kinema-sim/api_handler.h"

#include "tools/kinema-sim/custom_resources.h"

#include <spdlog/spdlog.h>

#include <cstring>
#include <random>

#include "tools/kinema-sim/subresources.h"
#include "tools/kinema-sim/table.h"
#include "tools/kinema-sim/watch_stream.h"

namespace kinema::sim {

namespace {

using Json = nlohmann::json;

constexpr auto kSnapshotLifetime = std::chrono::minutes(5);
constexpr size_t kMaxSnapshots = 64;

std::vector<std::string> SplitPath(const std::string& path) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (start < path.size()) {
    size_t slash = path.find('/', start);
    if (slash == std::string::npos) slash = path.size();
    if (slash > start) parts.push_back(path.substr(start, slash - start));
    start = slash + 1;
  }
  return parts;
}

const char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

std::string Base64UrlEncode(const std::string& in) {
  std::string out;
  int val = 0, bits = -6;
  for (unsigned char c : in) {
    val = (val << 8) + c;
    bits += 8;
    while (bits >= 0) {
      out.push_back(kB64[(val >> bits) & 0x3F]);
      bits -= 6;
    }
  }
  if (bits > -6) out.push_back(kB64[((val << 8) >> (bits + 8)) & 0x3F]);
  return out;
}

bool Base64UrlDecode(const std::string& in, std::string* out) {
  int val = 0, bits = -8;
  for (char c : in) {
    if (c == '=') break;
    const char* p = std::strchr(kB64, c);
    if (c == '+') p = kB64 + 62;
    if (c == '/') p = kB64 + 63;
    if (p == nullptr || *p == '\0') return false;
    val = (val << 6) + static_cast<int>(p - kB64);
    bits += 6;
    if (bits >= 0) {
      out->push_back(static_cast<char>((val >> bits) & 0xFF));
      bits -= 8;
    }
  }
  return true;
}

bool ParseUint(const std::string& s, uint64_t* out) {
  if (s.empty() || s.size() > 19) return false;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  *out = v;
  return true;
}

// Go's strconv.ParseBool truth values, as the apiserver parses query booleans.
bool QueryBool(const HttpRequest& req, const std::string& name) {
  std::string v = req.Query(name);
  return v == "1" || v == "t" || v == "T" || v == "true" || v == "TRUE" || v == "True";
}

bool DryRun(const HttpRequest& req) { return req.Query("dryRun") == "All"; }

ApiResult<Json> ParseBody(const std::string& body) {
  try {
    return Json::parse(body);
  } catch (const std::exception& e) {
    return ApiError::BadRequest(std::string("error decoding request body: ") + e.what());
  }
}

std::string ListEnvelope(const ResourceType& rt, const std::vector<ObjectPtr>& items, uint64_t rv,
                         const std::string& cont, std::optional<size_t> remaining) {
  Json md = {{"resourceVersion", std::to_string(rv)}};
  if (!cont.empty()) md["continue"] = cont;
  if (remaining) md["remainingItemCount"] = *remaining;
  std::string out = R"({"kind":")" + rt.ListKind() + R"(","apiVersion":")" + rt.ApiVersion() +
                    R"(","metadata":)" + md.dump() + R"(,"items":[)";
  size_t total = out.size() + 2;
  for (const auto& o : items) total += o->text.size() + 1;
  out.reserve(total);
  for (size_t i = 0; i < items.size(); ++i) {
    if (i) out += ',';
    out += items[i]->text;
  }
  out += "]}";
  return out;
}

ApiResult<WatchFilter> BuildFilter(const HttpRequest& req, const RequestInfo& info) {
  WatchFilter f;
  f.resource = info.resource;
  f.ns = info.ns;
  auto ls = LabelSelector::Parse(req.Query("labelSelector"));
  if (!ls.ok()) return ls.error();
  f.labels = ls.value();
  auto fs = FieldSelector::Parse(req.Query("fieldSelector"), *info.resource);
  if (!fs.ok()) return fs.error();
  f.fields = fs.value();
  return f;
}

}  // namespace

std::string RequestInfo::FaultResource() const {
  return subresource.empty() ? resource->plural : resource->plural + "/" + subresource;
}

HttpResponse JsonResponse(int status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

HttpResponse ErrorResponse(const ApiError& e) {
  HttpResponse r = JsonResponse(e.code, e.ToStatusJson().dump());
  if (e.retry_after_seconds > 0) r.headers.push_back({"Retry-After", std::to_string(e.retry_after_seconds)});
  return r;
}

ApiResult<RequestInfo> ParseResourceRequest(const HttpRequest& req) {
  std::vector<std::string> p = SplitPath(req.path);
  std::string group, version;
  size_t i;
  if (p.size() >= 2 && p[0] == "api") {
    version = p[1];
    i = 2;
  } else if (p.size() >= 3 && p[0] == "apis") {
    group = p[1];
    version = p[2];
    i = 3;
  } else {
    return ApiError::NotFoundRaw("", "");
  }
  RequestInfo info;
  std::vector<std::string> rest(p.begin() + static_cast<long>(i), p.end());
  // namespaces/NS/<resource>/... (but namespaces, namespaces/NAME[/status] is the Namespace resource)
  if (rest.size() >= 3 && rest[0] == "namespaces" && !(rest.size() == 3 && (rest[2] == "status" || rest[2] == "finalize"))) {
    info.ns = rest[1];
    rest.erase(rest.begin(), rest.begin() + 2);
  }
  if (rest.empty() || rest.size() > 3) return ApiError::NotFoundRaw("", "");
  info.resource = ResourceRegistry::Default().Find(group, version, rest[0]);
  if (info.resource == nullptr) return ApiError::NotFoundRaw("", "");
  if (!info.ns.empty() && !info.resource->namespaced) return ApiError::NotFoundRaw("", "");
  if (rest.size() >= 2) info.name = rest[1];
  if (rest.size() == 3) {
    info.subresource = rest[2];
    if (info.resource->FindSubresource(info.subresource) == nullptr) return ApiError::NotFoundRaw("", "");
  }
  const std::string& m = req.method;
  if (m == "GET" || m == "HEAD") {
    if (!info.name.empty()) info.verb = "get";
    else info.verb = QueryBool(req, "watch") ? "watch" : "list";
  } else if (m == "POST") {
    info.verb = "create";
  } else if (m == "PUT") {
    info.verb = "update";
  } else if (m == "PATCH") {
    info.verb = "patch";
  } else if (m == "DELETE") {
    info.verb = info.name.empty() ? "deletecollection" : "delete";
  } else {
    return ApiError::MethodNotAllowed("the server does not allow this method on the requested resource");
  }
  if (info.resource->namespaced && info.ns.empty() && info.verb != "list" && info.verb != "watch" &&
      info.verb != "deletecollection") {
    return ApiError::NotFoundRaw("", "");
  }
  if (info.verb == "create" && !info.name.empty() && info.subresource.empty()) {
    return ApiError::MethodNotAllowed("the server does not allow this method on the requested resource");
  }
  if ((info.verb == "update" || info.verb == "patch" || info.verb == "delete") && info.name.empty()) {
    return ApiError::MethodNotAllowed("the server does not allow this method on the requested resource");
  }
  return info;
}

ApiHandler::ApiHandler(Registry* registry, FaultInjector* faults, SimStats* stats)
    : registry_(registry), store_(registry->store()), faults_(faults), stats_(stats) {}

HandlerResult ApiHandler::Handle(const HttpRequest& req, const RequestInfo& info) {
  if (auto fault = faults_->DecideError(info.verb, info.FaultResource(), info.resource->group, info.name)) {
    spdlog::info("fault: {} {} -> {}", info.verb, info.FaultResource(), fault->code);
    return {ErrorResponse(*fault), nullptr};
  }
  if (info.verb == "list") return List(req, info);
  if (info.verb == "watch") return Watch(req, info);
  HandlerResult r;
  if (info.verb == "get") r.response = Get(req, info);
  else if (info.verb == "create") r.response = Create(req, info);
  else if (info.verb == "update") r.response = Update(req, info);
  else if (info.verb == "patch") r.response = Patch(req, info);
  else if (info.verb == "delete") r.response = Delete(req, info);
  else if (info.verb == "deletecollection") r.response = DeleteCollection(req, info);
  return r;
}

HttpResponse ApiHandler::ObjectResponse(int status, const HttpRequest& req, const ObjectPtr& obj) {
  if (req.method == "GET" && WantsTable(req.Header("accept"))) {
    return JsonResponse(status, RenderTable(*obj->type, {obj}, obj->rv, "", ParseIncludeObject(req.Query("includeObject")),
                                            *registry_->clock()));
  }
  return JsonResponse(status, obj->text);
}

uint64_t ApiHandler::SaveSnapshot(ListSnapshot snap) {
  std::lock_guard<std::mutex> l(snap_mu_);
  auto now = std::chrono::steady_clock::now();
  for (auto it = snapshots_.begin(); it != snapshots_.end();) {
    if (now - it->second->created > kSnapshotLifetime) it = snapshots_.erase(it);
    else ++it;
  }
  while (snapshots_.size() >= kMaxSnapshots) snapshots_.erase(snapshots_.begin());
  uint64_t id = next_snapshot_++;
  snapshots_[id] = std::make_shared<const ListSnapshot>(std::move(snap));
  return id;
}

std::shared_ptr<const ApiHandler::ListSnapshot> ApiHandler::FindSnapshot(uint64_t id) {
  std::lock_guard<std::mutex> l(snap_mu_);
  auto it = snapshots_.find(id);
  if (it == snapshots_.end()) return nullptr;
  if (std::chrono::steady_clock::now() - it->second->created > kSnapshotLifetime) {
    snapshots_.erase(it);
    return nullptr;
  }
  return it->second;
}

HandlerResult ApiHandler::List(const HttpRequest& req, const RequestInfo& info) {
  const ResourceType& rt = *info.resource;
  uint64_t limit = 0;
  if (req.HasQuery("limit") && !req.Query("limit").empty() && !ParseUint(req.Query("limit"), &limit)) {
    return {ErrorResponse(ApiError::BadRequest("invalid limit: " + req.Query("limit"))), nullptr};
  }
  std::string cont = req.Query("continue");
  std::shared_ptr<const ListSnapshot> snap;
  size_t offset = 0;
  if (!cont.empty()) {
    std::string decoded;
    Json token;
    bool ok = Base64UrlDecode(cont, &decoded);
    if (ok) {
      try {
        token = Json::parse(decoded);
      } catch (...) {
        ok = false;
      }
    }
    if (!ok || !token.is_object() || !token.contains("s") || !token.contains("o")) {
      return {ErrorResponse(ApiError::BadRequest("continue key is not valid: " + cont)), nullptr};
    }
    snap = FindSnapshot(token["s"].get<uint64_t>());
    offset = token["o"].get<size_t>();
    if (!snap) {
      return {ErrorResponse(ApiError::Gone(
                  "The provided continue parameter is too old to display a consistent list result. You can start a new "
                  "list without the continue parameter.")),
              nullptr};
    }
  } else {
    auto filter = BuildFilter(req, info);
    if (!filter.ok()) return {ErrorResponse(filter.error()), nullptr};
    ObjectStore::ListResult lr = store_->List(filter.value());
    std::string rv_text = req.Query("resourceVersion");
    std::string match = req.Query("resourceVersionMatch");
    uint64_t rv = 0;
    if (!rv_text.empty() && rv_text != "0") {
      if (!ParseUint(rv_text, &rv)) {
        return {ErrorResponse(ApiError::BadRequest("invalid resource version: " + rv_text)), nullptr};
      }
      bool exact = match == "Exact" || (match.empty() && limit > 0);
      if (rv > lr.rv) {
        ApiError e = ApiError::Timeout("Too large resource version: " + rv_text + ", current: " + std::to_string(lr.rv));
        e.causes.push_back({"ResourceVersionTooLarge", "Too large resource version", ""});
        e.retry_after_seconds = 1;
        return {ErrorResponse(e), nullptr};
      }
      if (exact && rv < lr.rv) {
        return {ErrorResponse(ApiError::Gone("The resourceVersion for the provided list is too old.")), nullptr};
      }
    }
    auto s = std::make_shared<ListSnapshot>();
    s->rv = lr.rv;
    s->items = std::move(lr.items);
    s->created = std::chrono::steady_clock::now();
    snap = s;
  }
  size_t end = snap->items.size();
  std::string next;
  std::optional<size_t> remaining;
  if (limit > 0 && offset + limit < snap->items.size()) {
    end = offset + limit;
    uint64_t id = cont.empty() ? SaveSnapshot(*snap) : 0;
    if (!cont.empty()) {
      std::string decoded;
      Base64UrlDecode(cont, &decoded);
      id = Json::parse(decoded)["s"].get<uint64_t>();
    }
    next = Base64UrlEncode(Json{{"v", "meta.k8s.io/v1"}, {"rv", snap->rv}, {"s", id}, {"o", end}}.dump());
    remaining = snap->items.size() - end;
  }
  std::vector<ObjectPtr> page(snap->items.begin() + static_cast<long>(std::min(offset, snap->items.size())),
                              snap->items.begin() + static_cast<long>(end));
  if (WantsTable(req.Header("accept"))) {
    return {JsonResponse(200, RenderTable(rt, page, snap->rv, next, ParseIncludeObject(req.Query("includeObject")),
                                          *registry_->clock())),
            nullptr};
  }
  return {JsonResponse(200, ListEnvelope(rt, page, snap->rv, next, remaining)), nullptr};
}

HandlerResult ApiHandler::Watch(const HttpRequest& req, const RequestInfo& info) {
  auto filter = BuildFilter(req, info);
  if (!filter.ok()) return {ErrorResponse(filter.error()), nullptr};
  WatchStream::Options opts;
  std::string rv_text = req.Query("resourceVersion");
  if (!rv_text.empty() && rv_text != "0") {
    uint64_t rv;
    if (!ParseUint(rv_text, &rv)) {
      return {ErrorResponse(ApiError::BadRequest("invalid resource version: " + rv_text)), nullptr};
    }
    opts.from_rv = rv;
  }
  uint64_t timeout = 0;
  if (ParseUint(req.Query("timeoutSeconds"), &timeout) && timeout > 0) {
    opts.timeout = std::chrono::seconds(timeout);
  } else {
    // The real server picks a random timeout in [minRequestTimeout, 2*minRequestTimeout).
    static thread_local std::mt19937 rng(std::random_device{}());
    opts.timeout = std::chrono::seconds(1800 + rng() % 1800);
  }
  opts.bookmarks = QueryBool(req, "allowWatchBookmarks");
  opts.drop_after = faults_->DecideWatchDrop(info.FaultResource());
  if (WantsTable(req.Header("accept"))) {
    TableObjects include = ParseIncludeObject(req.Query("includeObject"));
    const SimClock* clock = registry_->clock();
    opts.encode = [include, clock](const StoredObject& o, const std::string&) {
      return RenderTableRow(o, include, *clock);
    };
  }
  return {HttpResponse{}, std::make_shared<WatchStream>(store_, filter.value(), std::move(opts))};
}

HttpResponse ApiHandler::Get(const HttpRequest& req, const RequestInfo& info) {
  const ResourceType& rt = *info.resource;
  ObjectPtr obj = store_->Get(rt, info.ns, info.name);
  if (!obj) return ErrorResponse(ApiError::NotFound(rt, info.name));
  if (info.subresource == "scale") return JsonResponse(200, ScaleOf(*obj).dump());
  if (info.subresource.empty() || info.subresource == "status" || info.subresource == "resize") {
    return ObjectResponse(200, req, obj);
  }
  return ErrorResponse(ApiError::MethodNotAllowed("the server does not allow this method on the requested resource"));
}

std::optional<ApiError> ApiHandler::Admit(const HttpRequest& req, const RequestInfo& info) const {
  if (webhooks_ == nullptr) return std::nullopt;
  AdmissionRequest ar{info.verb, info.resource->plural, info.subresource, info.ns, info.name, req.body, DryRun(req)};
  if (ar.dry_run == false && info.subresource == "eviction") {
    // An Eviction's dry run is in its DeleteOptions.
    try {
      auto e = nlohmann::json::parse(req.body);
      if (e.is_object() && e.contains("deleteOptions") && e["deleteOptions"].contains("dryRun")) ar.dry_run = true;
    } catch (...) {
    }
  }
  return webhooks_->Admit(ar);
}

HttpResponse ApiHandler::Create(const HttpRequest& req, const RequestInfo& info) {
  const ResourceType& rt = *info.resource;
  if (auto denied = Admit(req, info)) return ErrorResponse(*denied);
  if (info.subresource == "eviction") {
    auto r = EvictPod(registry_, stats_, info.ns, info.name, req.body);
    if (!r.ok()) return ErrorResponse(r.error());
    return JsonResponse(201, r.value().dump());
  }
  if (info.subresource == "binding") {
    auto r = BindPod(registry_, info.ns, info.name, req.body);
    if (!r.ok()) return ErrorResponse(r.error());
    return JsonResponse(201, r.value().dump());
  }
  if (!info.subresource.empty()) {
    return ErrorResponse(ApiError::MethodNotAllowed("the server does not allow this method on the requested resource"));
  }
  auto body = ParseBody(req.body);
  if (!body.ok()) return ErrorResponse(body.error());
  auto r = registry_->Create(rt, info.ns, std::move(body.value()), DryRun(req));
  if (!r.ok()) return ErrorResponse(r.error());
  return JsonResponse(201, r.value()->text);
}

HttpResponse ApiHandler::Update(const HttpRequest& req, const RequestInfo& info) {
  const ResourceType& rt = *info.resource;
  if (info.subresource == "scale") {
    auto r = UpdateScale(registry_, rt, info.ns, info.name, req.body, PatchType::kUnknown, false, DryRun(req));
    if (!r.ok()) return ErrorResponse(r.error());
    return JsonResponse(200, r.value().dump());
  }
  auto body = ParseBody(req.body);
  if (!body.ok()) return ErrorResponse(body.error());
  auto r = registry_->Update(rt, info.ns, info.name, std::move(body.value()), info.subresource, DryRun(req));
  if (!r.ok()) return ErrorResponse(r.error());
  return JsonResponse(200, r.value()->text);
}

HttpResponse ApiHandler::Patch(const HttpRequest& req, const RequestInfo& info) {
  const ResourceType& rt = *info.resource;
  PatchType type = PatchTypeFromContentType(req.Header("content-type"));
  if (type == PatchType::kUnknown || type == PatchType::kApply) {
    return ErrorResponse(ApiError::UnsupportedMediaType(req.Header("content-type")));
  }
  if (type == PatchType::kStrategic && FindCustomResource(rt) != nullptr) {
    // Custom resources have no strategic-merge metadata: the apiserver refuses it.
    ApiError e = ApiError::UnsupportedMediaType(req.Header("content-type"));
    e.message = "the body of the request was in an unknown format - accepted media types include: "
                "application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml";
    return ErrorResponse(e);
  }
  if (info.subresource == "scale") {
    auto r = UpdateScale(registry_, rt, info.ns, info.name, req.body, type, true, DryRun(req));
    if (!r.ok()) return ErrorResponse(r.error());
    return JsonResponse(200, r.value().dump());
  }
  auto r = registry_->Patch(rt, info.ns, info.name, type, req.body, info.subresource, DryRun(req));
  if (!r.ok()) return ErrorResponse(r.error());
  return JsonResponse(200, r.value()->text);
}

namespace {

ApiResult<DeleteOptions> ParseDeleteOptions(const HttpRequest& req) {
  DeleteOptions opts;
  opts.dry_run = DryRun(req);
  if (req.HasQuery("gracePeriodSeconds")) {
    try {
      opts.grace_period_seconds = std::stoll(req.Query("gracePeriodSeconds"));
    } catch (...) {
      return ApiError::BadRequest("invalid gracePeriodSeconds: " + req.Query("gracePeriodSeconds"));
    }
  }
  opts.propagation_policy = req.Query("propagationPolicy");
  if (!req.body.empty()) {
    auto body = ParseBody(req.body);
    if (!body.ok()) return body.error();
    const Json& b = body.value();
    if (b.contains("gracePeriodSeconds") && b["gracePeriodSeconds"].is_number_integer()) {
      opts.grace_period_seconds = b["gracePeriodSeconds"].get<long long>();
    }
    if (b.contains("preconditions") && b["preconditions"].is_object()) {
      opts.precondition_uid = b["preconditions"].value("uid", "");
      opts.precondition_rv = b["preconditions"].value("resourceVersion", "");
    }
    if (b.contains("dryRun") && b["dryRun"].is_array() && !b["dryRun"].empty()) opts.dry_run = true;
    opts.propagation_policy = b.value("propagationPolicy", opts.propagation_policy);
  }
  return opts;
}

Json DeleteSuccessStatus(const ResourceType& rt, const StoredObject& obj) {
  return Json{{"kind", "Status"},
              {"apiVersion", "v1"},
              {"metadata", Json::object()},
              {"status", "Success"},
              {"details", {{"name", obj.name}, {"group", rt.group}, {"kind", rt.plural}, {"uid", obj.body["metadata"].value("uid", "")}}}};
}

}  // namespace

HttpResponse ApiHandler::Delete(const HttpRequest& req, const RequestInfo& info) {
  const ResourceType& rt = *info.resource;
  if (auto denied = Admit(req, info)) return ErrorResponse(*denied);
  if (!info.subresource.empty()) {
    return ErrorResponse(ApiError::MethodNotAllowed("the server does not allow this method on the requested resource"));
  }
  auto opts = ParseDeleteOptions(req);
  if (!opts.ok()) return ErrorResponse(opts.error());
  auto r = registry_->Delete(rt, info.ns, info.name, opts.value());
  if (!r.ok()) return ErrorResponse(r.error());
  const DeleteOutcome& out = r.value();
  // Pods and namespaces return the object; other kinds a Status once gone.
  if (!out.removed || rt.kind == "Pod" || rt.kind == "Namespace" || rt.kind == "Node") {
    return JsonResponse(200, out.object->text);
  }
  return JsonResponse(200, DeleteSuccessStatus(rt, *out.object).dump());
}

HttpResponse ApiHandler::DeleteCollection(const HttpRequest& req, const RequestInfo& info) {
  const ResourceType& rt = *info.resource;
  auto filter = BuildFilter(req, info);
  if (!filter.ok()) return ErrorResponse(filter.error());
  auto opts = ParseDeleteOptions(req);
  if (!opts.ok()) return ErrorResponse(opts.error());
  auto lr = store_->List(filter.value());
  std::vector<ObjectPtr> deleted;
  for (const auto& obj : lr.items) {
    auto r = registry_->Delete(rt, obj->ns, obj->name, opts.value());
    if (r.ok()) deleted.push_back(r.value().object);
  }
  return JsonResponse(200, ListEnvelope(rt, deleted, store_->CurrentRv(), "", std::nullopt));
}

}  // namespace kinema::sim
