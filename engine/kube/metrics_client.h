// The resource metrics API (metrics.k8s.io/v1beta1), as metrics-server
// serves it: current CPU and memory usage of every container of running
// pods (`kubectl top pods`).
//
// Contract:
//   - ListPodMetrics() sends one GET /apis/metrics.k8s.io/v1beta1[/namespaces/NS]/pods
//     (optionally ?labelSelector=...), unpaginated (metrics-server ignores
//     `limit`), through kube::Client (rate limit, retries, auth, mutation
//     gate do not apply: it is a read). RBAC: list pods.metrics.k8s.io.
//   - ParsePodMetrics() reads one PodMetrics item: metadata.namespace/name,
//     timestamp (RFC 3339), window ("30s", or a Go duration such as "1m0.5s"),
//     containers[].usage.cpu (any quantity: "12345n", "250m", "1") and
//     .memory ("1024Ki", "268435456"). A malformed item is InvalidArgument
//     naming the pod and the field; ListPodMetrics skips such items and
//     reports them in `malformed` (one bad object never hides the rest).
//   - A cluster without the API (404 on the group) is kNotFound with a
//     message saying metrics-server is missing.
// Thread-safety: pure functions plus calls on a thread-safe Client.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "engine/common/status.h"
#include "engine/kube/client.h"

namespace kinema::kube {

struct ContainerUsage {
  std::string name;
  double cpu_cores = 0;
  double memory_bytes = 0;
};

struct PodUsage {
  std::string ns, name;
  int64_t timestamp_ms = 0;  // when the usage was measured (the metrics server's clock)
  int64_t window_ms = 0;     // over how long CPU was averaged
  std::vector<ContainerUsage> containers;
  const ContainerUsage* Find(const std::string& container) const;
};

struct PodMetricsList {
  std::vector<PodUsage> pods;
  std::vector<std::string> malformed;  // "ns/name: why" per item that could not be read
};

StatusOr<PodUsage> ParsePodMetrics(const Json& item);

// `ns` "" = every namespace; `label_selector` "" = every pod.
StatusOr<PodMetricsList> ListPodMetrics(Client& client, std::string_view ns, const std::string& label_selector);

// A Go duration as metrics-server writes `window` ("30s", "1m0s", "15.5s",
// "500ms") in milliseconds; InvalidArgument otherwise.
StatusOr<int64_t> ParseMetricsWindow(const std::string& text);

}  // namespace kinema::kube
