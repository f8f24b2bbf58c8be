#include "engine/snapshot/cluster_snapshot.h"

#include "engine/common/safe_json.h"
#include "storage/event.h"
#include "engine/common/time.h"

namespace kinema {

std::vector<nlohmann::json> ClusterSnapshot::items() const {
  const nlohmann::json* items = safe_json::FindArray(list, "items");
  return items == nullptr ? std::vector<nlohmann::json>{} : items->get<std::vector<nlohmann::json>>();
}

StatusOr<ClusterSnapshot> TakeClusterSnapshot(kube::Client& client) {
  using namespace kube::resources;
  const kube::ResourceKind* kinds[] = {&kNodes,       &kPods,       &kDeployments,
                                       &kReplicaSets, &kStatefulSets, &kDaemonSets,
                                       &kPodDisruptionBudgets, &kHorizontalPodAutoscalers};
  ClusterSnapshot snap;
  snap.taken_ms = NowMs();
  nlohmann::json items = nlohmann::json::array();
  for (const kube::ResourceKind* k : kinds) {
    auto list = client.List(*k, "");
    if (!list.ok()) return list.status().WithContext("snapshot: list " + k->QualifiedName());
    for (auto& item : list->items) {
      item["kind"] = std::string(k->kind);
      item["apiVersion"] = k->ApiVersion();
      items.push_back(std::move(item));
    }
    if (k == &kNodes) snap.nodes = static_cast<int>(list->items.size());
    if (k == &kPods) snap.pods = static_cast<int>(list->items.size());
  }
  snap.list = {{"apiVersion", "v1"}, {"kind", "List"}, {"items", std::move(items)}};
  return snap;
}

std::vector<kube::Permission> SnapshotPermissions() {
  using S = kube::PermissionScope;
  const std::string who = "TakeClusterSnapshot (engine/snapshot)";
  return {
      {"", "nodes", {"list"}, S::kCluster, {}, who},
      {"", "pods", {"list"}, S::kCluster, {}, who},
      {"apps", "deployments", {"list"}, S::kCluster, {}, who},
      {"apps", "replicasets", {"list"}, S::kCluster, {}, who},
      {"apps", "statefulsets", {"list"}, S::kCluster, {}, who},
      {"apps", "daemonsets", {"list"}, S::kCluster, {}, who},
      {"policy", "poddisruptionbudgets", {"list"}, S::kCluster, {}, who},
      {"autoscaling", "horizontalpodautoscalers", {"list"}, S::kCluster, {}, who},
  };
}

}  // namespace kinema
