// Custom resources: one generic facility that serves every CustomResource
// kind the simulator knows (VerticalPodAutoscaler, the seed environment's
// VirtualMachine, ...) the way the apiserver's apiextensions handler serves
// a CRD. A kind is one CustomResourceDefinition value in the table
// (custom_resource_definitions.cc): adding a CR is adding one definition.
//
// What the table drives (each through the ordinary code path of the kind
// table in resource_types.h, which appends one ResourceType per definition):
//   - routing, the store, watch, list, get, create/update/delete, JSON and
//     merge patch (strategic merge patch is 415, as for real CRs),
//     snapshot loading, discovery (/apis/G/V with short names, categories
//     and the status subresource), OpenAPI v3 paths;
//   - admission: defaults from the schema (`default`, applied only inside
//     objects that exist, like structural-schema defaulting) and validation
//     (type, required, enum, minimum/maximum, nullable,
//     x-kubernetes-int-or-string; 422 Invalid with one cause per field,
//     in the apiserver's wording). Unknown fields are kept (the simulator
//     does not prune);
//   - the status subresource: main-resource writes keep status, /status
//     writes keep the rest, metadata.generation moves on spec changes only;
//     status given on create is dropped;
//   - server-side printing: `additionalPrinterColumns` with kubectl's
//     JSONPath subset (`.a.b`, `[N]`, `[*]`, `[?(@.k=='v')]`), NAME first;
//     without columns, NAME and AGE (what the apiserver does).
// Thread-safety: the table is immutable after first use; all functions are
// pure.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "tools/kinema-sim/api_error.h"
#include "tools/kinema-sim/resource_types.h"

namespace kinema::sim {

struct PrinterColumn {
  std::string name;       // "Mode"
  std::string type;       // "string", "integer", "number", "boolean", "date"
  std::string json_path;  // ".spec.updatePolicy.updateMode"
  std::string description;
  int priority = 0;       // 0 shown by default, 1 with -o wide
};

struct CustomResourceDefinition {
  std::string group;     // "autoscaling.k8s.io"
  std::string version;   // "v1"
  std::string plural;    // "verticalpodautoscalers"
  std::string singular;  // "verticalpodautoscaler"
  std::string kind;      // "VerticalPodAutoscaler"
  bool namespaced = true;
  std::vector<std::string> short_names;
  std::vector<std::string> categories;
  bool status_subresource = true;
  std::vector<PrinterColumn> printer_columns;
  nlohmann::json schema;  // openAPIV3Schema of the object (type: object, properties: spec, status, ...)

  // "verticalpodautoscalers.autoscaling.k8s.io"
  std::string CrdName() const { return plural + "." + group; }
};

// The definitions served (custom_resource_definitions.cc).
const std::vector<CustomResourceDefinition>& CustomResourceDefinitions();
// The definition behind a served kind; nullptr for built-in kinds.
const CustomResourceDefinition* FindCustomResource(const ResourceType& rt);
// The kind-table entry for a definition.
ResourceType ToResourceType(const CustomResourceDefinition& crd);
// The apiextensions.k8s.io/v1 CustomResourceDefinition object describing it.
nlohmann::json CrdObject(const CustomResourceDefinition& crd);

// Structural-schema defaulting of a whole object (never overwrites).
void ApplySchemaDefaults(const CustomResourceDefinition& crd, nlohmann::json& obj);
// Schema validation of everything but apiVersion/kind/metadata.
std::vector<StatusCause> ValidateAgainstSchema(const CustomResourceDefinition& crd, const nlohmann::json& obj);

// kubectl's JSONPath subset used by printer columns; "" when the path
// selects nothing (printed as "<none>" by the table code when asked).
std::string EvaluateJsonPath(const nlohmann::json& obj, const std::string& path);

}  // namespace kinema::sim
