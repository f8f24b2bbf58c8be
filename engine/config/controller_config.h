// ControllerConfig: the global part of the `kinema --config FILE` YAML
// (operations.md): what every workflow kind shares — the cluster, the
// journal, the cloud, the disruption budget, the server, leader election,
// logging. Each workflow kind owns its own sections (steps/<kind>/); the
// kind registry (engine/kinds/kind_registry.h) reads the whole file against
// the global fields and every kind's sections at once.
//
// Contract:
//   - Every key is known: an unknown or mistyped key is an error naming its
//     full path ("decision.minSaving: unknown key (did you mean minSavings?)").
//   - Type and range errors name the key and the offending value; numbers
//     must be finite and within the key's range; URLs (prometheus.url,
//     cloud.endpoint) http:// or https:// only (config_values.h: the same
//     parsers serve every section, the kinds' too).
//   - Durations are Go-style strings: "500ms", "10s", "15m", "1h30m", "7d".
//   - Parsing never touches the network or the cluster.
// Thread-safety: plain value.
#pragma once

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "engine/budget/disruption_budget.h"
#include "engine/common/status.h"
#include "engine/common/time.h"
#include "engine/config/schema.h"

namespace kinema {

// The scheduling settings every workflow kind's section carries.
struct KindSettings {
  bool enabled = false;
  Duration interval{300000};
};

struct ControllerConfig {
  std::string kubeconfig;  // empty: in-cluster config
  std::string journal = "/var/lib/kinema/kinema.db";
  // Workflows that ended without any effect are pruned after this long;
  // every workflow with an effect is kept. 0 disables pruning.
  Duration journal_retention{7LL * 24 * 3600 * 1000};
  std::string catalog;     // required

  struct Prometheus {
    std::string url;       // empty: kinds that need usage plan on requests as they are
    Duration timeout{10000};
  } prometheus;

  // ---- cloud and pricing (operations.md "Cloud providers"; global, used by
  // every workflow kind that boots or retires nodes)
  struct Cloud {
    std::string provider = "gce";    // gce (self-managed) | gke (node pools)
    std::string endpoint;  // Compute; empty: the real GCE endpoint
    std::string project;
    std::vector<std::string> zones;  // empty: every zone the catalog offers
    std::string token_file;          // empty: metadata server (or none for the simulator)
    std::string instance_prefix = "kinema";
    std::string instance_template;   // gce: projects/P/global/instanceTemplates/T (required on the real endpoint at boot)
    std::string location;            // gke: the cluster's region or zone
    std::string cluster;             // gke: the cluster's name
    std::string container_endpoint;  // gke: GKE API; empty: the real one
    std::string node_pools = "create";  // gke: create | existing
  } cloud;

  struct Pricing {
    std::string source = "catalog";  // catalog | billing
    std::string endpoint;            // Cloud Billing Catalog base URL ending in /v1; empty: the real one
    Duration refresh{12 * 3600000};
  } pricing;
  // ---- end of cloud and pricing

  struct Exclusions {
    std::vector<std::string> namespaces = {"kube-system"};
    std::string label_selector;          // pods matching it are never moved
  } exclusions;

  // The disruption budget every kind shares (operations.md).
  std::vector<NodeBudget> budgets = DefaultNodeBudgets();
  EvictionLimits eviction_limits;

  struct Scheduler {
    int workers = 4;                     // workflows running at once
  } scheduler;

  struct Server {
    std::string address = "127.0.0.1:8080";
  } server;

  struct LeaderElection {
    bool enabled = true;
    std::string namespace_ = "kube-system";
    std::string name = "kinema";
    std::string identity;                // empty: $POD_NAME, else hostname
    Duration lease_duration{15000};
    Duration renew_deadline{10000};
    Duration retry_period{2000};
  } leader_election;

  struct Logging {
    std::string format = "text";  // text | json
    std::string level = "info";
  } logging;

  bool dry_run = false;

  // Per workflow type: enabled and interval (filled by the kind registry).
  std::map<std::string, KindSettings> kinds;
};

// The global keys, writing into `c`.
config::Fields GlobalConfigFields(ControllerConfig* c);
// Checks that span several global keys (catalog required, leader election
// timings ordered, ...).
Status ValidateGlobalConfig(const ControllerConfig& c);

// The `budgets:` list and an `evictionLimits:` mapping, as leaves a kind may
// also use for its own overrides (`rebalance.evictionLimits`).
config::Field BudgetsField(std::vector<NodeBudget>* out);
config::Field EvictionLimitsField(EvictionLimits* out);

}  // namespace kinema
