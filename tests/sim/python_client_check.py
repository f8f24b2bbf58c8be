#!/usr/bin/python3
"""Conformance check: Debian's python3-kubernetes against a running kinema-sim.

Usage: python_client_check.py KUBECONFIG
Exercises a paginated list, a watch resumed from a resourceVersion, the three
patch types, pod eviction (201, and 429 from a PodDisruptionBudget) and the
real Status errors (404, 409). Exits non-zero with a message on the first
failed expectation.
"""
import sys
import threading

from kubernetes import client, config, watch
from kubernetes.client.rest import ApiException


def expect(cond, what):
    if not cond:
        print("FAIL: " + what, file=sys.stderr)
        sys.exit(1)
    print("ok: " + what)


def main():
    config.load_kube_config(config_file=sys.argv[1])
    core = client.CoreV1Api()
    apps = client.AppsV1Api()

    # Paginated list: pages of 2 share one resourceVersion and cover every pod once.
    full = core.list_pod_for_all_namespaces()
    names, cont, rvs, pages = [], None, set(), 0
    while True:
        page = core.list_pod_for_all_namespaces(limit=2, _continue=cont)
        pages += 1
        rvs.add(page.metadata.resource_version)
        names += ["%s/%s" % (p.metadata.namespace, p.metadata.name) for p in page.items]
        expect(len(page.items) <= 2, "page %d has at most 2 items" % pages)
        cont = page.metadata._continue
        if not cont:
            break
    expect(sorted(names) == sorted("%s/%s" % (p.metadata.namespace, p.metadata.name) for p in full.items),
           "paginated list returns every pod exactly once (%d pods, %d pages)" % (len(names), pages))
    expect(len(rvs) == 1, "all pages carry the same list resourceVersion")

    # Label + field selectors.
    web = core.list_namespaced_pod("shop", label_selector="app=web", field_selector="status.phase=Running")
    expect(len(web.items) == 3 and all(p.metadata.labels["app"] == "web" for p in web.items),
           "label and field selectors filter pods")

    # Watch from the list's resourceVersion sees a later change, and only that.
    start_rv = core.list_namespaced_pod("shop").metadata.resource_version
    events = []

    def run_watch():
        w = watch.Watch()
        for ev in w.stream(core.list_namespaced_pod, "shop", resource_version=start_rv, timeout_seconds=5):
            events.append((ev["type"], ev["object"].metadata.name, ev["object"].metadata.labels or {}))
            if ev["object"].metadata.labels and ev["object"].metadata.labels.get("watched") == "yes":
                w.stop()

    t = threading.Thread(target=run_watch)
    t.start()
    # Strategic merge patch (the python client's default for dict bodies on patch_*).
    core.patch_namespaced_pod("cache-0", "shop", {"metadata": {"labels": {"watched": "yes"}}})
    t.join(10)
    expect(not t.is_alive(), "watch finished")
    expect(len(events) >= 1 and events[0][0] == "MODIFIED" and events[0][1] == "cache-0",
           "watch from resourceVersion %s delivers the MODIFIED event (got %s)" % (start_rv, events[:3]))

    # Merge patch on a node label, JSON patch on a deployment.
    node = core.patch_node("node-b", {"metadata": {"labels": {"kinema.io/test": "1"}}})
    expect(node.metadata.labels.get("kinema.io/test") == "1", "node label patch applied")
    dep = apps.read_namespaced_deployment("web", "shop")
    gen = dep.metadata.generation
    dep = apps.patch_namespaced_deployment(
        "web", "shop", [{"op": "replace", "path": "/spec/replicas", "value": 2}])
    expect(dep.spec.replicas == 2 and dep.metadata.generation == gen + 1,
           "JSON patch applied and generation bumped on a spec change")
    dep = apps.patch_namespaced_deployment("web", "shop", {"metadata": {"annotations": {"a": "b"}}})
    expect(dep.metadata.generation == gen + 1, "metadata-only patch keeps generation")

    # Status errors.
    try:
        core.read_namespaced_pod("nope", "shop")
        expect(False, "404 for a missing pod")
    except ApiException as e:
        expect(e.status == 404 and '"reason":"NotFound"' in e.body, "404 NotFound Status for a missing pod")
    try:
        core.create_namespaced_pod("shop", client.V1Pod(
            metadata=client.V1ObjectMeta(name="cache-0"),
            spec=client.V1PodSpec(containers=[client.V1Container(name="c", image="busybox")])))
        expect(False, "409 for a duplicate pod")
    except ApiException as e:
        expect(e.status == 409 and "AlreadyExists" in e.body, "409 AlreadyExists for a duplicate pod")
    try:
        stale = core.read_namespaced_pod("cache-0", "shop")
        core.patch_namespaced_pod("cache-0", "shop", {"metadata": {"labels": {"bump": "1"}}})
        core.replace_namespaced_pod("cache-0", "shop", stale)
        expect(False, "409 on a stale update")
    except ApiException as e:
        expect(e.status == 409 and "Conflict" in e.body, "409 Conflict on a stale resourceVersion")

    # Eviction: the PDB (minAvailable 2 of 3 ready web pods) allows exactly one.
    web = sorted(p.metadata.name for p in core.list_namespaced_pod("shop", label_selector="app=web").items)
    body = client.V1Eviction(metadata=client.V1ObjectMeta(name=web[0], namespace="shop"))
    core.create_namespaced_pod_eviction(web[0], "shop", body)
    print("ok: first eviction accepted (201)")
    try:
        body = client.V1Eviction(metadata=client.V1ObjectMeta(name=web[1], namespace="shop"))
        core.create_namespaced_pod_eviction(web[1], "shop", body)
        expect(False, "second eviction refused")
    except ApiException as e:
        expect(e.status == 429 and "disruption budget" in e.body, "second eviction refused with 429 by the PDB")
    print("ALL OK")


if __name__ == "__main__":
    main()
