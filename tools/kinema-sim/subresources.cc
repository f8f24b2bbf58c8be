#include "tools/kinema-sim/subresources.h"

#include <spdlog/spdlog.h>

#include "tools/kinema-sim/selectors.h"

namespace kinema::sim {

namespace {

using Json = nlohmann::json;

const ResourceType& Pods() { return *ResourceRegistry::Default().Find("", "v1", "pods"); }
const ResourceType& Pdbs() { return *ResourceRegistry::Default().Find("policy", "v1", "poddisruptionbudgets"); }

Json SuccessStatus(int code) {
  return Json{{"kind", "Status"}, {"apiVersion", "v1"}, {"metadata", Json::object()}, {"status", "Success"}, {"code", code}};
}

bool PodReady(const Json& pod) {
  if (!pod.contains("status") || !pod["status"].contains("conditions")) return false;
  for (const auto& c : pod["status"]["conditions"]) {
    if (c.value("type", "") == "Ready") return c.value("status", "") == "True";
  }
  return false;
}

ApiError TooManyRequests(const std::string& cause) {
  ApiError e = ApiError::TooManyRequests("Cannot evict pod as it would violate the pod's disruption budget.", 0);
  e.causes.push_back({"DisruptionBudget", cause, ""});
  return e;
}

std::optional<ApiError> CheckPdb(const Json& pdb, const std::string& pod_name, bool* decrement) {
  *decrement = true;
  std::string name = pdb["metadata"].value("name", "");
  const Json status = pdb.value("status", Json::object());
  long long generation = pdb["metadata"].value("generation", 0LL);
  if (status.value("observedGeneration", 0LL) < generation) {
    return TooManyRequests("The disruption budget " + name + " is still being processed by the server.");
  }
  long long allowed = status.value("disruptionsAllowed", 0LL);
  if (allowed < 0) {
    ApiError e;
    e.code = 403;
    e.reason = "Forbidden";
    e.message = "pdb disruptions allowed is negative";
    return e;
  }
  if (status.contains("disruptedPods") && status["disruptedPods"].size() > 2000) {
    ApiError e;
    e.code = 403;
    e.reason = "Forbidden";
    e.message = "DisruptedPods map too big - too many evictions not confirmed by PDB controller";
    return e;
  }
  if (allowed == 0) {
    return TooManyRequests("The disruption budget " + name + " needs " +
                           std::to_string(status.value("desiredHealthy", 0LL)) + " healthy pods and has " +
                           std::to_string(status.value("currentHealthy", 0LL)) + " currently");
  }
  return std::nullopt;
}

}  // namespace

ApiResult<Json> EvictPod(Registry* registry, SimStats* stats, const std::string& ns, const std::string& name,
                         const std::string& body) {
  Json eviction;
  try {
    eviction = Json::parse(body);
  } catch (const std::exception& e) {
    return ApiError::BadRequest(std::string("error decoding Eviction: ") + e.what());
  }
  // A body without kind/apiVersion decodes as the endpoint's type (Eviction).
  if (!eviction.is_object() || (eviction.contains("kind") && eviction.value("kind", "") != "Eviction")) {
    return ApiError::BadRequest("the body of the request must be an Eviction (policy/v1)");
  }
  std::string body_name = eviction.contains("metadata") ? eviction["metadata"].value("name", "") : "";
  if (body_name != name) {
    return ApiError::BadRequest("name in URL does not match name in Eviction object");
  }
  DeleteOptions opts;
  if (eviction.contains("deleteOptions") && eviction["deleteOptions"].is_object()) {
    const Json& d = eviction["deleteOptions"];
    if (d.contains("gracePeriodSeconds") && d["gracePeriodSeconds"].is_number_integer()) {
      opts.grace_period_seconds = d["gracePeriodSeconds"].get<long long>();
    }
    if (d.contains("preconditions") && d["preconditions"].is_object()) {
      opts.precondition_uid = d["preconditions"].value("uid", "");
      opts.precondition_rv = d["preconditions"].value("resourceVersion", "");
    }
    if (d.contains("dryRun") && d["dryRun"].is_array() && !d["dryRun"].empty()) opts.dry_run = true;
  }
  ObjectStore* store = registry->store();
  ObjectPtr pod = store->Get(Pods(), ns, name);
  if (!pod) return ApiError::NotFound(Pods(), name);
  const Json& pj = pod->body;
  std::string phase = pj.contains("status") ? pj["status"].value("phase", "") : "";
  bool skip_pdb = phase == "Pending" || phase == "Succeeded" || phase == "Failed" ||
                  pj["metadata"].contains("deletionTimestamp");
  if (!skip_pdb) {
    WatchFilter f;
    f.resource = &Pdbs();
    f.ns = ns;
    std::vector<ObjectPtr> matching;
    for (const auto& pdb : store->List(f).items) {
      Json sel = pdb->body.contains("spec") ? pdb->body["spec"].value("selector", Json()) : Json();
      if (!sel.is_object() || sel.empty()) continue;  // empty selector matches nothing in policy/v1 eviction
      auto ls = LabelSelector::FromJson(sel);
      if (!ls.ok()) continue;
      if (ls.value().Matches(pj["metadata"].value("labels", Json::object()))) matching.push_back(pdb);
    }
    if (matching.size() > 1) {
      return ApiError::Internal("This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.");
    }
    if (matching.size() == 1) {
      const std::string pdb_name = matching[0]->name;
      bool ready = PodReady(pj);
      std::string auth_time = SimClock::FormatTime(registry->clock()->Now());
      auto r = registry->Modify(
          Pdbs(), ns, pdb_name,
          [&](Json& pdb) -> std::optional<ApiError> {
            Json& st = pdb["status"];
            if (!ready) {
              std::string policy = pdb["spec"].value("unhealthyPodEvictionPolicy", "IfHealthyBudget");
              if (policy == "AlwaysAllow" ||
                  st.value("currentHealthy", 0LL) >= st.value("desiredHealthy", 0LL)) {
                return std::nullopt;  // unready pod, budget healthy: no decrement
              }
            }
            bool decrement;
            if (auto err = CheckPdb(pdb, name, &decrement)) return err;
            if (opts.dry_run) return std::nullopt;
            st["disruptionsAllowed"] = st.value("disruptionsAllowed", 0LL) - 1;
            st["disruptedPods"][name] = auth_time;
            return std::nullopt;
          },
          "status", opts.dry_run);
      if (!r.ok()) {
        if (r.error().code == 429) stats->evictions_rejected_by_pdb++;
        spdlog::info("eviction of pod {}/{} refused: {}", ns, name, r.error().message);
        return r.error();
      }
    }
  }
  if (!opts.dry_run) {
    // The eviction handler marks the pod before deleting it.
    registry->Modify(
        Pods(), ns, name,
        [&](Json& p) -> std::optional<ApiError> {
          Json& conds = p["status"]["conditions"];
          if (!conds.is_array()) conds = Json::array();
          for (auto it = conds.begin(); it != conds.end(); ++it) {
            if (it->value("type", "") == "DisruptionTarget") {
              conds.erase(it);
              break;
            }
          }
          conds.push_back({{"type", "DisruptionTarget"},
                           {"status", "True"},
                           {"reason", "EvictionByEvictionAPI"},
                           {"message", "Eviction API: evicting"},
                           {"lastTransitionTime", SimClock::FormatTime(registry->clock()->Now())}});
          return std::nullopt;
        },
        "status");
  }
  auto del = registry->Delete(Pods(), ns, name, opts);
  if (!del.ok()) return del.error();
  if (!opts.dry_run) stats->evictions_accepted++;
  spdlog::info("evicted pod {}/{}", ns, name);
  return SuccessStatus(201);
}

ApiResult<Json> BindPod(Registry* registry, const std::string& ns, const std::string& name, const std::string& body) {
  Json binding;
  try {
    binding = Json::parse(body);
  } catch (const std::exception& e) {
    return ApiError::BadRequest(std::string("error decoding Binding: ") + e.what());
  }
  std::string node = binding.contains("target") ? binding["target"].value("name", "") : "";
  if (node.empty()) {
    return ApiError::Invalid(Pods(), name, {{"FieldValueRequired", "Required value", "target.name"}});
  }
  auto r = registry->store()->Mutate(Pods(), ns, name, [&](const ObjectPtr& cur) -> ApiResult<ObjectStore::Mutation> {
    if (!cur) return ApiError::NotFound(Pods(), name);
    if (cur->body["metadata"].contains("deletionTimestamp")) {
      return ApiError::Conflict(Pods(), name, "pod " + name + " is being deleted, cannot be assigned to a host");
    }
    std::string current = cur->body.contains("spec") ? cur->body["spec"].value("nodeName", "") : "";
    if (!current.empty()) {
      return ApiError::Conflict(Pods(), name, "pod " + name + " is already assigned to node \"" + current + "\"");
    }
    Json next = cur->body;
    next["spec"]["nodeName"] = node;
    Json& conds = next["status"]["conditions"];
    if (!conds.is_array()) conds = Json::array();
    Json scheduled = {{"type", "PodScheduled"}, {"status", "True"},
                      {"lastTransitionTime", SimClock::FormatTime(registry->clock()->Now())}};
    bool replaced = false;
    for (auto& c : conds) {  // one condition per type, like the real kubelet/scheduler
      if (c.value("type", "") == "PodScheduled") {
        c = scheduled;
        replaced = true;
      }
    }
    if (!replaced) conds.push_back(scheduled);
    return ObjectStore::Mutation{ObjectStore::Mutation::Action::kPut, std::move(next)};
  });
  if (!r.ok()) return r.error();
  return SuccessStatus(201);
}

Json ScaleOf(const StoredObject& parent) {
  const Json& b = parent.body;
  std::string selector;
  if (b.contains("spec") && b["spec"].contains("selector")) {
    auto ls = LabelSelector::FromJson(b["spec"]["selector"]);
    if (ls.ok()) selector = ls.value().ToString();
  }
  Json md = {{"name", parent.name},
             {"namespace", parent.ns},
             {"uid", b["metadata"].value("uid", "")},
             {"resourceVersion", std::to_string(parent.rv)},
             {"creationTimestamp", b["metadata"].value("creationTimestamp", "")}};
  return Json{{"kind", "Scale"},
              {"apiVersion", "autoscaling/v1"},
              {"metadata", md},
              {"spec", {{"replicas", b.contains("spec") ? b["spec"].value("replicas", 0) : 0}}},
              {"status",
               {{"replicas", b.contains("status") ? b["status"].value("replicas", 0) : 0}, {"selector", selector}}}};
}

ApiResult<Json> UpdateScale(Registry* registry, const ResourceType& rt, const std::string& ns, const std::string& name,
                            const std::string& body, PatchType patch_type, bool is_patch, bool dry_run) {
  auto r = registry->Modify(
      rt, ns, name,
      [&](Json& obj) -> std::optional<ApiError> {
        StoredObject view;
        view.type = &rt;
        view.ns = ns;
        view.name = name;
        view.rv = std::stoull(obj["metadata"].value("resourceVersion", "0"));
        view.body = obj;
        Json scale = ScaleOf(view);
        Json wanted;
        if (is_patch) {
          ApiResult<Json> p = ApiError::Internal("unreachable");
          if (patch_type == PatchType::kJson) p = ApplyJsonPatch(scale, body);
          else if (patch_type == PatchType::kMerge) p = ApplyMergePatch(scale, body);
          else p = ApplyStrategicMergePatch(scale, body);
          if (!p.ok()) return p.error();
          wanted = p.value();
        } else {
          try {
            wanted = Json::parse(body);
          } catch (const std::exception& e) {
            return ApiError::BadRequest(std::string("error decoding Scale: ") + e.what());
          }
        }
        std::string rv = wanted.contains("metadata") ? wanted["metadata"].value("resourceVersion", "") : "";
        if (!rv.empty() && rv != std::to_string(view.rv)) return ApiError::StaleResourceVersion(rt, name);
        if (!wanted.contains("spec") || !wanted["spec"].contains("replicas") ||
            !wanted["spec"]["replicas"].is_number_integer() || wanted["spec"]["replicas"].get<long long>() < 0) {
          ApiError e = ApiError::Invalid(rt, name, {{"FieldValueInvalid", "Invalid value: must be greater than or equal to 0", "spec.replicas"}});
          e.kind = "Scale";
          return e;
        }
        obj["spec"]["replicas"] = wanted["spec"]["replicas"];
        obj["metadata"].erase("resourceVersion");
        return std::nullopt;
      },
      "", dry_run);
  if (!r.ok()) return r.error();
  return ScaleOf(*r.value());
}

}  // namespace kinema::sim
