#!/usr/bin/env python3
"""Writes a deterministic, realistic, over-provisioned cluster scenario:
a snapshot (planning.md §1: a kubectl-style v1 List with consistent
Deployment/ReplicaSet/Pod/DaemonSet/PDB/HPA objects and Ready nodes) and a
GCE-like catalog (planning.md §2; E2 standard/highcpu/highmem, us-central1
on-demand list prices, spot about 70% cheaper).

Usage: make_scenario.py --out DIR [--nodes 20] [--seed 7] [--scale 4] [--type e2-standard-8]
                        [--services N] [--namespaces K]
Creates DIR/snapshot.json and DIR/catalog.json. Standard library only.
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


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--nodes", type=int, default=20)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--type", default="e2-standard-8")
    ap.add_argument("--scale", type=int, default=4, help="replica multiplier (4: requests fill ~35%%)")
    ap.add_argument("--services", type=int, default=len(SERVICES), help="services in total (>= 12)")
    ap.add_argument("--namespaces", type=int, default=1, help="namespaces for generated services")
    a = ap.parse_args()
    rnd = random.Random(a.seed)
    services = [(n, r, c, m, "shop") for (n, r, c, m) in SERVICES]
    for i in range(max(0, a.services - len(SERVICES))):
        services.append((f"svc-{i:04d}", rnd.randint(1, 6), rnd.choice([100, 150, 200, 250, 300, 500, 750, 1000, 2000]),
                         rnd.choice([128, 256, 384, 512, 768, 1024, 1536, 2048, 4096]),
                         f"team-{i % max(1, a.namespaces):02d}"))
    os.makedirs(a.out, exist_ok=True)
    ts = "2026-11-22T08:00:00Z"
    items = []
    vcpu, mem, _ = TYPES[a.type]
    cpu_alloc, mem_alloc = allocatable(vcpu, mem)
    nodes = []
    for i in range(a.nodes):
        name = f"gke-shop-pool-{i:02d}"
        zone = ZONES[i % len(ZONES)]
        nodes.append(name)
        items.append({
            "apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name, "uid": uid("node", name), "creationTimestamp": ts,
                         "labels": {"node.kubernetes.io/instance-type": a.type,
                                    "topology.kubernetes.io/zone": zone,
                                    "kubernetes.io/hostname": name,
                                    "kubernetes.io/os": "linux",
                                    "cloud.google.com/gke-nodepool": "shop-pool"}},
            "spec": {"providerID": f"gce://shop-project/{zone}/{name}"},
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
    for name, base_replicas, cpu, mem_mib, ns in services:
        replicas = base_replicas * a.scale
        labels = {"app": name}
        h = hashlib.sha1(name.encode()).hexdigest()[:10]
        tmpl = {"metadata": {"labels": dict(labels)},
                "spec": {"containers": [{"name": name, "image": f"shop/{name}:1.0",
                                         "resources": {"requests": {"cpu": f"{cpu}m", "memory": f"{mem_mib}Mi"},
                                                       "limits": {"memory": f"{mem_mib * 2}Mi"}}}]}}
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
            node = nodes[node_i % len(nodes)]
            node_i += 1
            items.append({"apiVersion": "v1", "kind": "Pod",
                          "metadata": {"name": pname, "namespace": ns, "uid": uid("pod", pname),
                                       "creationTimestamp": ts, "labels": rs_labels,
                                       "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet",
                                                            "name": f"{name}-{h}", "uid": rs_uid,
                                                            "controller": True}]},
                          "spec": dict(tmpl["spec"], nodeName=node),
                          "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}})
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
