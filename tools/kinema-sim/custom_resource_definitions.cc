// The custom resources kinema-sim serves (custom_resources.h). Adding a CR
// kind is adding one definition below; routing, storage, watch, patch,
// discovery, OpenAPI, printing and snapshot loading follow from it.
#include "tools/kinema-sim/custom_resources.h"

namespace kinema::sim {

namespace {

using Json = nlohmann::json;

Json Str() { return {{"type", "string"}}; }
Json StrDefault(const char* d) { return {{"type", "string"}, {"default", d}}; }
Json Bool() { return {{"type", "boolean"}}; }
Json Obj(Json properties, std::vector<std::string> required = {}) {
  Json o = {{"type", "object"}, {"properties", std::move(properties)}};
  if (!required.empty()) o["required"] = required;
  return o;
}
Json ArrayOf(Json items) { return {{"type", "array"}, {"items", std::move(items)}}; }
// A ResourceList: resource name -> quantity (int-or-string).
Json ResourceList() {
  return {{"type", "object"}, {"additionalProperties", {{"x-kubernetes-int-or-string", true}}}};
}
Json Enum(std::vector<std::string> values) { return {{"type", "string"}, {"enum", values}}; }
Json Conditions() {
  return ArrayOf(Obj({{"type", Str()},
                      {"status", Str()},
                      {"lastTransitionTime", Str()},
                      {"lastProbeTime", {{"type", "string"}, {"nullable", true}}},
                      {"reason", Str()},
                      {"message", Str()}},
                     {"type", "status"}));
}

// autoscaling.k8s.io/v1 VerticalPodAutoscaler, after the upstream CRD
// (kubernetes/autoscaler vertical-pod-autoscaler/deploy/vpa-v1-crd-gen.yaml):
// spec.targetRef required; updatePolicy.updateMode Off | Initial | Recreate |
// InPlaceOrRecreate | Auto; resourcePolicy.containerPolicies[] with
// minAllowed/maxAllowed, mode Auto | Off, controlledResources,
// controlledValues; status.recommendation.containerRecommendations[] with
// target, lowerBound, upperBound, uncappedTarget; conditions. Printer
// columns as upstream's: MODE, CPU, MEM, PROVIDED, AGE.
CustomResourceDefinition VerticalPodAutoscaler() {
  CustomResourceDefinition d;
  d.group = "autoscaling.k8s.io";
  d.version = "v1";
  d.plural = "verticalpodautoscalers";
  d.singular = "verticalpodautoscaler";
  d.kind = "VerticalPodAutoscaler";
  d.short_names = {"vpa"};
  d.printer_columns = {
      {"Mode", "string", ".spec.updatePolicy.updateMode", "", 0},
      {"CPU", "string", ".status.recommendation.containerRecommendations[0].target.cpu", "", 0},
      {"Mem", "string", ".status.recommendation.containerRecommendations[0].target.memory", "", 0},
      {"Provided", "string", ".status.conditions[?(@.type=='RecommendationProvided')].status", "", 0},
      {"Age", "date", ".metadata.creationTimestamp", "", 0},
  };
  Json target_ref = Obj({{"apiVersion", Str()}, {"kind", Str()}, {"name", Str()}}, {"kind", "name"});
  Json container_policy = Obj({{"containerName", Str()},
                               {"mode", Enum({"Auto", "Off"})},
                               {"minAllowed", ResourceList()},
                               {"maxAllowed", ResourceList()},
                               {"controlledResources", ArrayOf(Enum({"cpu", "memory"}))},
                               {"controlledValues", Enum({"RequestsAndLimits", "RequestsOnly"})}});
  Json spec = Obj({{"targetRef", target_ref},
                   {"updatePolicy",
                    Obj({{"updateMode", Enum({"Off", "Initial", "Recreate", "InPlaceOrRecreate", "Auto"})},
                         {"minReplicas", {{"type", "integer"}, {"minimum", 1}}},
                         {"evictionRequirements",
                          ArrayOf(Obj({{"resources", ArrayOf(Str())},
                                       {"changeRequirement", Enum({"TargetHigherThanRequests",
                                                                    "TargetLowerThanRequests"})}}))}})},
                   {"resourcePolicy", Obj({{"containerPolicies", ArrayOf(container_policy)}})},
                   {"recommenders", ArrayOf(Obj({{"name", Str()}}, {"name"}))}},
                  {"targetRef"});
  Json recommendation = Obj({{"containerName", Str()},
                             {"target", ResourceList()},
                             {"lowerBound", ResourceList()},
                             {"upperBound", ResourceList()},
                             {"uncappedTarget", ResourceList()}},
                            {"target"});
  Json status = Obj({{"recommendation", Obj({{"containerRecommendations", ArrayOf(recommendation)}})},
                     {"conditions", Conditions()}});
  d.schema = Obj({{"apiVersion", Str()}, {"kind", Str()}, {"metadata", {{"type", "object"}}},
                  {"spec", spec}, {"status", status}},
                 {"spec"});
  return d;
}

// simulation.node-classifier.io/v1alpha1 VirtualMachine, the seed
// environment's CRD (../../../shared/research/rebalance-algorithms.md §3):
// spec.resources.{cpu, memory} required; utilization.{cpu, memory} strings
// defaulting to "0.5" / "0.8"; migration.dirtyRateMbps (default 800);
// running. Status: phase, nodeName, evacuationNodeName, podName,
// allocatedCpu/Memory, cpu/memoryUtilization, conditions, createdAt.
CustomResourceDefinition VirtualMachine() {
  CustomResourceDefinition d;
  d.group = "simulation.node-classifier.io";
  d.version = "v1alpha1";
  d.plural = "virtualmachines";
  d.singular = "virtualmachine";
  d.kind = "VirtualMachine";
  d.short_names = {"vm", "vms"};
  d.printer_columns = {
      {"Phase", "string", ".status.phase", "", 0},
      {"Node", "string", ".status.nodeName", "", 0},
      {"Evacuation", "string", ".status.evacuationNodeName", "node being evacuated", 0},
      {"CPU", "string", ".spec.resources.cpu", "", 0},
      {"Memory", "string", ".spec.resources.memory", "", 0},
      {"Pod", "string", ".status.podName", "", 1},
      {"Age", "date", ".metadata.creationTimestamp", "", 0},
  };
  Json spec = Obj({{"resources", Obj({{"cpu", Str()}, {"memory", Str()}}, {"cpu", "memory"})},
                   {"utilization", {{"type", "object"},
                                    {"default", Json::object()},
                                    {"properties", {{"cpu", StrDefault("0.5")}, {"memory", StrDefault("0.8")}}}}},
                   {"migration", {{"type", "object"},
                                  {"default", Json::object()},
                                  {"properties", {{"dirtyRateMbps", {{"type", "integer"}, {"minimum", 0},
                                                                     {"default", 800}}}}}}},
                   {"running", Bool()}},
                  {"resources"});
  Json status = Obj({{"phase", Enum({"Pending", "Scheduling", "Scheduled", "Running", "Failed"})},
                     {"nodeName", {{"type", "string"}, {"nullable", true}}},
                     {"evacuationNodeName", {{"type", "string"}, {"nullable", true}}},
                     {"podName", {{"type", "string"}, {"nullable", true}}},
                     {"allocatedCpu", Str()},
                     {"allocatedMemory", Str()},
                     {"cpuUtilization", Str()},
                     {"memoryUtilization", Str()},
                     {"conditions", Conditions()},
                     {"createdAt", Str()}});
  d.schema = Obj({{"apiVersion", Str()}, {"kind", Str()}, {"metadata", {{"type", "object"}}},
                  {"spec", spec}, {"status", status}},
                 {"spec"});
  return d;
}

}  // namespace

const std::vector<CustomResourceDefinition>& CustomResourceDefinitions() {
  static const std::vector<CustomResourceDefinition>* table =
      new std::vector<CustomResourceDefinition>{VerticalPodAutoscaler(), VirtualMachine()};
  return *table;
}

}  // namespace kinema::sim
