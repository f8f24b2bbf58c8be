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
}  // namespace pod

namespace node {
bool IsUnschedulable(const Json& n);       // spec.unschedulable
bool IsReady(const Json& n);
std::string Allocatable(const Json& n, const std::string& resource);  // e.g. "cpu" → "3920m"
std::string ProviderId(const Json& n);
}  // namespace node

}  // namespace kinema::kube
