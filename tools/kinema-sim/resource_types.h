// ResourceType / ResourceRegistry: the fixed table of Kubernetes resources the
// simulator serves (group, version, plural, kind, scope, subresources).
//
// Contract:
//   - The registry is immutable after construction; Default() is a process-wide
//     singleton, safe to read from any thread.
//   - Discovery, routing, the store and the snapshot loader all read this one
//     table, so adding a kind here makes it served everywhere.
#pragma once

#include <string>
#include <vector>

namespace kinema::sim {

struct SubresourceType {
  std::string name;                // "status", "eviction", "resize", "scale", "binding"
  std::string kind;                // kind of the body ("Pod", "Eviction", "Scale", ...)
  std::string group;               // group of that kind when it differs ("policy", "autoscaling")
  std::string version;             // version of that kind when it differs
  std::vector<std::string> verbs;  // "get", "update", "patch", "create"
};

struct ResourceType {
  std::string group;    // "" for the core group
  std::string version;  // "v1", "v2"
  std::string plural;   // "pods"
  std::string singular; // "pod"
  std::string kind;     // "Pod"
  bool namespaced = true;
  bool uses_generation = false;  // metadata.generation bumped on spec changes
  bool has_status = false;       // has a /status subresource (main PUT keeps status)
  std::vector<std::string> short_names;
  std::vector<std::string> categories;
  std::vector<SubresourceType> subresources;

  // "v1" or "apps/v1".
  std::string ApiVersion() const;
  // "pods" or "deployments.apps": the name used in Status details and messages.
  std::string QualifiedName() const;
  // "PodList".
  std::string ListKind() const { return kind + "List"; }
  const SubresourceType* FindSubresource(const std::string& name) const;
};

class ResourceRegistry {
 public:
  static const ResourceRegistry& Default();

  const std::vector<ResourceType>& All() const { return types_; }
  // Lookup by URL coordinates; nullptr when not served.
  const ResourceType* Find(const std::string& group, const std::string& version,
                           const std::string& plural) const;
  // Lookup by an object's apiVersion + kind; nullptr when not served.
  const ResourceType* FindByKind(const std::string& api_version, const std::string& kind) const;
  // Lookup by kind only (first match); used for snapshots whose items omit apiVersion.
  const ResourceType* FindByKindOnly(const std::string& kind) const;
  // Group versions served, core ("v1") excluded: {"apps","v1"}, ...
  std::vector<std::pair<std::string, std::string>> GroupVersions() const;

 private:
  ResourceRegistry();
  std::vector<ResourceType> types_;
};

}  // namespace kinema::sim
