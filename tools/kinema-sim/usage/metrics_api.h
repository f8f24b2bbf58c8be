// The resource metrics API (metrics.k8s.io/v1beta1), as metrics-server serves
// it, from the usage model:
//   GET /apis/metrics.k8s.io                       APIGroup
//   GET /apis/metrics.k8s.io/v1beta1               APIResourceList (pods, nodes)
//   GET .../v1beta1/pods                           PodMetricsList (all namespaces)
//   GET .../v1beta1/namespaces/NS/pods[/NAME]      PodMetricsList / PodMetrics
//   GET .../v1beta1/nodes[/NAME]                   NodeMetricsList / NodeMetrics
// Lists accept labelSelector (400 when malformed). Only running pods have
// metrics (a GET of another pod is 404, like metrics-server). Node usage is
// the sum of its running pods' usage. CPU is reported in nanocores ("…n"),
// memory in KiB ("…Ki"); timestamp is simulated time, window 30s.
// Thread-safety: thread-safe (reads through UsageComponent).
#pragma once

#include "tools/kinema-sim/http_types.h"

namespace kinema::sim {
class SimServer;
}

namespace kinema::sim::usage {

class UsageComponent;

HttpResponse HandleMetricsApi(UsageComponent& usage, SimServer& server, const HttpRequest& req);

}  // namespace kinema::sim::usage
