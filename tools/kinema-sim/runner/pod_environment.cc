#include "tools/kinema-sim/runner/pod_environment.h"

#include <cstdlib>

#include "engine/quantity/quantity.h"

namespace kinema::sim::runner {

namespace {

using Json = nlohmann::json;

// metadata.labels['key'] -> key
std::optional<std::string> Subscript(const std::string& path, const std::string& prefix) {
  if (path.rfind(prefix + "['", 0) != 0 || path.size() < prefix.size() + 4 || path.compare(path.size() - 2, 2, "']") != 0) {
    return std::nullopt;
  }
  return path.substr(prefix.size() + 2, path.size() - prefix.size() - 4);
}

StatusOr<std::string> FieldRef(const Json& pod, const std::string& path) {
  const Json md = pod.value("metadata", Json::object());
  const Json spec = pod.value("spec", Json::object()), status = pod.value("status", Json::object());
  if (path == "metadata.name") return md.value("name", "");
  if (path == "metadata.namespace") return md.value("namespace", "");
  if (path == "metadata.uid") return md.value("uid", "");
  if (path == "spec.nodeName") return spec.value("nodeName", "");
  if (path == "spec.serviceAccountName") return spec.value("serviceAccountName", "default");
  if (path == "status.hostIP") return status.value("hostIP", "");
  if (path == "status.podIP") return status.value("podIP", "");
  if (auto k = Subscript(path, "metadata.labels")) return md.value("labels", Json::object()).value(*k, "");
  if (auto k = Subscript(path, "metadata.annotations")) return md.value("annotations", Json::object()).value(*k, "");
  return Status::InvalidArgument("fieldRef " + path + " is not supported");
}

StatusOr<std::string> ResourceFieldRef(const Json& container, const Json& ref) {
  std::string resource = ref.value("resource", "");
  size_t dot = resource.find('.');
  if (dot == std::string::npos) return Status::InvalidArgument("resourceFieldRef " + resource + " is not supported");
  std::string which = resource.substr(0, dot), name = resource.substr(dot + 1);
  Json res = container.value("resources", Json::object()).value(which, Json::object());
  if (!res.contains(name) && which == "requests") res = container.value("resources", Json::object()).value("limits", Json::object());
  std::string divisor = ref.contains("divisor") ? (ref["divisor"].is_string() ? ref["divisor"].get<std::string>()
                                                                              : ref["divisor"].dump())
                                                : (name == "cpu" ? "1" : "1");
  if (!res.contains(name)) return std::string(name == "cpu" ? "2" : "1073741824");  // node allocatable stand-in
  std::string q = res[name].is_string() ? res[name].get<std::string>() : res[name].dump();
  auto v = ParseQuantityMilli(q);
  auto d = ParseQuantityMilli(divisor);
  if (!v.ok() || !d.ok() || *d <= 0) return Status::InvalidArgument("resourceFieldRef " + resource + ": bad quantity");
  return std::to_string((*v + *d - 1) / *d);  // rounded up, like the kubelet
}

}  // namespace

std::string ExpandVars(const std::string& s, const std::map<std::string, std::string>& vars) {
  std::string out;
  for (size_t i = 0; i < s.size();) {
    if (s[i] == '$' && i + 1 < s.size() && s[i + 1] == '$') {
      out += '$';
      i += 2;
      continue;
    }
    if (s[i] == '$' && i + 1 < s.size() && s[i + 1] == '(') {
      size_t close = s.find(')', i + 2);
      if (close != std::string::npos) {
        auto it = vars.find(s.substr(i + 2, close - i - 2));
        if (it != vars.end()) {
          out += it->second;
          i = close + 1;
          continue;
        }
      }
    }
    out += s[i++];
  }
  return out;
}

StatusOr<EnvList> BuildEnvironment(const EnvContext& ctx) {
  const Json& pod = *ctx.pod;
  const Json& c = *ctx.container;
  EnvList env;
  std::map<std::string, std::string> vars;
  auto set = [&](const std::string& k, const std::string& v) {
    vars[k] = v;
    for (auto& e : env) {
      if (e.first == k) {
        e.second = v;
        return;
      }
    }
    env.emplace_back(k, v);
  };
  const char* path = std::getenv("PATH");
  set("PATH", path ? path : "/usr/local/bin:/usr/bin:/bin");
  set("HOSTNAME", pod["spec"].value("hostname", pod["metadata"].value("name", "")));
  set("HOME", ctx.home);
  std::string host = ctx.api_host, port = std::to_string(ctx.api_port);
  set("KUBERNETES_SERVICE_HOST", host);
  set("KUBERNETES_SERVICE_PORT", port);
  set("KUBERNETES_SERVICE_PORT_HTTPS", port);
  set("KUBERNETES_PORT", "tcp://" + host + ":" + port);
  set("KUBERNETES_PORT_" + port + "_TCP", "tcp://" + host + ":" + port);
  set("KUBERNETES_PORT_" + port + "_TCP_PROTO", "tcp");
  set("KUBERNETES_PORT_" + port + "_TCP_PORT", port);
  set("KUBERNETES_PORT_" + port + "_TCP_ADDR", host);
  if (!ctx.service_account_dir.empty()) set("KINEMA_TEST_SERVICE_ACCOUNT_DIR", ctx.service_account_dir);

  for (const auto& from : c.value("envFrom", Json::array())) {
    std::string kind = from.contains("configMapRef") ? "ConfigMap" : from.contains("secretRef") ? "Secret" : "";
    if (kind.empty()) continue;
    const Json ref = from[kind == "ConfigMap" ? "configMapRef" : "secretRef"];
    auto data = ctx.lookup(kind, ref.value("name", ""));
    if (!data) {
      if (ref.value("optional", false)) continue;
      return Status::NotFound(kind == "ConfigMap" ? "configmap \"" + ref.value("name", "") + "\" not found"
                                                  : "secret \"" + ref.value("name", "") + "\" not found");
    }
    for (const auto& [k, v] : *data) set(from.value("prefix", "") + k, ctx.map_text(v));
  }
  for (const auto& e : c.value("env", Json::array())) {
    std::string name = e.value("name", "");
    if (name.empty()) continue;
    if (e.contains("value")) {
      set(name, ExpandVars(ctx.map_text(e["value"].is_string() ? e["value"].get<std::string>() : e["value"].dump()), vars));
      continue;
    }
    const Json from = e.value("valueFrom", Json::object());
    if (from.contains("fieldRef")) {
      auto v = FieldRef(pod, from["fieldRef"].value("fieldPath", ""));
      if (!v.ok()) return v.status();
      set(name, *v);
    } else if (from.contains("resourceFieldRef")) {
      auto v = ResourceFieldRef(c, from["resourceFieldRef"]);
      if (!v.ok()) return v.status();
      set(name, *v);
    } else if (from.contains("configMapKeyRef") || from.contains("secretKeyRef")) {
      bool cm = from.contains("configMapKeyRef");
      const Json ref = from[cm ? "configMapKeyRef" : "secretKeyRef"];
      auto data = ctx.lookup(cm ? "ConfigMap" : "Secret", ref.value("name", ""));
      std::string key = ref.value("key", "");
      if (!data || !data->count(key)) {
        if (ref.value("optional", false)) continue;
        return Status::NotFound(std::string(cm ? "configmap" : "secret") + " \"" + ref.value("name", "") + "\"" +
                                (data ? " has no key \"" + key + "\"" : " not found"));
      }
      set(name, ctx.map_text(data->at(key)));
    }
  }
  return env;
}

}  // namespace kinema::sim::runner
