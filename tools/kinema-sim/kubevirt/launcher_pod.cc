#include "tools/kinema-sim/kubevirt/launcher_pod.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "engine/quantity/quantity.h"

namespace kinema::sim::kubevirt {

namespace {

std::string Fixed(double v) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.0f", v);
  return buf;
}

}  // namespace

std::optional<VmShape> ParseVmShape(const Json& vm, std::string* error) {
  const Json spec = vm.value("spec", Json::object());
  const Json res = spec.value("resources", Json::object());
  auto text = [](const Json& v) { return v.is_string() ? v.get<std::string>() : v.dump(); };
  VmShape s;
  auto cpu = ParseQuantityMilli(res.contains("cpu") ? text(res["cpu"]) : "");
  auto mem = ParseQuantityValue(res.contains("memory") ? text(res["memory"]) : "");
  if (!cpu.ok() || cpu.value() <= 0) {
    *error = "spec.resources.cpu: must be a positive quantity";
    return std::nullopt;
  }
  if (!mem.ok() || mem.value() <= 0) {
    *error = "spec.resources.memory: must be a positive quantity";
    return std::nullopt;
  }
  s.cpu_cores = cpu.value() / 1000.0;
  s.memory_bytes = static_cast<double>(mem.value());
  const Json util = spec.value("utilization", Json::object());
  if (util.contains("cpu")) s.cpu_utilization = text(util["cpu"]);
  if (util.contains("memory")) s.memory_utilization = text(util["memory"]);
  const Json mig = spec.value("migration", Json::object());
  if (mig.contains("dirtyRateMbps") && mig["dirtyRateMbps"].is_number()) s.dirty_rate_mbps = mig["dirtyRateMbps"].get<long long>();
  return s;
}

Json BuildLauncherPod(const Json& vm, const VmShape& shape, const std::string& suffix, const std::string& avoid_node,
                      const std::string& memory_utilization) {
  const Json& md = vm["metadata"];
  const std::string name = md.value("name", "");
  const std::string ns = md.value("namespace", "default");
  const std::string p = kAnnotationPrefix;
  Json annotations = {{p + "vm-cpu-cores", Fixed(shape.cpu_cores * 1000) + "m"},
                      {p + "vm-memory-bytes", Fixed(shape.memory_bytes)},
                      {p + "vm-cpu-utilization", shape.cpu_utilization},
                      {p + "vm-memory-utilization", memory_utilization},
                      {p + "vm-dirty-rate-mbps", std::to_string(shape.dirty_rate_mbps)},
                      {kEvictOnlyAnnotation, "true"}};
  long long cpu_request_milli = std::max(1LL, static_cast<long long>(std::ceil(shape.cpu_cores * 1000 / 10)));
  Json container = {{"name", "compute"},
                    {"image", "quay.io/kubevirt/virt-launcher:v1.5.0"},
                    {"resources",
                     {{"requests", {{"cpu", std::to_string(cpu_request_milli) + "m"}, {"memory", Fixed(shape.memory_bytes)}}}}}};
  Json spec = {{"containers", Json::array({container})},
               {"nodeSelector", {{kSchedulableLabel, "true"}}},
               {"terminationGracePeriodSeconds", 30}};
  if (!avoid_node.empty()) {
    spec["affinity"] = {
        {"nodeAffinity",
         {{"requiredDuringSchedulingIgnoredDuringExecution",
           {{"nodeSelectorTerms",
             Json::array({{{"matchExpressions",
                            Json::array({{{"key", "kubernetes.io/hostname"},
                                          {"operator", "NotIn"},
                                          {"values", Json::array({avoid_node})}}})}}})}}}}}};
  }
  return Json{{"apiVersion", "v1"},
              {"kind", "Pod"},
              {"metadata",
               {{"name", "virt-launcher-" + name + "-" + suffix},
                {"namespace", ns},
                {"labels", {{kDomainLabel, name}, {kVmNameLabel, name}, {"app", "virt-launcher"}}},
                {"annotations", annotations},
                {"finalizers", Json::array({kFinalizer})},
                {"ownerReferences",
                 Json::array({{{"apiVersion", "simulation.node-classifier.io/v1alpha1"},
                               {"kind", "VirtualMachine"},
                               {"name", name},
                               {"uid", md.value("uid", "")},
                               {"controller", true},
                               {"blockOwnerDeletion", true}}})}}},
              {"spec", spec}};
}

std::string VmNameOf(const Json& pod) {
  if (!pod.contains("metadata") || !pod["metadata"].is_object()) return "";
  const Json& md = pod["metadata"];
  if (!md.contains("labels") || !md["labels"].is_object()) return "";
  const Json& l = md["labels"];
  if (l.contains(kVmNameLabel) && l[kVmNameLabel].is_string()) return l[kVmNameLabel].get<std::string>();
  return "";
}

}  // namespace kinema::sim::kubevirt
