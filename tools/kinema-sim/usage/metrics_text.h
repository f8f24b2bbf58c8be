// MetricsWriter: renders the simulator's /metrics page in the Prometheus
// text exposition format (version 0.0.4), one metric family at a time
// (# HELP / # TYPE, then samples), efficiently enough for 20k pods.
//
// Families (label sets follow cAdvisor and kube-state-metrics):
//   container_cpu_usage_seconds_total{namespace,pod,container,node,image,id}     counter
//   container_memory_working_set_bytes{namespace,pod,container,node,image,id}    gauge
//   kube_pod_container_resource_requests{namespace,pod,uid,container,node,resource,unit}
//   kube_pod_container_resource_limits{...same}
//   kube_pod_container_status_restarts_total{namespace,pod,uid,container}
//   kube_pod_owner{namespace,pod,uid,owner_kind,owner_name,owner_is_controller}
//   kube_horizontalpodautoscaler_status_desired_replicas / _current_replicas
//       {namespace,horizontalpodautoscaler}
//   kube_horizontalpodautoscaler_spec_min_replicas / _spec_max_replicas
//   kube_replicaset_status_ready_replicas{namespace,replicaset}
//   kube_deployment_spec_replicas / kube_deployment_status_replicas_ready
//       {namespace,deployment}
//   kube_node_status_allocatable{node,resource,unit}
// cAdvisor's pod-level cgroup series (container="") is deliberately not
// exposed, so sum by (pod) needs no container!="" filter (it is harmless).
// Thread-safety: a MetricsWriter is used by one thread.
#pragma once

#include <string>
#include <vector>

#include "tools/kinema-sim/object_store.h"
#include "tools/kinema-sim/usage/usage_component.h"

namespace kinema::sim::usage {

struct KubeObjects {
  std::vector<ObjectPtr> hpas, replicasets, deployments, nodes;
};
KubeObjects ListKubeObjects(const ObjectStore& store);

// Escapes a label value (backslash, double quote, newline).
std::string EscapeLabelValue(const std::string& v);

class MetricsWriter {
 public:
  void Reserve(size_t pods) { out_.reserve(pods * 2048); }
  void BeginContainerCpu();
  void ContainerCpu(const PodSample& p, const ContainerSample& c);
  void BeginContainerMemory();
  void ContainerMemory(const PodSample& p, const ContainerSample& c);
  void BeginRequests();
  void Requests(const PodSample& p, const ContainerSample& c);
  void BeginLimits();
  void Limits(const PodSample& p, const ContainerSample& c);
  void BeginRestarts();
  void Restarts(const PodSample& p, const ContainerSample& c);
  void BeginOwners();
  void Owner(const PodSample& p);
  void KubeState(const KubeObjects& objs);
  std::string Take() { return std::move(out_); }

 private:
  void Family(const char* name, const char* type, const char* help);
  void Label(const char* name, const std::string& value, bool first = false);
  void Value(double v);
  void ContainerLabels(const PodSample& p, const ContainerSample& c);
  void ResourceLine(const char* family, const PodSample& p, const ContainerSample& c, const char* resource,
                    const char* unit, double v);

  std::string out_;
};

}  // namespace kinema::sim::usage
