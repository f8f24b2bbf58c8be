// ResourceKind: a row of the table of API resources the client knows, and the
// REST paths built from it.
//
// Contract:
//   - Core ("" group) resources live under /api/v1, others under
//     /apis/<group>/<version>. Namespaced resources add
//     /namespaces/<ns>; an empty namespace on a namespaced kind means "all
//     namespaces" (valid for list/watch only).
//   - Path() never percent-encodes: Kubernetes names are DNS labels/subdomains
//     and cannot contain characters that need it.
// Thread-safety: immutable values.
#pragma once

#include <string>
#include <string_view>

namespace kinema::kube {

struct ResourceKind {
  std::string_view group;     // "" for core
  std::string_view version;   // "v1", "v2"
  std::string_view plural;    // "pods"
  std::string_view kind;      // "Pod"
  bool namespaced;

  // "v1" or "apps/v1".
  std::string ApiVersion() const;
  // "pods" or "deployments.apps" — for messages.
  std::string QualifiedName() const;
  // e.g. /api/v1/namespaces/shop/pods/cart-1/eviction
  std::string Path(std::string_view ns, std::string_view name = {}, std::string_view subresource = {}) const;
};

namespace resources {
inline constexpr ResourceKind kNodes{"", "v1", "nodes", "Node", false};
inline constexpr ResourceKind kPods{"", "v1", "pods", "Pod", true};
inline constexpr ResourceKind kEvents{"", "v1", "events", "Event", true};
inline constexpr ResourceKind kNamespaces{"", "v1", "namespaces", "Namespace", false};
inline constexpr ResourceKind kDeployments{"apps", "v1", "deployments", "Deployment", true};
inline constexpr ResourceKind kReplicaSets{"apps", "v1", "replicasets", "ReplicaSet", true};
inline constexpr ResourceKind kStatefulSets{"apps", "v1", "statefulsets", "StatefulSet", true};
inline constexpr ResourceKind kDaemonSets{"apps", "v1", "daemonsets", "DaemonSet", true};
inline constexpr ResourceKind kHorizontalPodAutoscalers{"autoscaling", "v2", "horizontalpodautoscalers",
                                                        "HorizontalPodAutoscaler", true};
inline constexpr ResourceKind kPodDisruptionBudgets{"policy", "v1", "poddisruptionbudgets", "PodDisruptionBudget",
                                                    true};
inline constexpr ResourceKind kLeases{"coordination.k8s.io", "v1", "leases", "Lease", true};
// The resource metrics API (what metrics-server serves; list/get only).
inline constexpr ResourceKind kPodMetrics{"metrics.k8s.io", "v1beta1", "pods", "PodMetrics", true};
// The Vertical Pod Autoscaler's custom resource (autoscaling.k8s.io/v1).
inline constexpr ResourceKind kVerticalPodAutoscalers{"autoscaling.k8s.io", "v1", "verticalpodautoscalers",
                                                      "VerticalPodAutoscaler", true};

// Looks a kind up by plural ("pods") or Kind ("Pod"); nullptr when unknown.
const ResourceKind* Find(std::string_view plural_or_kind);
}  // namespace resources

}  // namespace kinema::kube
