// kinema: the controller (operations.md).
//
//   kinema --config FILE [--once] [--dry-run]
//
// Opens the journal (the only writer), elects a leader through the
// kube-system/kinema Lease (its epoch fences the journal), and runs
// rescheduling iterations as durable workflows: an unfinished one is resumed
// first; then, with --once, the process exits 0 after one iteration reaches
// a terminal state; otherwise it loops with loop.cooldown between
// iterations until SIGTERM (safe-point stop, exit 0).
//
// The cloud provider (GCE Compute REST) is built from the cloud.* keys;
// without cloud.project the controller still runs, and a plan that boots or
// deletes an instance fails its step with that reason.
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdio>
#include <ctime>
#include <iostream>
#include <thread>

#include "engine/catalog/catalog.h"
#include "engine/cloud/gce_provider.h"
#include "engine/cloud/token_source.h"
#include "engine/common/flags.h"
#include "engine/common/logging.h"
#include "engine/common/safe_json.h"
#include "engine/config/controller_config.h"
#include "engine/kube/client.h"
#include "engine/kube/leader_elector.h"
#include "engine/kube/rest_config.h"
#include "engine/runtime/workflow_service.h"
#include "engine/status/metrics.h"
#include "engine/status/status_server.h"
#include "engine/workflow/forwarding_epoch_provider.h"
#include "engine/workflow/static_epoch_provider.h"
#include "steps/rescheduling/rescheduling_workflow.h"

using namespace kinema;

namespace {

const char* kUsage =
    "Usage: kinema --config FILE [--once] [--dry-run]\n"
    "Kinema: durable, cost-aware rescheduling of a Kubernetes cluster.\n"
    "Each iteration (stability wait, prediction, optimization, decision, ...) is a\n"
    "durable workflow journaled to SQLite; inspect and steer it with kinemactl.\n\nFlags:\n";

std::string IterationId() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof(buf), "iteration-%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

std::string Identity(const ControllerConfig& c) {
  if (!c.leader_election.identity.empty()) return c.leader_election.identity;
  const char* pod = std::getenv("POD_NAME");
  char host[256] = {0};
  ::gethostname(host, sizeof(host) - 1);
  return std::string(pod && *pod ? pod : host) + "-" + std::to_string(::getpid());
}

// Set once the process is shutting down on purpose (lease release is not a loss).
std::atomic<bool>& stopping_flag() {
  static std::atomic<bool> flag{false};
  return flag;
}

// Waits until the epoch provider holds an epoch (or stop). False on stop.
bool AwaitLeadership(WorkflowEngine& engine, const EpochProvider& epochs) {
  bool logged = false;
  while (!engine.stop_requested()) {
    if (epochs.Current()) return true;
    if (!logged) spdlog::info("waiting to become leader");
    logged = true;
    engine.WaitForWork(500);
  }
  return false;
}

// The GCE provider from config: tokens from cloud.tokenFile, else — for the
// real endpoint — the metadata server; a custom endpoint without a token
// file (a simulator or a proxy that adds credentials) gets no token.
StatusOr<std::unique_ptr<cloud::CloudProvider>> MakeCloudProvider(const ControllerConfig::Cloud& c) {
  if (c.project.empty()) return std::unique_ptr<cloud::CloudProvider>();
  if (c.provider != "gce") return Status::InvalidArgument("cloud.provider: unsupported provider '" + c.provider + "' (gce)");
  auto http = std::make_shared<const http::HttpClient>();
  std::unique_ptr<cloud::TokenSource> tokens;
  if (!c.token_file.empty()) {
    tokens = cloud::NewFileTokenSource(c.token_file);
  } else if (c.endpoint.empty()) {
    tokens = std::make_unique<cloud::MetadataTokenSource>(http, cloud::MetadataTokenOptions{});
  } else {
    tokens = cloud::NewNoTokenSource();
  }
  cloud::GceOptions o;
  if (!c.endpoint.empty()) o.endpoint = c.endpoint;
  o.project = c.project;
  o.zones = c.zones;
  auto p = cloud::GceCloudProvider::Create(o, std::move(tokens), http);
  if (!p.ok()) return p.status();
  return std::unique_ptr<cloud::CloudProvider>(std::move(*p));
}

// Test hook for end-to-end tests: KINEMA_TEST_DELAY="<point>:<step index>:<ms>"
// sleeps at that engine hook point ("after_result", "after_intent", or a
// step's own point such as "deployment_patched") so a test can act at a
// known moment (change the cluster mid-plan, abort mid-rollout). Unset in
// production; logged loudly when set.
std::function<void(const std::string&, const std::string&, int)> TestDelayHook() {
  const char* spec = std::getenv("KINEMA_TEST_DELAY");
  if (!spec || !*spec) return nullptr;
  std::string s = spec;
  size_t a = s.find(':'), b = s.rfind(':');
  if (a == std::string::npos || b == a) {
    spdlog::warn("KINEMA_TEST_DELAY='{}' ignored: want <point>:<step index>:<ms>", s);
    return nullptr;
  }
  std::string point = s.substr(0, a);
  int step = std::atoi(s.substr(a + 1, b - a - 1).c_str());
  int ms = std::atoi(s.substr(b + 1).c_str());
  spdlog::warn("test hook: sleeping {} ms at {} of step {} (KINEMA_TEST_DELAY)", ms, point, step);
  return [point, step, ms](const std::string& p, const std::string&, int idx) {
    if (p == point && idx == step) std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  };
}

void DescribeMetrics(Metrics& m) {
  m.Describe("kinema_leader", "gauge", "1 while this process holds the leader lease (and so may act).");
  m.Describe("kinema_iterations_total", "counter", "Iterations that reached a terminal state, by outcome.");
  m.Describe("kinema_cost_per_hour", "gauge",
             "Cluster cost per hour of the last planned iteration: before, and as planned.");
  m.Describe("kinema_nodes_booted_total", "counter", "Nodes booted by iterations.");
  m.Describe("kinema_nodes_retired_total", "counter", "Nodes drained and deleted by iterations.");
  m.Describe("kinema_deployments_patched_total", "counter", "Deployment rollouts started by iterations.");
  m.Describe("kinema_plan_gap", "gauge", "Relative gap between the last plan and its lower bound.");
  m.Describe("kinema_solver_seconds", "gauge", "Wall-clock seconds the optimizer took for the last plan.");
  m.Describe("kinema_savings_ratio", "gauge", "Planned saving of the last plan: 1 - after/before.");
  m.Describe("kinema_pods_moved_total", "counter", "Pods the executed plans moved (plan moves of completed iterations).");
  m.Describe("kinema_evictions_total", "counter", "Pods evicted by iterations (Eviction API).");
  m.DescribeHistogram("kinema_step_duration_seconds", "Seconds from a step's first start to its finish, by step.",
                      {0.1, 0.5, 1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600});
  m.Describe("kinema_step_retries_total", "counter", "Step attempts beyond the first, by step.");
  m.Describe("kinema_workflows", "gauge", "Workflows in the journal, by status.");
  m.Describe("kinema_journal_commits_total", "counter", "Journal transactions committed (each fsynced).");
  m.Describe("kinema_journal_commit_seconds_total", "counter", "Seconds spent committing journal transactions (fsync included).");
  m.Describe("kinema_journal_commit_seconds_max", "gauge", "Slowest journal commit so far.");
  m.Describe("kinema_journal_wal_bytes", "gauge", "Size of the journal's write-ahead log file.");
  m.Describe("kinema_lease_transitions_total", "counter", "Times this process acquired the leader lease.");
}

// Updates the metrics from a workflow that just ran (terminal or not).
void RecordIteration(Metrics& m, const WorkflowView& v) {
  if (!v.IsTerminal()) return;
  std::string outcome = v.outcome.empty() ? v.status : v.outcome;
  m.Add("kinema_iterations_total", {{"outcome", outcome}});
  for (const auto& s : v.steps) {
    if (s.attempts > 1) m.Add("kinema_step_retries_total", {{"step", s.name}}, s.attempts - 1);
    if (s.started_ms > 0 && s.finished_ms >= s.started_ms) {
      m.Observe("kinema_step_duration_seconds", {{"step", s.name}}, (s.finished_ms - s.started_ms) / 1000.0);
    }
    if (s.status != "succeeded" || !s.result.is_object()) continue;
    // Journaled results are read like any outside JSON (safe_json): a damaged
    // row cannot throw out of the controller loop.
    auto count = [&](const char* key) {
      const nlohmann::json* a = safe_json::FindArray(s.result, key);
      return a == nullptr ? 0.0 : static_cast<double>(a->size());
    };
    if (const nlohmann::json* plan = safe_json::FindObject(s.result, "plan"); s.name == "optimization" && plan) {
      double before = safe_json::Number(*plan, "costPerHourBefore"), after = safe_json::Number(*plan, "costPerHourAfter");
      m.Set("kinema_cost_per_hour", {{"phase", "before"}}, before);
      m.Set("kinema_cost_per_hour", {{"phase", "planned"}}, after);
      m.Set("kinema_savings_ratio", {}, before > 0 ? 1 - after / before : 0);
      m.Set("kinema_solver_seconds", {}, safe_json::Number(*plan, "solveSeconds"));
      m.Set("kinema_plan_gap", {}, safe_json::Number(s.result, "gap", -1.0));
      if (v.status == "completed" && v.outcome.empty()) {
        m.Add("kinema_pods_moved_total", {}, static_cast<double>(safe_json::Int(*plan, "moves")));
      }
    } else if (s.name == "node-boot") {
      m.Add("kinema_nodes_booted_total", {}, count("booted"));
    } else if (s.name == "deployment-patch") {
      m.Add("kinema_deployments_patched_total", {}, count("deployments"));
      m.Add("kinema_evictions_total", {}, count("evicted"));
    } else if (s.name == "drain-and-delete") {
      int n = 0;
      int64_t evicted = 0;
      if (const nlohmann::json* nodes = safe_json::FindArray(s.result, "nodes")) {
        for (const auto& e : *nodes) {
          n += safe_json::String(e, "outcome") != "kept";
          evicted += std::clamp<int64_t>(safe_json::Int(e, "evicted"), 0, 1000000);
        }
      }
      m.Add("kinema_nodes_retired_total", {}, n);
      m.Add("kinema_evictions_total", {}, static_cast<double>(evicted));
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);  // a closed peer (socket, log pipe) is an error value, never a kill
  FlagSet flags;
  flags.AddString("config", "", "YAML configuration (see README: configuration reference)");
  flags.AddBool("once", "run one iteration (resuming an unfinished one first) and exit");
  flags.AddBool("dry-run", "plan and journal, mutate nothing");
  flags.AddBool("help", "show this help");
  Status ps = flags.Parse(std::vector<std::string>(argv + 1, argv + argc), 0);
  if (!ps.ok()) {
    std::fprintf(stderr, "kinema: %s (see --help)\n", ps.message().c_str());
    return 2;
  }
  if (flags.GetBool("help")) {
    std::cout << kUsage << flags.Usage();
    return 0;
  }
  if (flags.Get("config").empty()) {
    std::fprintf(stderr, "kinema: --config FILE is required (see --help)\n");
    return 2;
  }
  auto cfg = LoadControllerConfig(flags.Get("config"));
  if (!cfg.ok()) {
    std::fprintf(stderr, "kinema: %s\n", cfg.status().message().c_str());
    return 2;
  }
  bool dry_run = flags.GetBool("dry-run") || cfg->dry_run;
  SetupLogging(cfg->logging.format, cfg->logging.level);

  auto catalog = LoadCatalogFile(cfg->catalog);
  if (!catalog.ok()) {
    spdlog::error("catalog {}: {}", cfg->catalog, catalog.status().message());
    return 1;
  }
  auto rest = cfg->kubeconfig.empty() ? kube::LoadInClusterConfig() : kube::LoadKubeconfig(cfg->kubeconfig);
  if (!rest.ok()) {
    spdlog::error("kubernetes config: {}", rest.status().message());
    return 1;
  }
  // The identity in the User-Agent lets API audit logs tell replicas apart.
  kube::ClientOptions client_options;
  client_options.user_agent = "kinema/0.1 (" + Identity(*cfg) + ")";
  auto client = kube::Client::Create(*rest, client_options);
  if (!client.ok()) {
    spdlog::error("kubernetes client: {}", client.status().message());
    return 1;
  }

  auto cloud = MakeCloudProvider(cfg->cloud);
  if (!cloud.ok()) {
    spdlog::error("cloud: {}", cloud.status().message());
    return cloud.status().code() == Status::Code::kInvalidArgument ? 2 : 1;
  }
  if (*cloud) {
    spdlog::info("cloud provider: {}", (*cloud)->Describe());
  } else {
    spdlog::warn("cloud.project is not set: iterations that boot or delete instances will fail at that step");
  }

  rescheduling::ReschedulingDeps deps;
  deps.kube = client->get();
  deps.cloud = cloud->get();
  deps.catalog = &*catalog;
  deps.config = *cfg;
  deps.dry_run = dry_run;
  WorkflowRegistry registry;
  Status rs = registry.Register(rescheduling::MakeReschedulingWorkflow(deps));
  if (!rs.ok()) {
    spdlog::error("{}", rs.ToString());
    return 1;
  }

  ForwardingEpochProvider epochs;
  ServiceOptions so;
  so.journal_path = cfg->journal;
  EngineOptions eo;
  eo.hook = TestDelayHook();
  WorkflowService service(so, &registry, &epochs, eo);
  Status os = service.Open();
  if (!os.ok()) {
    spdlog::error("cannot start: {}", os.ToString());
    return 1;
  }

  Metrics metrics;
  DescribeMetrics(metrics);
  std::unique_ptr<kube::LeaderElector> elector;
  StaticEpochProvider single(service.journal().FenceEpoch() + 1, "single");
  if (cfg->leader_election.enabled) {
    kube::LeaderElectionConfig lc;
    lc.lease_namespace = cfg->leader_election.namespace_;
    lc.lease_name = cfg->leader_election.name;
    lc.identity = Identity(*cfg);
    lc.lease_duration = cfg->leader_election.lease_duration;
    lc.renew_deadline = cfg->leader_election.renew_deadline;
    lc.retry_period = cfg->leader_election.retry_period;
    lc.min_epoch = service.journal().FenceEpoch() + 1;
    WorkflowEngine* engine = &service.engine();

    lc.on_started_leading = [&metrics](const Epoch& e) {
      spdlog::info("leading with epoch {}", e.value);
      metrics.Add("kinema_lease_transitions_total", {});
    };
    lc.on_stopped_leading = [engine](const Epoch& e) {
      if (stopping_flag().load()) {
        spdlog::info("released the leader lease (epoch {})", e.value);
        return;
      }
      spdlog::error("lost leadership (epoch {}): stopping all work", e.value);
      engine->RequestStop();
    };
    auto el = kube::LeaderElector::Create(client->get(), lc);
    if (!el.ok()) {
      spdlog::error("leader election: {}", el.status().message());
      return 1;
    }
    elector = std::move(*el);
    (*client)->SetMutationGate(elector.get());
    epochs.SetTarget(elector.get());
    elector->Start();
  } else {
    spdlog::warn("leader election disabled: this process assumes it is the only controller (epoch {})",
                 single.Current()->value);
    epochs.SetTarget(&single);
  }

  // /healthz: the process serves; /readyz: the journal is open and this
  // process either leads or is a healthy standby; /metrics: Prometheus text.
  std::unique_ptr<StatusServer> status_server;
  if (!cfg->server.address.empty()) {
    StatusServer::Handlers h;
    h.healthz = [] { return StatusReply{200, "text/plain; charset=utf-8", "ok\n"}; };
    h.readyz = [&epochs] {
      return StatusReply{200, "text/plain; charset=utf-8",
                         epochs.Current() ? "ok: leading\n" : "ok: standby (not leading)\n"};
    };
    JournalWriter* journal = &service.journal();
    h.metrics = [&metrics, &epochs, journal] {
      metrics.Set("kinema_leader", {}, epochs.Current() ? 1 : 0);
      for (const char* st : {"running", "paused", "completed", "aborted", "failed"}) {
        auto ids = journal->WorkflowIds(st);
        if (ids.ok()) metrics.Set("kinema_workflows", {{"status", st}}, static_cast<double>(ids->size()));
      }
      auto cs = journal->commit_stats();
      metrics.Set("kinema_journal_commits_total", {}, static_cast<double>(cs.commits));
      metrics.Set("kinema_journal_commit_seconds_total", {}, cs.total_seconds);
      metrics.Set("kinema_journal_commit_seconds_max", {}, cs.max_seconds);
      struct stat wal {};
      metrics.Set("kinema_journal_wal_bytes", {},
                  ::stat((journal->path() + "-wal").c_str(), &wal) == 0 ? static_cast<double>(wal.st_size) : 0);
      return StatusReply{200, "text/plain; version=0.0.4; charset=utf-8", metrics.Render()};
    };
    auto started = StatusServer::Start(cfg->server.address, std::move(h));
    if (!started.ok()) {
      spdlog::error("{}", started.status().message());
      return 1;
    }
    status_server = std::move(*started);
    spdlog::info("serving /healthz /readyz /metrics on {} (port {})", cfg->server.address, status_server->port());
  }

  bool once = flags.GetBool("once");
  int rc = service.Run([&](WorkflowEngine& engine) -> Status {
    while (!engine.stop_requested()) {
      if (!AwaitLeadership(engine, epochs)) return Status::OK();
      // Resume unfinished iterations first.
      auto running = engine.journal()->WorkflowIds("running");
      if (!running.ok()) return running.status();
      std::string id;
      if (!running->empty()) {
        id = running->front();
        spdlog::info("resuming unfinished iteration {}", id);
      } else {
        auto paused = engine.journal()->WorkflowIds("paused");
        if (!paused.ok()) return paused.status();
        // A failed iteration that was not terminated is resumable and may be
        // mid-rollout: like a paused one, it blocks new iterations.
        auto failed = engine.journal()->WorkflowIds("failed");
        if (!failed.ok()) return failed.status();
        for (const auto& fid : *failed) {
          auto fv = engine.journal()->View(fid);
          if (fv.ok() && !fv->terminated) paused->push_back(fid);
        }
        if (!paused->empty()) {
          // Never start a new iteration over a paused one (it may be mid-rollout).
          if (once) {
            return Status::FailedPrecondition("iteration " + paused->front() +
                                              " is paused or failed; resume or abort it with kinemactl");
          }
          spdlog::warn("iteration {} is paused or failed; no new iteration starts until it is resumed or aborted",
                       paused->front());
          engine.WaitForWork(static_cast<int>(cfg->loop.cooldown.count()));
          continue;
        }
        id = IterationId();
        auto v = engine.Start(rescheduling::kWorkflowType, id, {{"dryRun", dry_run}});
        if (!v.ok()) return v.status();
      }
      auto v = engine.Run(id);
      if (!v.ok()) return v.status();
      RecordIteration(metrics, *v);
      spdlog::info("iteration {} is {}{}", id, v->status, v->outcome.empty() ? "" : " (" + v->outcome + ")");
      if (once && v->IsTerminal()) return Status::OK();
      if (once && (v->status == "paused" || v->status == "failed")) {
        return Status::FailedPrecondition("iteration " + id + " is " + v->status + ": " +
                                          (v->pause_reason.empty() ? v->last_error : v->pause_reason) +
                                          " (resume or abort it with kinemactl)");
      }
      if (once && !v->IsTerminal() && engine.stop_requested()) return Status::OK();
      if (v->status == "running") continue;  // e.g. interrupted; re-evaluate
      engine.WaitForWork(static_cast<int>(cfg->loop.cooldown.count()));
    }
    return Status::OK();
  });
  if (elector) {
    stopping_flag().store(true);
    elector->Stop();
  }
  if (status_server) status_server->Stop();
  return rc;
}
