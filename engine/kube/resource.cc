#include "engine/kube/resource.h"

#include <array>

namespace kinema::kube {

std::string ResourceKind::ApiVersion() const {
  if (group.empty()) return std::string(version);
  return std::string(group) + "/" + std::string(version);
}

std::string ResourceKind::QualifiedName() const {
  if (group.empty()) return std::string(plural);
  return std::string(plural) + "." + std::string(group);
}

std::string ResourceKind::Path(std::string_view ns, std::string_view name, std::string_view subresource) const {
  std::string p = group.empty() ? "/api/" + std::string(version)
                                : "/apis/" + std::string(group) + "/" + std::string(version);
  if (namespaced && !ns.empty()) {
    p += "/namespaces/";
    p += ns;
  }
  p += "/";
  p += plural;
  if (!name.empty()) {
    p += "/";
    p += name;
    if (!subresource.empty()) {
      p += "/";
      p += subresource;
    }
  }
  return p;
}

namespace resources {
const ResourceKind* Find(std::string_view plural_or_kind) {
  static constexpr std::array<const ResourceKind*, 11> kAll = {
      &kNodes,        &kPods,        &kEvents,     &kNamespaces, &kDeployments, &kReplicaSets,
      &kStatefulSets, &kDaemonSets,  &kHorizontalPodAutoscalers, &kPodDisruptionBudgets, &kLeases};
  for (const ResourceKind* k : kAll) {
    if (k->plural == plural_or_kind || k->kind == plural_or_kind) return k;
  }
  return nullptr;
}
}  // namespace resources

}  // namespace kinema::kube
