// PrometheusStandIn: a stand-in for the Prometheus HTTP API under
// /prometheus/, for tests that need Prometheus answers to spoil (a real
// Prometheus cannot be made hostile). It answers what the controller's
// prediction step asks (engine/prediction):
//   POST|GET /prometheus/api/v1/query_range and /prometheus/api/v1/query
//   a query naming container_cpu_usage_seconds_total  -> cores per container
//   a query naming container_memory_working_set_bytes -> bytes per container
// one series per container of every running pod (labels namespace, pod,
// container), flat at the usage model's current value over the requested
// range (at most 11000 points, like Prometheus); any other query gets an
// empty result; a request without `query` is 400 bad_data.
// Fault rules with resource "prometheus" (verbs query, query_range) apply:
// latency, errors are not injected here, hostile answers are (faults.h).
// Thread-safety: the route handler may run on any io thread.
#pragma once

namespace kinema::sim {
class SimServer;
}

namespace kinema::sim::usage {

class UsageComponent;

// Registers the /prometheus/ route on `server` (before Start()).
void RegisterPrometheusStandIn(SimServer* server, UsageComponent* usage);

}  // namespace kinema::sim::usage
