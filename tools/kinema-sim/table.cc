#include "tools/kinema-sim/table.h"

#include <map>

#include <nlohmann/json.hpp>

#include "tools/kinema-sim/custom_resources.h"

#include <cctype>
#include <string>

namespace kinema::sim {

namespace {

using Json = nlohmann::json;

struct Column {
  std::string name;
  std::string type;    // "string", "integer", "date"
  std::string format;  // "name" for the name column
  int priority;        // 0 shown by default, 1 with -o wide
};

std::vector<Column> ColumnsFor(const ResourceType& rt) {
  if (const CustomResourceDefinition* crd = FindCustomResource(rt)) {  // additionalPrinterColumns
    if (crd->printer_columns.empty()) return {{"Name", "string", "name", 0}, {"Age", "date", "", 0}};
    std::vector<Column> cols = {{"Name", "string", "name", 0}};
    for (const auto& c : crd->printer_columns) cols.push_back({c.name, c.type, "", c.priority});
    return cols;
  }
  if (rt.kind == "Node") {
    return {{"Name", "string", "name", 0}, {"Status", "string", "", 0}, {"Roles", "string", "", 0},
            {"Age", "string", "", 0},      {"Version", "string", "", 0}, {"Internal-IP", "string", "", 1},
            {"External-IP", "string", "", 1}, {"OS-Image", "string", "", 1}};
  }
  if (rt.kind == "Pod") {
    return {{"Name", "string", "name", 0}, {"Ready", "string", "", 0}, {"Status", "string", "", 0},
            {"Restarts", "string", "", 0}, {"Age", "string", "", 0},   {"IP", "string", "", 1},
            {"Node", "string", "", 1},     {"Nominated Node", "string", "", 1}, {"Readiness Gates", "string", "", 1}};
  }
  if (rt.kind == "Deployment") {
    return {{"Name", "string", "name", 0}, {"Ready", "string", "", 0}, {"Up-to-date", "integer", "", 0},
            {"Available", "integer", "", 0}, {"Age", "string", "", 0}};
  }
  if (rt.kind == "ReplicaSet") {
    return {{"Name", "string", "name", 0}, {"Desired", "integer", "", 0}, {"Current", "integer", "", 0},
            {"Ready", "integer", "", 0}, {"Age", "string", "", 0}};
  }
  if (rt.kind == "StatefulSet") return {{"Name", "string", "name", 0}, {"Ready", "string", "", 0}, {"Age", "string", "", 0}};
  if (rt.kind == "DaemonSet") {
    return {{"Name", "string", "name", 0},  {"Desired", "integer", "", 0},   {"Current", "integer", "", 0},
            {"Ready", "integer", "", 0},    {"Up-to-date", "integer", "", 0}, {"Available", "integer", "", 0},
            {"Node Selector", "string", "", 0}, {"Age", "string", "", 0}};
  }
  if (rt.kind == "PodDisruptionBudget") {
    return {{"Name", "string", "name", 0}, {"Min Available", "string", "", 0}, {"Max Unavailable", "string", "", 0},
            {"Allowed Disruptions", "integer", "", 0}, {"Age", "string", "", 0}};
  }
  if (rt.kind == "HorizontalPodAutoscaler") {
    return {{"Name", "string", "name", 0},   {"Reference", "string", "", 0}, {"Targets", "string", "", 0},
            {"MinPods", "string", "", 0},    {"MaxPods", "integer", "", 0},  {"Replicas", "integer", "", 0},
            {"Age", "string", "", 0}};
  }
  if (rt.kind == "Namespace") return {{"Name", "string", "name", 0}, {"Status", "string", "", 0}, {"Age", "string", "", 0}};
  if (rt.kind == "Lease") return {{"Name", "string", "name", 0}, {"Holder", "string", "", 0}, {"Age", "string", "", 0}};
  // issue 20: the in-cluster kinds, with kubectl's columns.
  if (rt.kind == "Secret") {
    return {{"Name", "string", "name", 0}, {"Type", "string", "", 0}, {"Data", "string", "", 0}, {"Age", "string", "", 0}};
  }
  if (rt.kind == "ConfigMap") return {{"Name", "string", "name", 0}, {"Data", "string", "", 0}, {"Age", "string", "", 0}};
  if (rt.kind == "Service") {
    return {{"Name", "string", "name", 0}, {"Type", "string", "", 0}, {"Cluster-IP", "string", "", 0},
            {"External-IP", "string", "", 0}, {"Port(s)", "string", "", 0}, {"Age", "string", "", 0}};
  }
  if (rt.kind == "PersistentVolumeClaim") {
    return {{"Name", "string", "name", 0}, {"Status", "string", "", 0}, {"Volume", "string", "", 0},
            {"Capacity", "string", "", 0}, {"Access Modes", "string", "", 0}, {"StorageClass", "string", "", 0},
            {"Age", "string", "", 0}};
  }
  if (rt.kind == "PersistentVolume") {
    return {{"Name", "string", "name", 0}, {"Capacity", "string", "", 0}, {"Access Modes", "string", "", 0},
            {"Reclaim Policy", "string", "", 0}, {"Status", "string", "", 0}, {"Claim", "string", "", 0},
            {"StorageClass", "string", "", 0}, {"Age", "string", "", 0}};
  }
  if (rt.kind == "RoleBinding" || rt.kind == "ClusterRoleBinding") {
    return {{"Name", "string", "name", 0}, {"Role", "string", "", 0}, {"Age", "string", "", 0}};
  }
  if (rt.kind == "Event") {
    return {{"Last Seen", "string", "", 0}, {"Type", "string", "", 0}, {"Reason", "string", "", 0},
            {"Object", "string", "", 0},    {"Message", "string", "", 0}, {"Name", "string", "name", 1}};
  }
  return {{"Name", "string", "name", 0}, {"Age", "string", "", 0}};
}

std::string Str(const Json& j, std::initializer_list<const char*> path, const std::string& def = "") {
  const Json* cur = &j;
  for (const char* p : path) {
    if (!cur->is_object() || !cur->contains(p)) return def;
    cur = &(*cur)[p];
  }
  if (cur->is_string()) return cur->get<std::string>();
  if (cur->is_number()) return cur->dump();
  return def;
}

long long Int(const Json& j, std::initializer_list<const char*> path) {
  const Json* cur = &j;
  for (const char* p : path) {
    if (!cur->is_object() || !cur->contains(p)) return 0;
    cur = &(*cur)[p];
  }
  return cur->is_number_integer() ? cur->get<long long>() : 0;
}

std::string Age(const Json& obj, const SimClock& clock, const char* field = "creationTimestamp") {
  SimClock::TimePoint t;
  std::string ts = Str(obj, {"metadata", field});
  if (ts.empty() || !SimClock::ParseTime(ts, &t)) return "<unknown>";
  return HumanDuration(std::chrono::duration<double>(clock.Now() - t).count());
}

std::string NodeStatus(const Json& n) {
  std::string status = "Unknown";
  if (n.contains("status") && n["status"].contains("conditions")) {
    for (const auto& c : n["status"]["conditions"]) {
      if (c.value("type", "") == "Ready") status = c.value("status", "") == "True" ? "Ready" : "NotReady";
    }
  }
  if (n.contains("spec") && n["spec"].value("unschedulable", false)) status += ",SchedulingDisabled";
  return status;
}

std::string NodeRoles(const Json& n) {
  std::string roles;
  if (n["metadata"].contains("labels")) {
    for (auto it = n["metadata"]["labels"].begin(); it != n["metadata"]["labels"].end(); ++it) {
      static const std::string kPrefix = "node-role.kubernetes.io/";
      if (it.key().rfind(kPrefix, 0) == 0) roles += (roles.empty() ? "" : ",") + it.key().substr(kPrefix.size());
    }
  }
  return roles.empty() ? "<none>" : roles;
}

std::string NodeAddress(const Json& n, const std::string& type) {
  if (n.contains("status") && n["status"].contains("addresses")) {
    for (const auto& a : n["status"]["addresses"]) {
      if (a.value("type", "") == type) return a.value("address", "<none>");
    }
  }
  return "<none>";
}

Json PodCells(const Json& p, const SimClock& clock) {
  const Json spec = p.value("spec", Json::object());
  const Json status = p.value("status", Json::object());
  size_t total = spec.contains("containers") ? spec["containers"].size() : 0;
  size_t ready = 0;
  long long restarts = 0;
  std::string reason = status.value("reason", status.value("phase", "Unknown"));
  if (status.contains("containerStatuses")) {
    for (const auto& cs : status["containerStatuses"]) {
      if (cs.value("ready", false)) ready++;
      restarts += cs.value("restartCount", 0LL);
      if (cs.contains("state") && cs["state"].contains("waiting")) {
        std::string r = cs["state"]["waiting"].value("reason", "");
        if (!r.empty()) reason = r;
      }
    }
  }
  if (p["metadata"].contains("deletionTimestamp")) reason = "Terminating";
  return Json::array({p["metadata"].value("name", ""), std::to_string(ready) + "/" + std::to_string(total), reason,
                      std::to_string(restarts), Age(p, clock), status.value("podIP", "<none>"),
                      spec.value("nodeName", "<none>"), status.value("nominatedNodeName", "<none>"), "<none>"});
}

// kubectl's TARGETS column (the server-side printer's formatHPAMetrics):
// "cpu: 45%/70%" per metric, the i-th status read against the i-th spec,
// "<unknown>" until the controller reports; at most two, then "+ N more...".
std::string HpaTargets(const Json& hpa) {
  const Json specs = hpa.contains("spec") ? hpa["spec"].value("metrics", Json::array()) : Json::array();
  const Json statuses = hpa.contains("status") ? hpa["status"].value("currentMetrics", Json::array()) : Json::array();
  if (!specs.is_array() || specs.empty()) return "<none>";
  auto value = [](const Json& j) -> std::string {
    if (j.is_string()) return j.get<std::string>();
    if (j.is_number()) return j.dump();
    return "";
  };
  std::string out;
  size_t shown = 0;
  for (size_t i = 0; i < specs.size(); ++i) {
    if (shown == 2) return out + " + " + std::to_string(specs.size() - shown) + " more...";
    const Json& spec = specs[i];
    const Json status = statuses.is_array() && i < statuses.size() ? statuses[i] : Json::object();
    std::string type = spec.value("type", "");
    std::string item;
    if (type == "Resource" || type == "ContainerResource") {
      const char* field = type == "Resource" ? "resource" : "containerResource";
      const Json src = spec.value(field, Json::object());
      const Json target = src.value("target", Json::object());
      const Json cur = status.contains(field) ? status[field].value("current", Json::object()) : Json::object();
      std::string current = "<unknown>", goal;
      if (target.contains("averageValue")) {
        if (cur.contains("averageValue")) current = value(cur["averageValue"]);
        goal = value(target["averageValue"]);
      } else {
        if (cur.contains("averageUtilization")) current = value(cur["averageUtilization"]) + "%";
        goal = target.contains("averageUtilization") ? value(target["averageUtilization"]) + "%" : "<auto>";
      }
      item = src.value("name", "") + ": " + current + "/" + goal;
    } else {
      // Pods, Object, External: the target's value against the current one.
      std::string field = type.empty() ? "" : std::string(1, static_cast<char>(std::tolower(type[0]))) + type.substr(1);
      const Json src = spec.value(field, Json::object());
      const Json target = src.value("target", Json::object());
      const Json cur = status.contains(field) ? status[field].value("current", Json::object()) : Json::object();
      const char* key = target.contains("averageValue") ? "averageValue" : "value";
      item = (cur.contains(key) ? value(cur[key]) : std::string("<unknown>")) + "/" +
             (target.contains(key) ? value(target[key]) : std::string("<unknown>"));
      if (target.contains("averageValue") && type != "Pods") item += " (avg)";
    }
    out += (out.empty() ? "" : ", ") + item;
    ++shown;
  }
  return out;
}

std::string IntOrString(const Json& spec, const char* key) {
  if (!spec.contains(key)) return "N/A";
  return spec[key].is_string() ? spec[key].get<std::string>() : spec[key].dump();
}

Json Cells(const StoredObject& o, const SimClock& clock) {
  const Json& b = o.body;
  const std::string name = b["metadata"].value("name", "");
  const std::string& kind = o.type->kind;
  if (const CustomResourceDefinition* crd = FindCustomResource(*o.type)) {
    Json cells = Json::array({name});
    if (crd->printer_columns.empty()) cells.push_back(Age(b, clock));
    for (const auto& c : crd->printer_columns) {
      // A date column is printed as an age, as kubectl does for CRD columns of type date.
      if (c.type == "date") {
        std::string ts = EvaluateJsonPath(b, c.json_path);
        SimClock::TimePoint t;
        cells.push_back(!ts.empty() && SimClock::ParseTime(ts, &t)
                            ? Json(HumanDuration(std::chrono::duration<double>(clock.Now() - t).count()))
                            : Json("<unknown>"));
      } else {
        std::string v = EvaluateJsonPath(b, c.json_path);
        cells.push_back(v.empty() ? Json(nullptr) : Json(v));
      }
    }
    return cells;
  }
  if (kind == "Node") {
    return Json::array({name, NodeStatus(b), NodeRoles(b), Age(b, clock), Str(b, {"status", "nodeInfo", "kubeletVersion"}),
                        NodeAddress(b, "InternalIP"), NodeAddress(b, "ExternalIP"),
                        Str(b, {"status", "nodeInfo", "osImage"}, "<unknown>")});
  }
  if (kind == "Pod") return PodCells(b, clock);
  if (kind == "Deployment") {
    return Json::array({name,
                        std::to_string(Int(b, {"status", "readyReplicas"})) + "/" + std::to_string(Int(b, {"spec", "replicas"})),
                        Int(b, {"status", "updatedReplicas"}), Int(b, {"status", "availableReplicas"}), Age(b, clock)});
  }
  if (kind == "ReplicaSet") {
    return Json::array({name, Int(b, {"spec", "replicas"}), Int(b, {"status", "replicas"}), Int(b, {"status", "readyReplicas"}),
                        Age(b, clock)});
  }
  if (kind == "StatefulSet") {
    return Json::array({name, std::to_string(Int(b, {"status", "readyReplicas"})) + "/" + std::to_string(Int(b, {"spec", "replicas"})),
                        Age(b, clock)});
  }
  if (kind == "DaemonSet") {
    std::string sel = "<none>";
    if (b.contains("spec") && b["spec"].contains("template") && b["spec"]["template"].contains("spec") &&
        b["spec"]["template"]["spec"].contains("nodeSelector")) {
      sel.clear();
      for (auto it = b["spec"]["template"]["spec"]["nodeSelector"].begin(); it != b["spec"]["template"]["spec"]["nodeSelector"].end(); ++it) {
        sel += (sel.empty() ? "" : ",") + it.key() + "=" + (it.value().is_string() ? it.value().get<std::string>() : "");
      }
    }
    return Json::array({name, Int(b, {"status", "desiredNumberScheduled"}), Int(b, {"status", "currentNumberScheduled"}),
                        Int(b, {"status", "numberReady"}), Int(b, {"status", "updatedNumberScheduled"}),
                        Int(b, {"status", "numberAvailable"}), sel, Age(b, clock)});
  }
  if (kind == "PodDisruptionBudget") {
    const Json spec = b.value("spec", Json::object());
    return Json::array({name, IntOrString(spec, "minAvailable"), IntOrString(spec, "maxUnavailable"),
                        Int(b, {"status", "disruptionsAllowed"}), Age(b, clock)});
  }
  if (kind == "HorizontalPodAutoscaler") {
    return Json::array({name,
                        Str(b, {"spec", "scaleTargetRef", "kind"}) + "/" + Str(b, {"spec", "scaleTargetRef", "name"}),
                        HpaTargets(b), Str(b, {"spec", "minReplicas"}, "1"), Int(b, {"spec", "maxReplicas"}),
                        Int(b, {"status", "currentReplicas"}), Age(b, clock)});
  }
  if (kind == "Namespace") return Json::array({name, Str(b, {"status", "phase"}, "Active"), Age(b, clock)});
  if (kind == "Lease") return Json::array({name, Str(b, {"spec", "holderIdentity"}, "<none>"), Age(b, clock)});
  if (kind == "Secret" || kind == "ConfigMap") {
    size_t n = 0;
    for (const char* f : {"data", "binaryData"}) {
      if (b.contains(f) && b[f].is_object()) n += b[f].size();
    }
    if (kind == "ConfigMap") return Json::array({name, static_cast<int64_t>(n), Age(b, clock)});
    return Json::array({name, Str(b, {"type"}, "Opaque"), static_cast<int64_t>(n), Age(b, clock)});
  }
  if (kind == "Service") {
    std::string ports;
    for (const auto& p : b.value("spec", Json::object()).value("ports", Json::array())) {
      if (!p.is_object()) continue;
      ports += (ports.empty() ? "" : ",") + p.value("port", Json(0)).dump() + "/" + p.value("protocol", "TCP");
    }
    return Json::array({name, Str(b, {"spec", "type"}, "ClusterIP"), Str(b, {"spec", "clusterIP"}, "<none>"), "<none>",
                        ports.empty() ? "<none>" : ports, Age(b, clock)});
  }
  if (kind == "PersistentVolumeClaim" || kind == "PersistentVolume") {
    std::string modes;
    const Json& am = kind == "PersistentVolume" ? b.value("spec", Json::object()).value("accessModes", Json::array())
                                                 : b.value("status", Json::object()).value("accessModes", Json::array());
    static const std::map<std::string, std::string> kShort = {
        {"ReadWriteOnce", "RWO"}, {"ReadOnlyMany", "ROX"}, {"ReadWriteMany", "RWX"}, {"ReadWriteOncePod", "RWOP"}};
    for (const auto& m : am) {
      auto it = kShort.find(m.is_string() ? m.get<std::string>() : "");
      if (it != kShort.end()) modes += (modes.empty() ? "" : ",") + it->second;
    }
    if (kind == "PersistentVolumeClaim") {
      return Json::array({name, Str(b, {"status", "phase"}), Str(b, {"spec", "volumeName"}),
                          Str(b, {"status", "capacity", "storage"}), modes, Str(b, {"spec", "storageClassName"}, "<unset>"),
                          Age(b, clock)});
    }
    std::string claim = Str(b, {"spec", "claimRef", "namespace"}) + "/" + Str(b, {"spec", "claimRef", "name"});
    return Json::array({name, Str(b, {"spec", "capacity", "storage"}), modes,
                        Str(b, {"spec", "persistentVolumeReclaimPolicy"}), Str(b, {"status", "phase"}),
                        claim == "/" ? "" : claim, Str(b, {"spec", "storageClassName"}), Age(b, clock)});
  }
  if (kind == "RoleBinding" || kind == "ClusterRoleBinding") {
    return Json::array({name, Str(b, {"roleRef", "kind"}) + "/" + Str(b, {"roleRef", "name"}), Age(b, clock)});
  }
  if (kind == "Event") {
    std::string last = Str(b, {"lastTimestamp"});
    SimClock::TimePoint t;
    std::string seen = !last.empty() && SimClock::ParseTime(last, &t)
                           ? HumanDuration(std::chrono::duration<double>(clock.Now() - t).count())
                           : Age(b, clock);
    std::string object = Str(b, {"involvedObject", "kind"});
    for (auto& c : object) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return Json::array({seen, Str(b, {"type"}), Str(b, {"reason"}), object + "/" + Str(b, {"involvedObject", "name"}),
                        Str(b, {"message"}), name});
  }
  return Json::array({name, Age(b, clock)});
}

Json Row(const StoredObject& o, TableObjects include, const SimClock& clock) {
  Json row = {{"cells", Cells(o, clock)}};
  if (include == TableObjects::kObject) {
    row["object"] = o.body;
  } else if (include == TableObjects::kMetadata) {
    row["object"] = {{"kind", "PartialObjectMetadata"}, {"apiVersion", "meta.k8s.io/v1"}, {"metadata", o.body["metadata"]}};
  }
  return row;
}

Json ColumnDefinitions(const ResourceType& rt) {
  Json cols = Json::array();
  for (const auto& c : ColumnsFor(rt)) {
    cols.push_back({{"name", c.name}, {"type", c.type}, {"format", c.format}, {"description", c.name}, {"priority", c.priority}});
  }
  return cols;
}

}  // namespace

bool WantsTable(const std::string& accept) { return accept.find("as=Table") != std::string::npos; }

TableObjects ParseIncludeObject(const std::string& v) {
  if (v == "None") return TableObjects::kNone;
  if (v == "Object") return TableObjects::kObject;
  return TableObjects::kMetadata;
}

std::string RenderTable(const ResourceType& rt, const std::vector<ObjectPtr>& items, uint64_t list_rv,
                        const std::string& continue_token, TableObjects include, const SimClock& clock) {
  Json rows = Json::array();
  for (const auto& o : items) rows.push_back(Row(*o, include, clock));
  Json md = {{"resourceVersion", std::to_string(list_rv)}};
  if (!continue_token.empty()) md["continue"] = continue_token;
  return Json{{"kind", "Table"}, {"apiVersion", "meta.k8s.io/v1"}, {"metadata", md},
              {"columnDefinitions", ColumnDefinitions(rt)}, {"rows", rows}}
      .dump();
}

std::string RenderTableRow(const StoredObject& obj, TableObjects include, const SimClock& clock) {
  return Json{{"kind", "Table"},
              {"apiVersion", "meta.k8s.io/v1"},
              {"metadata", {{"resourceVersion", std::to_string(obj.rv)}}},
              {"columnDefinitions", ColumnDefinitions(*obj.type)},
              {"rows", Json::array({Row(obj, include, clock)})}}
      .dump();
}

std::string HumanDuration(double seconds) {
  char buf[64];
  long long s = static_cast<long long>(seconds);
  if (seconds < -1) return "<invalid>";
  if (s < 0) return "0s";
  if (s < 120) {
    std::snprintf(buf, sizeof(buf), "%llds", s);
    return buf;
  }
  long long m = s / 60;
  if (m < 10) {
    if (s % 60 == 0) std::snprintf(buf, sizeof(buf), "%lldm", m);
    else std::snprintf(buf, sizeof(buf), "%lldm%llds", m, s % 60);
    return buf;
  }
  if (m < 180) {
    std::snprintf(buf, sizeof(buf), "%lldm", m);
    return buf;
  }
  long long h = s / 3600;
  if (h < 8) {
    if (m % 60 == 0) std::snprintf(buf, sizeof(buf), "%lldh", h);
    else std::snprintf(buf, sizeof(buf), "%lldh%lldm", h, m % 60);
    return buf;
  }
  if (h < 48) {
    std::snprintf(buf, sizeof(buf), "%lldh", h);
    return buf;
  }
  if (h < 192) {
    if (h % 24 == 0) std::snprintf(buf, sizeof(buf), "%lldd", h / 24);
    else std::snprintf(buf, sizeof(buf), "%lldd%lldh", h / 24, h % 24);
    return buf;
  }
  long long d = h / 24;
  if (d < 730) {
    std::snprintf(buf, sizeof(buf), "%lldd", d);
    return buf;
  }
  std::snprintf(buf, sizeof(buf), "%lldy%lldd", d / 365, d % 365);
  return buf;
}

}  // namespace kinema::sim
