// ControllerConfig: the `kinema --config FILE` YAML (operations.md), with a
// working default for every key that outside checks do not set.
//
// Contract:
//   - Every key is known: an unknown or mistyped key is an error naming its
//     full path ("decision.minSaving: unknown key (did you mean minSavings?)").
//   - Type and range errors name the key and the offending value.
//   - Durations are Go-style strings: "500ms", "10s", "15m", "1h", "1h30m"
//     (at most 168h); numbers must be finite and within the key's range;
//     URLs (prometheus.url, cloud.endpoint) http:// or https:// only
//     (config_values.h: the same parsers serve every section).
//   - LoadControllerConfig never touches the network or the cluster.
// Thread-safety: plain value.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "engine/common/status.h"
#include "engine/config/config_values.h"

namespace kinema {

struct ControllerConfig {
  std::string kubeconfig;  // empty: in-cluster config
  std::string journal = "/var/lib/kinema/kinema.db";
  std::string catalog;     // required

  struct Prometheus {
    std::string url;       // empty: prediction uses requests as they are
    Duration timeout{10000};
  } prometheus;

  struct Cloud {
    std::string provider = "gce";
    std::string endpoint;  // empty: the real GCE endpoint
    std::string project;
    std::vector<std::string> zones;  // empty: every zone the catalog offers
    std::string token_file;          // empty: metadata server (or none for the simulator)
    std::string instance_prefix = "kinema";
  } cloud;

  struct Stability {
    Duration quiet_window{60000};
    Duration deadline{1800000};          // give up waiting (iteration completes as "unstable")
    Duration poll_interval{2000};
    double max_hpa_utilization = 0.9;    // current/target above this = not stable
  } stability;

  struct Prediction {
    Duration window{900000};
    Duration horizon{900000};
    Duration step{30000};
    Duration rate_window{60000};         // PromQL rate() range (>= 2 scrape intervals)
    double factor = 0.1;                 // move planning requests this far toward the forecast
    double headroom = 1.2;               // never below observed peak × headroom
    std::string source = "prometheus";  // prometheus | vpa | none
  } prediction;

  struct Optimizer {
    Duration time_limit{30000};
    int max_moves = -1;                  // -1: no cap
    double headroom = 0.1;               // plan with requests × (1 + headroom): slack for the scheduler's own packing
    uint64_t seed = 1;
    std::vector<std::string> allow_types;
    bool no_spot = false;
  } optimizer;

  struct Decision {
    double min_savings = 0.10;
    double max_change = 0.10;
    int max_nodes_retired = 10;
    int max_pods_moved = 500;
  } decision;

  struct Boot {
    Duration timeout{600000};
    int parallelism = 10;
  } boot;

  struct Rollout {
    int max_concurrent = 3;
    Duration timeout{900000};
  } rollout;

  struct Drain {
    Duration timeout{900000};
  } drain;

  struct Loop {
    Duration cooldown{300000};
  } loop;

  struct Exclusions {
    std::vector<std::string> namespaces = {"kube-system"};
    std::string label_selector;          // pods matching it are never moved
  } exclusions;

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
};

StatusOr<ControllerConfig> ParseControllerConfig(const std::string& yaml_text);
StatusOr<ControllerConfig> LoadControllerConfig(const std::string& path);

}  // namespace kinema
