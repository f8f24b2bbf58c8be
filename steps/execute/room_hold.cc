#include "steps/execute/room_hold.h"

#include <algorithm>
#include <cstdio>
#include <set>

namespace kinema::execute {

using nlohmann::json;

json RoomHold::ToJson() const {
  return {{"deployment", deployment}, {"node", node}, {"pods", pods},
          {"cpuMilli", requests.cpu_milli}, {"memoryBytes", requests.memory_bytes}};
}

StatusOr<RoomHold> RoomHold::FromJson(const json& j) {
  if (!j.is_object()) return Status::Corruption("room hold: not an object");
  RoomHold h;
  auto str = [&](const char* k, std::string* out) -> Status {
    auto it = j.find(k);
    if (it == j.end() || !it->is_string() || it->get<std::string>().empty()) {
      return Status::Corruption(std::string("room hold: missing or empty \"") + k + "\"");
    }
    *out = it->get<std::string>();
    return Status::OK();
  };
  auto num = [&](const char* k, int64_t* out) -> Status {
    auto it = j.find(k);
    if (it == j.end() || !it->is_number_integer() || it->get<int64_t>() < 0) {
      return Status::Corruption(std::string("room hold: \"") + k + "\" is not a non-negative integer");
    }
    *out = it->get<int64_t>();
    return Status::OK();
  };
  KINEMA_RETURN_IF_ERROR(str("deployment", &h.deployment));
  KINEMA_RETURN_IF_ERROR(str("node", &h.node));
  int64_t pods = 0;
  KINEMA_RETURN_IF_ERROR(num("pods", &pods));
  KINEMA_RETURN_IF_ERROR(num("cpuMilli", &h.requests.cpu_milli));
  KINEMA_RETURN_IF_ERROR(num("memoryBytes", &h.requests.memory_bytes));
  if (pods < 1 || pods > 100000) return Status::Corruption("room hold: \"pods\" out of range");
  h.pods = static_cast<int>(pods);
  return h;
}

namespace {

bool Heavy(const Resources& pod, const Resources& node, double share) {
  return (node.cpu_milli > 0 && static_cast<double>(pod.cpu_milli) >= share * static_cast<double>(node.cpu_milli)) ||
         (node.memory_bytes > 0 &&
          static_cast<double>(pod.memory_bytes) >= share * static_cast<double>(node.memory_bytes));
}

// FNV-1a 64: stable across builds and platforms (std::hash is not).
uint64_t Fnv1a(const std::string& s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

}  // namespace

std::vector<RoomHold> PlanRoomHolds(const std::map<std::string, HoldInput>& deployments,
                                    const std::map<std::string, Resources>& allocatable, double heavy_share) {
  std::vector<RoomHold> out;
  if (heavy_share <= 0) return out;
  for (const auto& [d, in] : deployments) {
    for (const auto& [node, planned] : in.planned) {
      auto alloc = allocatable.find(node);
      if (alloc == allocatable.end() || !Heavy(in.pod, alloc->second, heavy_share)) continue;
      auto now = in.current.find(node);
      const int adds = planned - (now == in.current.end() ? 0 : now->second);
      if (adds <= 0) continue;
      RoomHold h{d, node, adds, {}};
      h.requests.cpu_milli = in.pod.cpu_milli * adds;
      h.requests.memory_bytes = in.pod.memory_bytes * adds;
      out.push_back(h);
    }
  }
  return out;  // std::map iteration: by Deployment, then node
}

std::string RoomHoldName(const std::string& iteration, const RoomHold& hold) {
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx",
                static_cast<unsigned long long>(Fnv1a(iteration + "\n" + hold.deployment + "\n" + hold.node)));
  return "kinema-hold-" + std::string(hex, 10);
}

json RoomHoldPod(const std::string& ns, const std::string& iteration, const RoomHold& hold, int64_t deadline_s) {
  json resources = {{"cpu", std::to_string(hold.requests.cpu_milli) + "m"},
                    {"memory", std::to_string(hold.requests.memory_bytes)}};
  return {
      {"apiVersion", "v1"},
      {"kind", "Pod"},
      {"metadata",
       {{"name", RoomHoldName(iteration, hold)},
        {"namespace", ns},
        {"labels", {{kRoomHoldLabel, iteration}, {"app.kubernetes.io/managed-by", "kinema"}}},
        {"annotations",
         {{kRoomHoldDeploymentAnnotation, hold.deployment},
          {"kinema.io/room-hold-pods", std::to_string(hold.pods)}}}}},
      {"spec",
       {{"nodeName", hold.node},
        {"restartPolicy", "Never"},
        {"terminationGracePeriodSeconds", 0},
        {"activeDeadlineSeconds", deadline_s},
        {"automountServiceAccountToken", false},
        {"enableServiceLinks", false},
        {"tolerations", json::array({{{"operator", "Exists"}}})},
        {"securityContext", {{"runAsNonRoot", true}, {"runAsUser", 65535}, {"seccompProfile", {{"type", "RuntimeDefault"}}}}},
        {"containers",
         json::array({{{"name", "hold"},
                       {"image", kRoomHoldImage},
                       {"resources", {{"requests", resources}, {"limits", resources}}},
                       {"securityContext",
                        {{"allowPrivilegeEscalation", false},
                         {"readOnlyRootFilesystem", true},
                         {"capabilities", {{"drop", json::array({"ALL"})}}}}}}})}}}};
}

std::string RoomText(const Resources& r) {
  return std::to_string(r.cpu_milli) + "m/" + std::to_string(r.memory_bytes >> 20) + "Mi";
}

std::string WhyNoRoomForHold(const RoomHold& hold, const std::map<std::string, Resources>& free) {
  auto room = free.find(hold.node);
  if (room == free.end()) return "node " + hold.node + " is gone, not Ready or cordoned";
  if (room->second.cpu_milli >= hold.requests.cpu_milli && room->second.memory_bytes >= hold.requests.memory_bytes) {
    return "";
  }
  return "node " + hold.node + " has " + RoomText(room->second) + " free, the hold needs " + RoomText(hold.requests);
}

std::vector<std::vector<std::string>> RolloutWaves(const std::vector<std::string>& keys, size_t batch,
                                                   const std::vector<RoomHold>& holds) {
  std::set<std::string> held;
  for (const auto& h : holds) held.insert(h.deployment);
  std::vector<std::vector<std::string>> waves;
  bool last_held = false;
  for (const auto& k : keys) {
    const bool is_held = held.count(k) > 0;
    if (waves.empty() || is_held || last_held || waves.back().size() >= batch) waves.emplace_back();
    waves.back().push_back(k);
    last_held = is_held;
  }
  return waves;
}

int64_t RoomHoldDeadlineSeconds(const std::vector<std::vector<std::string>>& waves, const std::string& deployment,
                                int64_t rollout_timeout_s) {
  size_t turn = 0;
  while (turn < waves.size() && std::find(waves[turn].begin(), waves[turn].end(), deployment) == waves[turn].end()) {
    ++turn;
  }
  return (static_cast<int64_t>(turn) + 1) * rollout_timeout_s + 60;
}

}  // namespace kinema::execute
