// Thin read accessors over Kubernetes objects held as nlohmann::json.
//
// Contract: accessors never throw; a missing or mistyped field yields the
// zero value ("" / 0 / false / empty map). They read, never mutate.
// Thread-safety: pure functions over const objects.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace kinema::kube {

using Json = nlohmann::json;

namespace obj {
std::string Name(const Json& o);
std::string Namespace(const Json& o);
std::string Uid(const Json& o);
std::string ResourceVersion(const Json& o);
int64_t Generation(const Json& o);
std::map<std::string, std::string> Labels(const Json& o);
std::map<std::string, std::string> Annotations(const Json& o);
bool IsTerminating(const Json& o);  // metadata.deletionTimestamp set
// "ns/name", or "name" for cluster-scoped objects. The informer's cache key.
std::string Key(const Json& o);
// Kind of the controlling owner reference ("ReplicaSet", "DaemonSet", ...), or "".
std::string ControllerKind(const Json& o);
std::string ControllerName(const Json& o);
// Dotted path lookup, e.g. StringAt(pod, "spec.nodeName").
std::string StringAt(const Json& o, const std::string& dotted_path);
int64_t IntAt(const Json& o, const std::string& dotted_path);
}  // namespace obj

namespace pod {
std::string NodeName(const Json& p);
std::string Phase(const Json& p);          // Pending, Running, Succeeded, Failed, Unknown
bool IsReady(const Json& p);               // condition Ready=True
bool IsDaemonSetPod(const Json& p);
bool IsMirrorPod(const Json& p);           // kubernetes.io/config.mirror annotation
// Succeeded or Failed, or being deleted: it no longer counts as running work.
bool IsFinished(const Json& p);
// Pending or Running and not being deleted: it counts (schedulers, plans).
bool IsActive(const Json& p);
}  // namespace pod

namespace node {
bool IsUnschedulable(const Json& n);       // spec.unschedulable
bool IsReady(const Json& n);
std::string Allocatable(const Json& n, const std::string& resource);  // e.g. "cpu" → "3920m"
std::string ProviderId(const Json& n);
}  // namespace node

namespace selector {
// Does a metav1.LabelSelector (matchLabels + matchExpressions In / NotIn /
// Exists / DoesNotExist) select `labels` (a JSON object of strings)? An
// empty or absent selector selects nothing for workloads (`empty_selects_all`
// false) and everything for PodDisruptionBudgets (true), as in Kubernetes.
// A malformed selector (unknown operator, non-string values) selects nothing.
bool Matches(const Json& selector, const Json& labels, bool empty_selects_all);
}  // namespace selector

namespace pdb {
// Does the policy/v1 PDB select a pod with these labels (same namespace
// assumed)?
bool Selects(const Json& pdb, const Json& pod_labels);
}  // namespace pdb

namespace intstr {
// Kubernetes' IntOrString scaling (intstr.GetScaledValueFromIntOrPercent):
// "25%" of `total` rounded up or down, or the integer itself; `fallback`
// when absent or malformed.
int64_t Scaled(const Json& int_or_percent, int64_t total, bool round_up, int64_t fallback);
}  // namespace intstr

}  // namespace kinema::kube
