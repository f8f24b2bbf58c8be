#include "tools/kinema-sim/kubevirt/eviction_interceptor.h"

#include <spdlog/spdlog.h>

#include "tools/kinema-sim/kubevirt/launcher_pod.h"
#include "tools/kinema-sim/sim_server.h"

namespace kinema::sim::kubevirt {

namespace {

ApiError Deny(const std::string& message) {
  ApiError e = ApiError::TooManyRequests(message, 0);
  return e;
}

}  // namespace

ValidatingWebhook MakeEvictionInterceptor(SimServer* server) {
  ValidatingWebhook hook;
  hook.name = kEvictionWebhookName;
  hook.verb = "create";
  hook.resource = "pods";
  hook.subresource = "eviction";
  hook.admit = [server](const AdmissionRequest& req) -> std::optional<ApiError> {
    const auto& reg = ResourceRegistry::Default();
    const ResourceType& pods = *reg.Find("", "v1", "pods");
    const ResourceType& vms = *reg.Find("simulation.node-classifier.io", "v1alpha1", "virtualmachines");
    ObjectPtr pod = server->store().Get(pods, req.ns, req.name);
    if (!pod) return std::nullopt;
    std::string vm_name = VmNameOf(pod->body);
    if (vm_name.empty()) return std::nullopt;
    ObjectPtr vm = server->store().Get(vms, req.ns, vm_name);
    if (!vm) return std::nullopt;
    const std::string evacuation = "Eviction triggered evacuation of VMI \"" + req.ns + "/" + vm_name + "\"";
    const Json st = vm->body.value("status", Json::object());
    if (st.contains("evacuationNodeName") && st["evacuationNodeName"].is_string() &&
        !st["evacuationNodeName"].get<std::string>().empty()) {
      return Deny("Evacuation in progress: " + evacuation);
    }
    const std::string pod_node = pod->body.value("spec", Json::object()).value("nodeName", "");
    const std::string vm_node = st.contains("nodeName") && st["nodeName"].is_string() ? st["nodeName"].get<std::string>() : "";
    if (pod_node.empty() || vm_node != pod_node) return Deny("Eviction request for target Pod");
    if (!req.dry_run) {
      auto r = server->registry().Modify(
          vms, req.ns, vm_name,
          [&](Json& obj) -> std::optional<ApiError> {
            Json& s = obj["status"];
            if (!s.is_object()) s = Json::object();
            if (s.contains("evacuationNodeName") && s["evacuationNodeName"].is_string() &&
                !s["evacuationNodeName"].get<std::string>().empty()) {
              return ApiError::Conflict(vms, vm_name, "already marked");
            }
            s["evacuationNodeName"] = pod_node;
            return std::nullopt;
          },
          "status");
      if (!r.ok()) {
        if (r.error().code == 409) return Deny("Evacuation in progress: " + evacuation);
        ApiError e = r.error();
        return e;
      }
      server->stats().evictions_in_background++;
      spdlog::info("kubevirt: eviction of {}/{} triggered the evacuation of VM {}/{} from node {}", req.ns, req.name,
                   req.ns, vm_name, pod_node);
    }
    return Deny(evacuation);
  };
  return hook;
}

}  // namespace kinema::sim::kubevirt
