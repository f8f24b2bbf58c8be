// ClusterParts: every part of the simulated control plane and kubelets this
// folder provides, constructed together and registered with a SimServer in
// dependency order. The composition root (main.cc) and tests use it:
//
//   kinema::sim::SimServer server(options);
//   kinema::sim::cluster::ClusterParts cluster;
//   cluster.Register(server);   // also sets server.builtin_pod_terminator = false
//   server.Start();
//
// The parts must outlive the server's io threads: stop the server (or let
// it be destroyed) before the parts go away.
#pragma once

#include "tools/kinema-sim/cluster/daemonset_controller.h"
#include "tools/kinema-sim/cluster/deployment_controller.h"
#include "tools/kinema-sim/cluster/kubelet.h"
#include "tools/kinema-sim/cluster/pdb_controller.h"
#include "tools/kinema-sim/cluster/pod_gc.h"
#include "tools/kinema-sim/cluster/replicaset_controller.h"
#include "tools/kinema-sim/cluster/scale_events.h"
#include "tools/kinema-sim/cluster/statefulset_controller.h"
#include "tools/kinema-sim/cluster/volume_binder.h"

namespace kinema::sim::cluster {

struct ClusterParts {
  Kubelet kubelet;
  ReplicaSetController replicasets;
  DeploymentController deployments;
  StatefulSetController statefulsets;
  DaemonSetController daemonsets;
  PdbController pdbs;
  PodGc pod_gc;
  ScaleEvents scale_events;
  VolumeBinder volume_binder;  // issue 20: PersistentVolumeClaims bound to directories

  void Register(SimServer& server) {
    server.builtin_pod_terminator = false;  // the kubelet finishes pod termination
    for (SimComponent* c : std::initializer_list<SimComponent*>{&kubelet, &replicasets, &deployments, &statefulsets,
                                                                 &daemonsets, &pdbs, &pod_gc, &scale_events,
                                                                 &volume_binder}) {
      server.AddComponent(c);
    }
  }
};

}  // namespace kinema::sim::cluster
