#include "tools/kinema-sim/resource_types.h"

#include <algorithm>
#include <tuple>

#include "tools/kinema-sim/custom_resources.h"

namespace kinema::sim {

std::string ResourceType::ApiVersion() const {
  return group.empty() ? version : group + "/" + version;
}

std::string ResourceType::QualifiedName() const {
  return group.empty() ? plural : plural + "." + group;
}

const SubresourceType* ResourceType::FindSubresource(const std::string& name) const {
  for (const auto& s : subresources) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

namespace {

const std::vector<std::string> kAllVerbs = {"create", "delete", "deletecollection", "get",
                                            "list",   "patch",  "update",           "watch"};

SubresourceType Status(const std::string& kind) {
  return SubresourceType{"status", kind, "", "", {"get", "patch", "update"}};
}

SubresourceType Scale() {
  return SubresourceType{"scale", "Scale", "autoscaling", "v1", {"get", "patch", "update"}};
}

}  // namespace

ResourceRegistry::ResourceRegistry() {
  ResourceType ns{"", "v1", "namespaces", "namespace", "Namespace", false, false, true, {"ns"}, {}, {}};
  ns.subresources = {Status("Namespace")};
  types_.push_back(ns);

  ResourceType node{"", "v1", "nodes", "node", "Node", false, false, true, {"no"}, {}, {}};
  node.subresources = {Status("Node")};
  types_.push_back(node);

  ResourceType pod{"", "v1", "pods", "pod", "Pod", true, true, true, {"po"}, {"all"}, {}};
  pod.subresources = {
      Status("Pod"),
      SubresourceType{"eviction", "Eviction", "policy", "v1", {"create"}},
      SubresourceType{"resize", "Pod", "", "", {"get", "patch", "update"}},
      SubresourceType{"binding", "Binding", "", "", {"create"}},
      SubresourceType{"log", "Pod", "", "", {"get"}},  // issue 20: the run-image kubelet's container logs
  };
  types_.push_back(pod);

  types_.push_back(ResourceType{"", "v1", "events", "event", "Event", true, false, false, {"ev"}, {}, {}});

  ResourceType deploy{"apps", "v1", "deployments", "deployment", "Deployment", true, true, true,
                      {"deploy"}, {"all"}, {}};
  deploy.subresources = {Status("Deployment"), Scale()};
  types_.push_back(deploy);

  ResourceType rs{"apps", "v1", "replicasets", "replicaset", "ReplicaSet", true, true, true,
                  {"rs"}, {"all"}, {}};
  rs.subresources = {Status("ReplicaSet"), Scale()};
  types_.push_back(rs);

  ResourceType sts{"apps", "v1", "statefulsets", "statefulset", "StatefulSet", true, true, true,
                   {"sts"}, {"all"}, {}};
  sts.subresources = {Status("StatefulSet"), Scale()};
  types_.push_back(sts);

  ResourceType ds{"apps", "v1", "daemonsets", "daemonset", "DaemonSet", true, true, true,
                  {"ds"}, {"all"}, {}};
  ds.subresources = {Status("DaemonSet")};
  types_.push_back(ds);

  ResourceType hpa{"autoscaling", "v2", "horizontalpodautoscalers", "horizontalpodautoscaler",
                   "HorizontalPodAutoscaler", true, true, true, {"hpa"}, {"all"}, {}};
  hpa.subresources = {Status("HorizontalPodAutoscaler")};
  types_.push_back(hpa);

  ResourceType pdb{"policy", "v1", "poddisruptionbudgets", "poddisruptionbudget",
                   "PodDisruptionBudget", true, true, true, {"pdb"}, {}, {}};
  pdb.subresources = {Status("PodDisruptionBudget")};
  types_.push_back(pdb);

  types_.push_back(ResourceType{"coordination.k8s.io", "v1", "leases", "lease", "Lease", true, false,
                                false, {}, {}, {}});

  // -- custom resources (custom_resources.h): one entry per definition, and
  // the CustomResourceDefinition objects that describe them (`kubectl get crd`).
  ResourceType crds{"apiextensions.k8s.io", "v1", "customresourcedefinitions", "customresourcedefinition",
                    "CustomResourceDefinition", false, true, true, {"crd", "crds"}, {"api-extensions"}, {}};
  crds.subresources = {Status("CustomResourceDefinition")};
  types_.push_back(crds);
  for (const auto& crd : CustomResourceDefinitions()) types_.push_back(ToResourceType(crd));
  // -- custom resources end
  // --- issue 20: what `kubectl apply -k deploy/` creates and an in-cluster
  // controller reads (ServiceAccounts with the TokenRequest subresource,
  // Secrets, ConfigMaps, Services, PersistentVolume(Claim)s, RBAC) -----------
  ResourceType sa{"", "v1", "serviceaccounts", "serviceaccount", "ServiceAccount", true, false, false,
                  {"sa"}, {}, {}};
  sa.subresources = {SubresourceType{"token", "TokenRequest", "authentication.k8s.io", "v1", {"create"}}};
  types_.push_back(sa);
  types_.push_back(ResourceType{"", "v1", "secrets", "secret", "Secret", true, false, false, {}, {}, {}});
  types_.push_back(ResourceType{"", "v1", "configmaps", "configmap", "ConfigMap", true, false, false, {"cm"}, {}, {}});
  ResourceType svc{"", "v1", "services", "service", "Service", true, false, true, {"svc"}, {"all"}, {}};
  svc.subresources = {Status("Service")};
  types_.push_back(svc);
  ResourceType pvc{"", "v1", "persistentvolumeclaims", "persistentvolumeclaim", "PersistentVolumeClaim", true, false,
                   true, {"pvc"}, {}, {}};
  pvc.subresources = {Status("PersistentVolumeClaim")};
  types_.push_back(pvc);
  ResourceType pv{"", "v1", "persistentvolumes", "persistentvolume", "PersistentVolume", false, false, true,
                  {"pv"}, {}, {}};
  pv.subresources = {Status("PersistentVolume")};
  types_.push_back(pv);
  for (const auto& [plural, singular, kind, namespaced] :
       std::vector<std::tuple<std::string, std::string, std::string, bool>>{
           {"roles", "role", "Role", true},
           {"clusterroles", "clusterrole", "ClusterRole", false},
           {"rolebindings", "rolebinding", "RoleBinding", true},
           {"clusterrolebindings", "clusterrolebinding", "ClusterRoleBinding", false}}) {
    types_.push_back(
        ResourceType{"rbac.authorization.k8s.io", "v1", plural, singular, kind, namespaced, false, false, {}, {}, {}});
  }
  // deploy/'s least-privilege objects (issue 19): stored and served so that
  // `kubectl apply -k deploy/` validates and creates them; the simulator
  // neither enforces NetworkPolicies nor evaluates the policies' CEL.
  types_.push_back(ResourceType{"networking.k8s.io", "v1", "networkpolicies", "networkpolicy", "NetworkPolicy", true,
                                true, false, {"netpol"}, {}, {}});
  ResourceType vap{"admissionregistration.k8s.io", "v1", "validatingadmissionpolicies",
                   "validatingadmissionpolicy", "ValidatingAdmissionPolicy", false, true, true, {}, {"api-extensions"},
                   {}};
  vap.subresources = {Status("ValidatingAdmissionPolicy")};
  types_.push_back(vap);
  types_.push_back(ResourceType{"admissionregistration.k8s.io", "v1", "validatingadmissionpolicybindings",
                                "validatingadmissionpolicybinding", "ValidatingAdmissionPolicyBinding", false, true,
                                false, {}, {"api-extensions"}, {}});
  // --- end issue 20 ------------------------------------------------------------
}

const ResourceRegistry& ResourceRegistry::Default() {
  static const ResourceRegistry* registry = new ResourceRegistry();
  return *registry;
}

const ResourceType* ResourceRegistry::Find(const std::string& group, const std::string& version,
                                           const std::string& plural) const {
  for (const auto& t : types_) {
    if (t.group == group && t.version == version && t.plural == plural) return &t;
  }
  return nullptr;
}

const ResourceType* ResourceRegistry::FindByKind(const std::string& api_version,
                                                 const std::string& kind) const {
  for (const auto& t : types_) {
    if (t.kind == kind && t.ApiVersion() == api_version) return &t;
  }
  return nullptr;
}

const ResourceType* ResourceRegistry::FindByKindOnly(const std::string& kind) const {
  for (const auto& t : types_) {
    if (t.kind == kind) return &t;
  }
  return nullptr;
}

std::vector<std::pair<std::string, std::string>> ResourceRegistry::GroupVersions() const {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& t : types_) {
    if (t.group.empty()) continue;
    auto gv = std::make_pair(t.group, t.version);
    if (std::find(out.begin(), out.end(), gv) == out.end()) out.push_back(gv);
  }
  return out;
}

}  // namespace kinema::sim
