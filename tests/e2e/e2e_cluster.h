// E2eCluster: a whole simulated environment for end-to-end tests of the
// real controller — kinema-sim (API server, controllers, scheduler, kubelet,
// fake GCE, usage model) on a generated over-provisioned scenario, optionally
// a real Prometheus scraping it, and a kinema config pointing at both.
// Every piece is a real process; nothing is mocked.
// Thread-safety: one test thread.
#pragma once

#include <sys/types.h>

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "tests/support/test_support.h"

namespace kinema::e2e {

struct E2eOptions {
  int nodes = 12;
  int scale = 2;               // replica multiplier of make_scenario.py
  double time_scale = 10;      // simulated seconds per wall second
  bool prometheus = true;      // start /usr/bin/prometheus when installed
  bool prometheus_standin = false;  // prometheus.url: kinema-sim's /prometheus/ stand-in (instead of a real one)
  std::string prometheus_timeout;   // prometheus.timeout when non-empty
  std::string scenario_json = "{}";  // --scenario document (cloud delays etc.)
  std::string faults_json;           // kinema-sim --faults document (empty: no faults)
  double min_savings = 0.10;   // decision.minSavings
  std::string node_budget = "100%";  // budgets: [{nodes: ...}] (the shared disruption budget); "": the default (10%)
  bool raised_decision_budgets = true;  // decision.maxNodesRetired 25, maxPodsMoved 1000; false: the defaults (10, 500)
  std::vector<std::string> scenario_args;  // more make_scenario.py flags (--heavy 3, --type ...)
  double max_change = 0.10;    // decision.maxChange
  std::string optimizer_time_limit = "3s";
  std::string step_timeout = "2m";  // boot.timeout, rollout.timeout, drain.timeout
  std::string stall_timeout;        // rollout.stallTimeout ("": the default, 2m)
  int rollout_max_concurrent = 0;   // rollout.maxConcurrent (0: the default, 3)
  std::string lease = "leaseDuration: 4s\n  renewDeadline: 3s\n  retryPeriod: 500ms";
  std::string extra_config;    // appended to kinema.yaml (top-level keys not written above)
  bool tls = false;            // kinema-sim --tls (HTTPS; the port also takes plain HTTP)
  std::vector<std::string> sim_args;  // more kinema-sim flags (--run-image ..., --state-dir ...)
  // cloud.provider of the controller: "gce", or "gke" (node pools through
  // the sim's /container/v1, location us-central1, cluster sim-cluster; the
  // scenario should say "cloud": {"mode": "gke"}).
  std::string cloud_provider = "gce";
  bool billing_prices = false;  // pricing.source: billing from the sim's /cloudbilling/v1
  // Prometheus also evaluates the shipped rules (deploy/prometheus/kinema-rules.yaml)
  // and scrapes with honor_labels: true (the sim's node-exporter series carry
  // their own instance label).
  bool prometheus_rules = false;
};

class E2eCluster {
 public:
  explicit E2eCluster(E2eOptions options);
  ~E2eCluster();

  // Generates the scenario and starts the processes. Empty string = OK,
  // otherwise what failed (with the process logs).
  std::string Start();

  const std::string& dir() const { return dir_.path(); }
  std::string File(const std::string& name) const { return dir_.File(name); }
  const std::string& config() const { return config_; }
  const std::string& journal() const { return journal_; }
  const std::string& server() const { return server_; }
  // The simulator over plain HTTP (with --tls the port serves both).
  std::string plain_server() const;
  bool has_prometheus() const { return prom_ > 0; }
  // http://127.0.0.1:PORT of the Prometheus started (empty without one).
  const std::string& prometheus_url() const { return prom_url_; }

  // GET /sim/v1/report (null on failure).
  nlohmann::json Report() const;
  // kubectl --kubeconfig ... <args> -o json, parsed (null on failure).
  nlohmann::json KubectlJson(const std::vector<std::string>& args) const;
  // "ns/name" of every room-hold pod (kinema.io/room-hold) in the cluster;
  // {"<kubectl failed>"} when the listing fails.
  std::vector<std::string> RoomHoldsLeft() const;
  testing::ProcessResult Kubectl(const std::vector<std::string>& args) const;
  // kinemactl --db <journal> --json <args>, parsed (null on failure).
  nlohmann::json Kinemactl(const std::vector<std::string>& args) const;

  // Runs `kinema --config <config> --once [extra]` to completion.
  testing::ProcessResult RunKinemaOnce(const std::vector<std::string>& extra = {}) const;
  // Starts `kinema --config <config> <args>` in the background.
  pid_t StartKinema(const std::vector<std::string>& args, const std::string& log_name) const;
  // Polls kinemactl until the only/first workflow's current step is `step`
  // (or the workflow reached `step`'s status); empty id on timeout.
  std::string WaitForCurrentStep(const std::string& step, int timeout_ms) const;

  // Diagnostics for failure messages: tails of every log.
  std::string Logs() const;

 private:
  E2eOptions options_;
  testing::TempDir dir_;
  std::string config_, journal_, server_, prom_url_;
  pid_t sim_ = -1, prom_ = -1;
};

// Availability and safety, from the simulator's report (gtest expectations):
// no Deployment below minAvailable, no PDB violation, no orphan instance, no
// duplicate create.
void ExpectNoHarm(const nlohmann::json& report);

// The result of step `step` in a `kinemactl show` document; null when it has
// none yet. The pointer stays valid while `show` lives.
const nlohmann::json* StepResult(const nlohmann::json& show, const std::string& step);

// `kinemactl show` of the newest workflow in the journal (null when none).
nlohmann::json ShowLatest(const E2eCluster& c);

// SIGKILL `pid` and reap it.
void KillProcess(pid_t pid);

// The input of the first step_intent event `step` journaled, from a
// `kinemactl show` document (its "events"); null until there is one.
nlohmann::json JournaledIntent(const nlohmann::json& show, const std::string& step);

// Nodes that still carry a kinema.io/retire label or taint.
std::vector<nlohmann::json> NodesWithKinemaMarks(const E2eCluster& c);

// The leader lease of the kill campaigns (E2eOptions::lease): a killed
// leader's successor takes over within ~2 s, so kills cost seconds, not the
// default 15 s lease each.
inline constexpr const char* kKillCampaignLease = "leaseDuration: 2s\n  renewDeadline: 1500ms\n  retryPeriod: 250ms";

// A kill campaign's size from the environment variable `var` (tools/test.sh
// --long raises it), `fallback` when unset or not a positive number.
int KillsFromEnv(const char* var, int fallback);

// The last `n` characters of `text` ("..." first when cut).
std::string Tail(const std::string& text, size_t n = 3000);

// How many nodes a plan (the optimization step's result.plan) boots and retires.
struct PlanActions {
  int boot = 0, retire = 0;
};
PlanActions CountPlanActions(const nlohmann::json& plan);

}  // namespace kinema::e2e
