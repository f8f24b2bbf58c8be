#!/usr/bin/env python3
"""Writes a deterministic, realistic, over-provisioned cluster scenario:
a snapshot (planning.md §1: a kubectl-style v1 List with consistent
Deployment/ReplicaSet/Pod/DaemonSet/PDB/HPA objects and Ready nodes) and a
GCE-like catalog (planning.md §2; E2 standard/highcpu/highmem, us-central1
on-demand list prices, spot about 70% cheaper).

Usage: make_scenario.py --out DIR [--nodes 20] [--seed 7] [--scale 4] [--type e2-standard-8]
                        [--services N] [--namespaces K]
Creates DIR/snapshot.json and DIR/catalog.json (and DIR/scenario.json when a
mode option below needs simulated behaviour). Standard library only.

Workflow-mode options (README.md "Mode scenarios"):
  --spot-nodes N        N nodes are spot (gke-spot / capacity-type labels, the catalog's spot taint)
  --spot-tolerant F     fraction F of services tolerate the spot taint; their pods spread over all
                        nodes (so some sit on on-demand nodes), the others stay on on-demand nodes
  --spot-refugee-nodes K  the first K on-demand nodes host only spot-tolerant pods (as right after a
                        preemption pushed them there): spot rescheduling can empty them
  --spot-preemption AT  a spotPreemption event at AT (repeatable; "8m" or "8m:node-name")
  --resize              resize workloads: a memory leak climbing to its limit, idle over-requested
                        pods, a RestartContainer resizePolicy, a Guaranteed pod, a full node
  --hot-nodes K         K hot nodes: services placed there use 1.6x their CPU requests (requests look normal)
  --vms N               N VirtualMachines with launcher pods, nodes labelled kubevirt.io/schedulable
  --shifting-load       diurnal CPU profiles with staggered phases (load moves between services)
  --strip-status        drop every status (a cluster dumped without statuses)
  --heavy K             K heavy-tailed services (namespace "web", 3-5 pods of half a node or more:
                        4.5-7 CPU, 12-20 GiB), placed first on the least-requested nodes
--services N (> 12) adds N-12 generated services (replicas 2-24, 100m-2 CPU,
128Mi-4Gi) spread over K namespaces, for large clusters, e.g.
  make_scenario.py --out big --nodes 1000 --services 600 --namespaces 40 --scale 2
"""
import argparse
import hashlib
import json
import os
import random

ZONES = ["us-central1-a", "us-central1-b"]
# name: (vcpu, memoryGiB, on-demand $/h)
TYPES = {
    "e2-standard-2": (2, 8, 0.067006), "e2-standard-4": (4, 16, 0.134012),
    "e2-standard-8": (8, 32, 0.268024), "e2-standard-16": (16, 64, 0.536048),
    "e2-highcpu-2": (2, 2, 0.049468), "e2-highcpu-4": (4, 4, 0.098936),
    "e2-highcpu-8": (8, 8, 0.197872), "e2-highcpu-16": (16, 16, 0.395744),
    "e2-highmem-2": (2, 16, 0.090416), "e2-highmem-4": (4, 32, 0.180832),
    "e2-highmem-8": (8, 64, 0.361664), "e2-highmem-16": (16, 128, 0.723328),
}
SERVICES = [  # name, replicas, cpu millicores, memory MiB
    ("frontend", 6, 300, 512), ("cart", 4, 200, 768), ("checkout", 3, 250, 512),
    ("currency", 4, 150, 256), ("email", 2, 100, 256), ("payment", 3, 200, 384),
    ("productcatalog", 5, 250, 512), ("recommendation", 4, 400, 1024),
    ("shipping", 3, 150, 256), ("ad", 3, 300, 1024), ("search", 4, 500, 1536),
    ("redis-cart", 2, 250, 2048),
]


def allocatable(vcpu, mem_gib):
    # GKE reservations (documented by Google): CPU 6% of core 1, 1% of core 2,
    # 0.5% of cores 3-4, 0.25% above; memory 25% of first 4 GiB, 20% of next
    # 4, 10% of next 8, 6% of next 112, 2% above; minus 100 MiB eviction.
    cpu = 0.0
    for core in range(1, vcpu + 1):
        cpu += 1 - (0.06 if core == 1 else 0.01 if core == 2 else 0.005 if core <= 4 else 0.0025)
    mem, left = 0.0, float(mem_gib)
    for size, keep in ((4, 0.75), (4, 0.80), (8, 0.90), (112, 0.94), (1e9, 0.98)):
        part = min(left, size)
        mem += part * keep
        left -= part
    return f"{int(cpu * 1000)}m", f"{int(mem * 1024 - 100)}Mi"


def uid(*parts):
    h = hashlib.sha1("/".join(parts).encode()).hexdigest()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"


SPOT_TAINT = {"key": "kinema.io/spot", "value": "true", "effect": "NoSchedule"}
SPOT_TOLERATION = {"key": "kinema.io/spot", "operator": "Equal", "value": "true", "effect": "NoSchedule"}


def node_spec(a, name, zone, spot):
    spec = {"providerID": f"gce://shop-project/{zone}/{name}"}
    if spot:
        spec["taints"] = [dict(SPOT_TAINT)]
    return spec


def node_mode_labels(a, spot):
    labels = {}
    if a.spot_nodes:
        labels["kinema.io/capacity-type"] = "spot" if spot else "on-demand"
        if spot:
            labels["cloud.google.com/gke-spot"] = "true"
    if a.vms:
        labels["kubevirt.io/schedulable"] = "true"
    return labels


def quantity_milli(q):
    return int(q[:-1]) if q.endswith("m") else int(float(q) * 1000)


def quantity_mib(q):
    return int(q[:-2]) if q.endswith("Mi") else int(float(q[:-2]) * 1024)


def deployment_items(ns, name, replicas, containers_spec, placement, ts, extra_pod_spec=None):
    """A converged Deployment + ReplicaSet + Running pods on the given nodes (one per replica)."""
    labels = {"app": name}
    h = hashlib.sha1((ns + "/" + name).encode()).hexdigest()[:10]
    pod_spec = {"containers": containers_spec}
    if extra_pod_spec:
        pod_spec.update(extra_pod_spec)
    tmpl = {"metadata": {"labels": dict(labels)}, "spec": pod_spec}
    dep_uid, rs_uid = uid("deploy", ns, name), uid("rs", ns, name)
    rs_labels = dict(labels, **{"pod-template-hash": h})
    out = [{"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": ns, "uid": dep_uid, "generation": 1, "creationTimestamp": ts,
                         "labels": dict(labels), "annotations": {"deployment.kubernetes.io/revision": "1"}},
            "spec": {"replicas": replicas, "selector": {"matchLabels": dict(labels)}, "template": tmpl},
            "status": {"observedGeneration": 1, "replicas": replicas, "updatedReplicas": replicas,
                       "readyReplicas": replicas, "availableReplicas": replicas}},
           {"apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": {"name": f"{name}-{h}", "namespace": ns, "uid": rs_uid, "generation": 1,
                         "creationTimestamp": ts, "labels": rs_labels,
                         "annotations": {"deployment.kubernetes.io/revision": "1"},
                         "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": name,
                                              "uid": dep_uid, "controller": True}]},
            "spec": {"replicas": replicas, "selector": {"matchLabels": rs_labels},
                     "template": {"metadata": {"labels": rs_labels}, "spec": pod_spec}},
            "status": {"replicas": replicas, "readyReplicas": replicas, "availableReplicas": replicas,
                       "observedGeneration": 1}}]
    for r in range(replicas):
        pname = f"{name}-{h}-{hashlib.sha1(f'{ns}/{name}/{r}'.encode()).hexdigest()[:5]}"
        out.append({"apiVersion": "v1", "kind": "Pod",
                    "metadata": {"name": pname, "namespace": ns, "uid": uid("pod", ns, pname), "creationTimestamp": ts,
                                 "labels": rs_labels,
                                 "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet",
                                                      "name": f"{name}-{h}", "uid": rs_uid, "controller": True}]},
                    "spec": dict(pod_spec, nodeName=placement[r % len(placement)]),
                    "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}})
    return out


def container(name, cpu, mem, limits=None, resize_policy=None):
    c = {"name": name, "image": f"shop/{name}:1.0", "resources": {"requests": {"cpu": cpu, "memory": mem}}}
    if limits:
        c["resources"]["limits"] = limits
    if resize_policy:
        c["resizePolicy"] = resize_policy
    return c


def resize_items(nodes, node_requests, cpu_alloc, mem_alloc, ts, usage):
    """In-place resize workloads (namespace "resize") and their usage profiles."""
    items = []
    spread = nodes[1:] or nodes
    # A memory leak: 200Mi climbing 900 %/h toward a 512Mi limit (OOM-killed after ~10 simulated minutes).
    items += deployment_items("resize", "leaky", 2, [container("leaky", "100m", "256Mi", {"memory": "512Mi"})],
                              spread, ts)
    usage["resize/leaky"] = {"memory": {"profile": "trend", "level": "200Mi", "slopePerHour": 9.0},
                             "cpu": {"level": "50m"}}
    # Idle, over-requested pods: 1 CPU / 2Gi asked, 50m / 200Mi used.
    items += deployment_items("resize", "idle", 3, [container("idle", "1", "2Gi", {"memory": "4Gi"})], spread, ts)
    usage["resize/idle"] = {"cpu": {"level": "50m"}, "memory": {"level": "200Mi"}}
    # A container that must restart to change memory.
    items += deployment_items("resize", "restarter", 2,
                              [container("restarter", "250m", "512Mi", {"memory": "1Gi"},
                                         [{"resourceName": "cpu", "restartPolicy": "NotRequired"},
                                          {"resourceName": "memory", "restartPolicy": "RestartContainer"}])],
                              spread, ts)
    usage["resize/restarter"] = {"memory": {"level": "450Mi"}}
    # Guaranteed QoS: requests == limits.
    items += deployment_items("resize", "guaranteed", 2,
                              [container("guaranteed", "500m", "512Mi", {"cpu": "500m", "memory": "512Mi"})],
                              spread, ts)
    usage["resize/guaranteed"] = {"memory": {"level": "460Mi"}, "cpu": {"level": "450m"}}
    # A node without room: "crowded" on the first node, "filler" taking what is left of it.
    first = nodes[0]
    items += deployment_items("resize", "crowded", 1, [container("crowded", "500m", "1Gi", {"memory": "1200Mi"})],
                              [first], ts)
    usage["resize/crowded"] = {"memory": {"level": "1000Mi"}}
    used_cpu = node_requests[first][0] + 500
    used_mem = node_requests[first][1] + 1024
    free_cpu = max(10, int(quantity_milli(cpu_alloc) * 0.98) - used_cpu)
    free_mem = max(16, int(quantity_mib(mem_alloc) * 0.98) - used_mem)
    items += deployment_items("resize", "filler", 1, [container("filler", f"{free_cpu}m", f"{free_mem}Mi")],
                              [first], ts)
    usage["resize/filler"] = {"cpu": {"fraction": 0.3}, "memory": {"fraction": 0.5}}
    return items


VM_SIZES = [("2", "4Gi", 4 << 30), ("4", "8Gi", 8 << 30), ("8", "16Gi", 16 << 30)]


def vm_items(n, nodes, ts, rnd_local):
    """VirtualMachines after the seed's setup, with running launcher pods, skewed onto the first third of nodes."""
    items = []
    hot = nodes[:max(1, len(nodes) // 3)]
    for i in range(n):
        name = f"vm-{i:03d}"
        cpu, mem, mem_bytes = VM_SIZES[i % len(VM_SIZES)]
        cpu_util = f"{0.3 + 0.6 * ((i * 37) % 10) / 10:.2f}"
        mem_util = f"{0.5 + 0.4 * ((i * 53) % 10) / 10:.2f}"
        vm_uid = uid("vm", name)
        node = hot[i % len(hot)] if i % 3 != 2 else nodes[i % len(nodes)]
        pod_name = f"virt-launcher-{name}-{hashlib.sha1(name.encode()).hexdigest()[:5]}"
        items.append({"apiVersion": "simulation.node-classifier.io/v1alpha1", "kind": "VirtualMachine",
                      "metadata": {"name": name, "namespace": "default", "uid": vm_uid, "generation": 1,
                                   "creationTimestamp": ts},
                      "spec": {"resources": {"cpu": cpu, "memory": mem},
                               "utilization": {"cpu": cpu_util, "memory": mem_util},
                               "migration": {"dirtyRateMbps": 800}, "running": True},
                      "status": {"phase": "Running", "nodeName": node, "podName": pod_name}})
        p = "simulation.node-classifier.io/"
        items.append({"apiVersion": "v1", "kind": "Pod",
                      "metadata": {"name": pod_name, "namespace": "default", "uid": uid("pod", pod_name),
                                   "creationTimestamp": ts,
                                   "labels": {"kubevirt.io/domain": name, "vm.kubevirt.io/name": name,
                                              "app": "virt-launcher"},
                                   "annotations": {p + "vm-cpu-cores": cpu, p + "vm-memory-bytes": str(mem_bytes),
                                                   p + "vm-cpu-utilization": cpu_util,
                                                   p + "vm-memory-utilization": mem_util,
                                                   p + "vm-dirty-rate-mbps": "800",
                                                   "descheduler.alpha.kubernetes.io/request-evict-only": "true"},
                                   "finalizers": ["kubevirt.io/migration-protection"],
                                   "ownerReferences": [{"apiVersion": "simulation.node-classifier.io/v1alpha1",
                                                        "kind": "VirtualMachine", "name": name, "uid": vm_uid,
                                                        "controller": True, "blockOwnerDeletion": True}]},
                      "spec": {"nodeName": node, "nodeSelector": {"kubevirt.io/schedulable": "true"},
                               "containers": [{"name": "compute", "image": "quay.io/kubevirt/virt-launcher:v1.5.0",
                                               "resources": {"requests": {"cpu": f"{int(cpu) * 100}m",
                                                                          "memory": str(mem_bytes)}}}]},
                      "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}})
    return items


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--nodes", type=int, default=20)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--type", default="e2-standard-8")
    ap.add_argument("--scale", type=int, default=4, help="replica multiplier (4: requests fill ~35%%)")
    ap.add_argument("--services", type=int, default=len(SERVICES), help="services in total (>= 12)")
    ap.add_argument("--namespaces", type=int, default=1, help="namespaces for generated services")
    ap.add_argument("--spot-nodes", type=int, default=0)
    ap.add_argument("--spot-tolerant", type=float, default=0.0)
    ap.add_argument("--spot-refugee-nodes", type=int, default=0)
    ap.add_argument("--spot-preemption", action="append", default=[])
    ap.add_argument("--resize", action="store_true")
    ap.add_argument("--hot-nodes", type=int, default=0)
    ap.add_argument("--vms", type=int, default=0)
    ap.add_argument("--shifting-load", action="store_true")
    ap.add_argument("--heavy", type=int, default=0, help="heavy-tailed services (pods of half a node or more)")
    ap.add_argument("--strip-status", action="store_true",
                    help="drop every object's status (a cluster dumped without statuses; kinema-sim brings it to life)")
    a = ap.parse_args()
    if a.spot_nodes < 0 or a.spot_nodes > a.nodes:
        ap.error("--spot-nodes must be between 0 and --nodes")
    if not 0.0 <= a.spot_tolerant <= 1.0:
        ap.error("--spot-tolerant must be a fraction in [0, 1]")
    if a.spot_refugee_nodes < 0 or a.spot_refugee_nodes >= a.nodes - a.spot_nodes:
        ap.error("--spot-refugee-nodes must leave at least one on-demand node for intolerant pods")
    if a.hot_nodes < 0 or a.hot_nodes > a.nodes:
        ap.error("--hot-nodes must be between 0 and --nodes")
    if a.vms < 0:
        ap.error("--vms must be >= 0")
    rnd = random.Random(a.seed)
    services = [(n, r, c, m, "shop") for (n, r, c, m) in SERVICES]
    for i in range(max(0, a.services - len(SERVICES))):
        services.append((f"svc-{i:04d}", rnd.randint(1, 6), rnd.choice([100, 150, 200, 250, 300, 500, 750, 1000, 2000]),
                         rnd.choice([128, 256, 384, 512, 768, 1024, 1536, 2048, 4096]),
                         f"team-{i % max(1, a.namespaces):02d}"))
    if a.heavy < 0:
        ap.error("--heavy must be >= 0")
    # Heavy-tailed services (replicas are not scaled): name, replicas, cpu m, memory MiB.
    heavy_sizes = [(5, 4500, 12288), (3, 7000, 16384), (4, 5000, 20480)]
    heavy = [(f"heavy-{i:02d}",) + heavy_sizes[i % len(heavy_sizes)] + ("web",) for i in range(a.heavy)]
    heavy_names = {h[0] for h in heavy}
    services = heavy + services
    os.makedirs(a.out, exist_ok=True)
    ts = "2026-11-22T08:00:00Z"
    items = []
    vcpu, mem, _ = TYPES[a.type]
    cpu_alloc, mem_alloc = allocatable(vcpu, mem)
    nodes = []
    spot_nodes = set()
    for i in range(a.nodes):
        name = f"gke-shop-pool-{i:02d}"
        zone = ZONES[i % len(ZONES)]
        nodes.append(name)
        spot = i >= a.nodes - a.spot_nodes
        if spot:
            spot_nodes.add(name)
        items.append({
            "apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name, "uid": uid("node", name), "creationTimestamp": ts,
                         "labels": {"node.kubernetes.io/instance-type": a.type,
                                    "topology.kubernetes.io/zone": zone,
                                    "kubernetes.io/hostname": name,
                                    "kubernetes.io/os": "linux",
                                    "cloud.google.com/gke-nodepool": "shop-spot-pool" if spot else "shop-pool",
                                    **node_mode_labels(a, spot)}},
            "spec": node_spec(a, name, zone, spot),
            "status": {"capacity": {"cpu": str(vcpu), "memory": f"{mem}Gi", "pods": "110"},
                       "allocatable": {"cpu": cpu_alloc, "memory": mem_alloc, "pods": "110"},
                       "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady",
                                       "lastHeartbeatTime": ts, "lastTransitionTime": ts}]}})
    # A logging DaemonSet on every node.
    ds_tmpl = {"metadata": {"labels": {"app": "log-agent"}},
               "spec": {"containers": [{"name": "agent", "image": "fluent-bit:2",
                                        "resources": {"requests": {"cpu": "50m", "memory": "64Mi"}}}],
                        "tolerations": [{"operator": "Exists"}]}}
    items.append({"apiVersion": "apps/v1", "kind": "DaemonSet",
                  "metadata": {"name": "log-agent", "namespace": "kube-system", "uid": uid("ds"),
                               "generation": 1, "creationTimestamp": ts},
                  "spec": {"selector": {"matchLabels": {"app": "log-agent"}}, "template": ds_tmpl},
                  "status": {"desiredNumberScheduled": a.nodes, "currentNumberScheduled": a.nodes,
                             "numberReady": a.nodes, "numberAvailable": a.nodes, "updatedNumberScheduled": a.nodes,
                             "observedGeneration": 1}})
    used_names = set()
    for n in nodes:
        digest = hashlib.sha1(n.encode()).hexdigest()
        pname = f"log-agent-{digest[:5]}"
        if pname in used_names:  # 5 hex digits collide on thousands of nodes
            pname = f"log-agent-{digest[:10]}"
        used_names.add(pname)
        items.append({"apiVersion": "v1", "kind": "Pod",
                      "metadata": {"name": pname, "namespace": "kube-system", "uid": uid("pod", pname),
                                   "creationTimestamp": ts, "labels": {"app": "log-agent"},
                                   "ownerReferences": [{"apiVersion": "apps/v1", "kind": "DaemonSet",
                                                        "name": "log-agent", "uid": uid("ds"),
                                                        "controller": True}]},
                      "spec": dict(ds_tmpl["spec"], nodeName=n),
                      "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}})
    node_i = 0
    usage = {}
    events = []
    node_requests = {n: [0, 0] for n in nodes}  # cpu milli, memory MiB
    on_demand = [n for n in nodes if n not in spot_nodes] or nodes
    hot_nodes = nodes[:a.hot_nodes]
    mode_placement = bool(a.spot_nodes or a.hot_nodes or a.heavy)
    # Hot services: as many as fill the hot nodes' fair share of requests, so that requests per
    # node stay even while those nodes' usage is 1.6x their requests (3x the other nodes').
    hot_services = set()
    if hot_nodes:
        total = sum(r * a.scale * c for (_, r, c, _, _) in services)
        budget, used_budget = total * len(hot_nodes) / len(nodes), 0
        for i, (_, r, c, _, _) in enumerate(services):
            if used_budget + r * a.scale * c <= budget:
                hot_services.add(i)
                used_budget += r * a.scale * c
    for svc_i, (name, base_replicas, cpu, mem_mib, ns) in enumerate(services):
        replicas = base_replicas if name in heavy_names else base_replicas * a.scale
        labels = {"app": name}
        tolerant = int((svc_i + 1) * a.spot_tolerant) > int(svc_i * a.spot_tolerant)
        hot = svc_i in hot_services
        if hot:
            usage[f"{ns}/{name}"] = {"cpu": {"level": f"{int(cpu * 1.6)}m"}}
        if a.shifting_load:
            prof = usage.setdefault(f"{ns}/{name}", {})
            prof.setdefault("cpu", {})
            prof["cpu"].update({"profile": "diurnal", "period": "1h", "amplitude": 0.6,
                                "phase": f"{int(3600 * svc_i / len(services))}s"})
        h = hashlib.sha1(name.encode()).hexdigest()[:10]
        tmpl = {"metadata": {"labels": dict(labels)},
                "spec": {"containers": [{"name": name, "image": f"shop/{name}:1.0",
                                         "resources": {"requests": {"cpu": f"{cpu}m", "memory": f"{mem_mib}Mi"},
                                                       "limits": {"memory": f"{mem_mib * 2}Mi"}}}]}}
        if tolerant and a.spot_nodes:
            tmpl["spec"]["tolerations"] = [dict(SPOT_TOLERATION)]
        dep_uid, rs_uid = uid("deploy", name), uid("rs", name)
        items.append({"apiVersion": "apps/v1", "kind": "Deployment",
                      "metadata": {"name": name, "namespace": ns, "uid": dep_uid, "generation": 1,
                                   "creationTimestamp": ts, "labels": dict(labels),
                                   "annotations": {"deployment.kubernetes.io/revision": "1"}},
                      "spec": {"replicas": replicas, "selector": {"matchLabels": dict(labels)},
                               "strategy": {"type": "RollingUpdate",
                                            "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}},
                               "template": tmpl},
                      "status": {"observedGeneration": 1, "replicas": replicas, "updatedReplicas": replicas,
                                 "readyReplicas": replicas, "availableReplicas": replicas,
                                 "conditions": [{"type": "Available", "status": "True",
                                                 "reason": "MinimumReplicasAvailable"},
                                                {"type": "Progressing", "status": "True",
                                                 "reason": "NewReplicaSetAvailable"}]}})
        rs_labels = dict(labels, **{"pod-template-hash": h})
        items.append({"apiVersion": "apps/v1", "kind": "ReplicaSet",
                      "metadata": {"name": f"{name}-{h}", "namespace": ns, "uid": rs_uid, "generation": 1,
                                   "creationTimestamp": ts, "labels": rs_labels,
                                   "annotations": {"deployment.kubernetes.io/revision": "1"},
                                   "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment",
                                                        "name": name, "uid": dep_uid, "controller": True}]},
                      "spec": {"replicas": replicas, "selector": {"matchLabels": rs_labels},
                               "template": {"metadata": {"labels": rs_labels}, "spec": tmpl["spec"]}},
                      "status": {"replicas": replicas, "readyReplicas": replicas, "availableReplicas": replicas,
                                 "fullyLabeledReplicas": replicas, "observedGeneration": 1}})
        if replicas >= 3:
            items.append({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
                          "metadata": {"name": name, "namespace": ns, "uid": uid("pdb", name), "generation": 1},
                          "spec": {"maxUnavailable": 1, "selector": {"matchLabels": dict(labels)}},
                          "status": {"observedGeneration": 1, "currentHealthy": replicas,
                                     "desiredHealthy": replicas - 1, "disruptionsAllowed": 1,
                                     "expectedPods": replicas}})
        for r in range(replicas):
            suffix = "".join(rnd.choice("bcdfghjklmnpqrstvwxz2456789") for _ in range(5))
            pname = f"{name}-{h}-{suffix}"
            if name in heavy_names:
                node = min(nodes, key=lambda n: (node_requests[n][0], nodes.index(n)))
            elif mode_placement:
                # Spot-intolerant pods only on on-demand nodes, hot services on the hot nodes, the
                # rest on the least-requested allowed node (so requests per node stay even).
                allowed = hot_nodes if hot else nodes
                if a.spot_nodes and not tolerant:
                    refugees = on_demand[:a.spot_refugee_nodes]
                    allowed = [n for n in allowed if n not in spot_nodes and n not in refugees] or on_demand
                node = min(allowed, key=lambda n: (node_requests[n][0], nodes.index(n)))
            else:
                node = nodes[node_i % len(nodes)]
                node_i += 1
            node_requests[node][0] += cpu
            node_requests[node][1] += mem_mib
            items.append({"apiVersion": "v1", "kind": "Pod",
                          "metadata": {"name": pname, "namespace": ns, "uid": uid("pod", pname),
                                       "creationTimestamp": ts, "labels": rs_labels,
                                       "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet",
                                                            "name": f"{name}-{h}", "uid": rs_uid,
                                                            "controller": True}]},
                          "spec": dict(tmpl["spec"], nodeName=node),
                          "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}})
    if a.resize:
        items += resize_items(on_demand, node_requests, cpu_alloc, mem_alloc, ts, usage)
    if a.vms:
        items += vm_items(a.vms, on_demand, ts, rnd)
    for spec in a.spot_preemption:
        at, _, node = spec.partition(":")
        ev = {"kind": "spotPreemption", "at": at}
        if node:
            ev["node"] = node
        else:
            ev["count"] = 1
        events.append(ev)
    scenario = {}
    if usage:
        scenario["usage"] = {"deployments": usage}
    if events:
        scenario["events"] = events
    if scenario:
        with open(os.path.join(a.out, "scenario.json"), "w") as f:
            json.dump(scenario, f, indent=1)
    if a.strip_status:
        for item in items:
            item.pop("status", None)
    with open(os.path.join(a.out, "snapshot.json"), "w") as f:
        json.dump({"apiVersion": "v1", "kind": "List", "items": items}, f, indent=1)
    catalog = {"provider": "gce", "region": "us-central1", "currency": "USD", "machineTypes": [],
               "spot": {"labels": {"kinema.io/capacity-type": "spot"},
                        "taints": [{"key": "kinema.io/spot", "value": "true", "effect": "NoSchedule"}]}}
    for t, (c, m, p) in TYPES.items():
        catalog["machineTypes"].append({"name": t, "vcpu": c, "memoryMiB": m * 1024, "zones": ZONES,
                                        "pricePerHour": {"onDemand": p, "spot": round(p * 0.3, 6)},
                                        "labels": {}, "taints": []})
    with open(os.path.join(a.out, "catalog.json"), "w") as f:
        json.dump(catalog, f, indent=1)


if __name__ == "__main__":
    main()
