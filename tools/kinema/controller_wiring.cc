#include "tools/kinema/controller_wiring.h"

#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <set>
#include <thread>

#include "engine/cloud/gce_provider.h"
#include "engine/cloud/gke_provider.h"
#include "engine/cloud/token_source.h"
#include "engine/pricing/billing_client.h"
#include "engine/pricing/live_prices.h"
#include "engine/workflow/static_epoch_provider.h"

namespace kinema::controller {

std::string Identity(const ControllerConfig& c) {
  if (!c.leader_election.identity.empty()) return c.leader_election.identity;
  const char* pod = std::getenv("POD_NAME");
  char host[256] = {0};
  ::gethostname(host, sizeof(host) - 1);
  return std::string(pod && *pod ? pod : host) + "-" + std::to_string(::getpid());
}

// Tokens from cloud.tokenFile, else — for Google's endpoints — the metadata
// server; a custom endpoint without a token file (a simulator or a proxy
// that adds credentials) gets no token.
StatusOr<std::unique_ptr<cloud::CloudProvider>> MakeCloudProvider(const ControllerConfig::Cloud& c,
                                                                  const Catalog& catalog) {
  if (c.project.empty()) return std::unique_ptr<cloud::CloudProvider>();
  auto http = std::make_shared<const http::HttpClient>();
  auto tokens = cloud::ChooseTokenSource(c.endpoint, c.token_file, http);
  cloud::GceOptions o;
  if (!c.endpoint.empty()) o.endpoint = c.endpoint;
  o.project = c.project;
  o.zones = c.zones;
  o.instance_template = c.instance_template;
  o.instance_prefix = c.instance_prefix;
  if (c.provider == "gke") {
    cloud::GkeOptions g;
    g.compute = o;
    if (!c.container_endpoint.empty()) g.container_endpoint = c.container_endpoint;
    g.location = c.location;
    g.cluster = c.cluster;
    g.pool_mode = c.node_pools == "existing" ? cloud::NodePoolMode::kExisting : cloud::NodePoolMode::kCreate;
    g.catalog = catalog;
    auto p = cloud::GkeCloudProvider::Create(std::move(g), std::move(tokens), http);
    if (!p.ok()) return p.status();
    return std::unique_ptr<cloud::CloudProvider>(std::move(*p));
  }
  if (c.provider != "gce") return Status::InvalidArgument("cloud.provider: unsupported provider '" + c.provider + "'");
  if (o.instance_template.empty() && cloud::IsGoogleEndpoint(o.endpoint)) {
    spdlog::warn("cloud: provider gce without cloud.instanceTemplate on the real GCE endpoint: node boots will be "
                 "refused (set cloud.instanceTemplate to a template carrying the node's join logic)");
  }
  auto p = cloud::GceCloudProvider::Create(o, std::move(tokens), http);
  if (!p.ok()) return p.status();
  return std::unique_ptr<cloud::CloudProvider>(std::move(*p));
}

StatusOr<std::unique_ptr<pricing::PriceBook>> MakePriceBook(const ControllerConfig& c, const Catalog& catalog,
                                                            cloud::CloudProvider* cloud) {
  pricing::PriceBookOptions po;
  po.source = c.pricing.source;
  po.refresh = c.pricing.refresh;
  po.retry_after_failure = std::min(po.retry_after_failure, po.refresh);
  if (c.pricing.source != "billing") return std::make_unique<pricing::PriceBook>(catalog, po, nullptr);
  if (!cloud) {
    return Status::InvalidArgument("pricing.source billing needs the cloud provider (cloud.project) for machineTypes");
  }
  if (catalog.region.empty()) {
    return Status::InvalidArgument("pricing.source billing: the catalog file names no region");
  }
  auto http = std::make_shared<const http::HttpClient>();
  pricing::BillingOptions bo;
  if (!c.pricing.endpoint.empty()) bo.endpoint = c.pricing.endpoint;
  std::shared_ptr<cloud::TokenSource> tokens(cloud::ChooseTokenSource(bo.endpoint, c.cloud.token_file, http).release());
  auto billing = pricing::BillingCatalogClient::Create(bo, tokens, http);
  if (!billing.ok()) return billing.status().WithContext("pricing");
  // The catalog's zones (within cloud.zones when set): where its types run.
  std::set<std::string> zones;
  for (const auto& mt : catalog.machine_types) {
    for (const auto& z : mt.zones) {
      if (c.cloud.zones.empty() || std::find(c.cloud.zones.begin(), c.cloud.zones.end(), z) != c.cloud.zones.end()) {
        zones.insert(z);
      }
    }
  }
  std::vector<std::string> types;
  for (const auto& mt : catalog.machine_types) types.push_back(mt.name);
  std::shared_ptr<pricing::BillingCatalogClient> client(std::move(*billing));
  pricing::PriceBook::Fetch fetch = [client, cloud, region = catalog.region,
                                     zone_list = std::vector<std::string>(zones.begin(), zones.end()), types]() {
    return pricing::FetchLivePrices(*client, *cloud, region, zone_list, types);
  };
  spdlog::info("pricing: live prices from {} for {} ({} zone(s)), refreshed every {}; the catalog file {} is the fallback",
               client->Describe(), catalog.region, zones.size(), FormatDuration(c.pricing.refresh), c.catalog);
  return std::make_unique<pricing::PriceBook>(catalog, po, std::move(fetch));
}

void DescribeEngineMetrics(Metrics* m) {
  m->Describe("kinema_leader", "gauge", "1 while this process holds the leader lease (and so may act).");
  m->Describe("kinema_workflows", "gauge", "Workflows in the journal, by status.");
  m->Describe("kinema_journal_commits_total", "counter", "Journal transactions committed (each fsynced).");
  m->Describe("kinema_journal_commit_seconds_total", "counter", "Total seconds spent committing journal transactions.");
  m->Describe("kinema_journal_commit_seconds_max", "gauge", "Slowest journal commit so far.");
  m->Describe("kinema_journal_wal_bytes", "gauge", "Size of the journal's write-ahead log file.");
  m->Describe("kinema_lease_transitions_total", "counter", "Times this process acquired the leader lease.");
  m->Describe("kinema_evictions_total", "counter", "Pods evicted through the Eviction API, by workflow type.");
  m->Describe("kinema_disruption_budget_allowed", "gauge",
              "Nodes the shared disruption budget allows to be disrupted at once, by reason (at the last node count seen).");
  m->Describe("kinema_disruption_held", "gauge", "Nodes and pods held in the disruption ledger by unfinished workflows, by what.");
}

void Leadership::Stop() {
  stopping.store(true);
  if (elector) elector->Stop();
}

Status StartLeadership(const ControllerConfig& c, kube::Client* client, JournalWriter* journal, WorkflowEngine* engine,
                       Metrics* metrics, ForwardingEpochProvider* epochs, Leadership* out) {
  if (!c.leader_election.enabled) {
    auto single = std::make_unique<StaticEpochProvider>(journal->FenceEpoch() + 1, "single");
    spdlog::warn("leader election disabled: this process assumes it is the only controller (epoch {})",
                 single->Current()->value);
    epochs->SetTarget(single.get());
    out->single = std::move(single);
    return Status::OK();
  }
  kube::LeaderElectionConfig lc;
  lc.lease_namespace = c.leader_election.namespace_;
  lc.lease_name = c.leader_election.name;
  lc.identity = Identity(c);
  lc.lease_duration = c.leader_election.lease_duration;
  lc.renew_deadline = c.leader_election.renew_deadline;
  lc.retry_period = c.leader_election.retry_period;
  lc.min_epoch = journal->FenceEpoch() + 1;
  lc.on_started_leading = [metrics](const Epoch& e) {
    spdlog::info("leading with epoch {}", e.value);
    metrics->Add("kinema_lease_transitions_total", {});
  };
  std::atomic<bool>* stopping = &out->stopping;
  lc.on_stopped_leading = [engine, stopping](const Epoch& e) {
    if (stopping->load()) {
      spdlog::info("released the leader lease (epoch {})", e.value);
      return;
    }
    spdlog::error("lost leadership (epoch {}): stopping all work", e.value);
    engine->RequestStop();
  };
  auto el = kube::LeaderElector::Create(client, lc);
  if (!el.ok()) return el.status().WithContext("leader election");
  out->elector = std::move(*el);
  client->SetMutationGate(out->elector.get());
  epochs->SetTarget(out->elector.get());
  out->elector->Start();
  return Status::OK();
}

namespace {

// Ready either way (a standby is healthy); the leader adds what each kind
// is doing, one line per kind.
std::string ReadyzBody(const EpochProvider* epochs, const KindScheduler* scheduler) {
  if (!epochs->Current()) return "ok: standby (not leading)\n";
  std::string body = "ok: leading\n";
  for (const auto& s : scheduler->States()) body += s.type + ": " + s.detail + "\n";
  return body;
}

void RefreshGauges(Metrics* metrics, const EpochProvider* epochs, JournalWriter* journal, const DisruptionLedger* ledger) {
  metrics->Set("kinema_leader", {}, epochs->Current() ? 1 : 0);
  for (WorkflowStatus st : {WorkflowStatus::kRunning, WorkflowStatus::kPaused, WorkflowStatus::kCompleted,
                            WorkflowStatus::kAborted, WorkflowStatus::kFailed}) {
    auto ids = journal->WorkflowIds(st);
    if (ids.ok()) metrics->Set("kinema_workflows", {{"status", WorkflowStatusName(st)}}, static_cast<double>(ids->size()));
  }
  auto cs = journal->commit_stats();
  metrics->Set("kinema_journal_commits_total", {}, static_cast<double>(cs.commits));
  metrics->Set("kinema_journal_commit_seconds_total", {}, cs.total_seconds);
  metrics->Set("kinema_journal_commit_seconds_max", {}, cs.max_seconds);
  struct stat wal {};
  metrics->Set("kinema_journal_wal_bytes", {},
               ::stat((journal->path() + "-wal").c_str(), &wal) == 0 ? static_cast<double>(wal.st_size) : 0);
  if (ledger) {
    int64_t nodes = 0, pods = 0, base = 0;
    for (const auto& [id, h] : ledger->Snapshot()) {
      nodes += static_cast<int64_t>(h.retiring.size());
      pods += static_cast<int64_t>(h.pods.size());
      base = std::max(base, h.node_count);
    }
    metrics->Set("kinema_disruption_held", {{"what", "nodes"}}, static_cast<double>(nodes));
    metrics->Set("kinema_disruption_held", {{"what", "pods"}}, static_cast<double>(pods));
    if (base > 0) {
      for (const auto& reason : KnownDisruptionReasons()) {
        auto a = AllowedNodes(ledger->options().budgets, reason, base, NowMs());
        if (a.allowed != INT64_MAX) metrics->Set("kinema_disruption_budget_allowed", {{"reason", reason}}, static_cast<double>(a.allowed));
      }
    }
  }
}

}  // namespace

StatusOr<std::unique_ptr<StatusServer>> StartStatusServer(const ControllerConfig& c, Metrics* metrics,
                                                          const EpochProvider* epochs, JournalWriter* journal,
                                                          const KindScheduler* scheduler, const DisruptionLedger* ledger) {
  if (c.server.address.empty()) return std::unique_ptr<StatusServer>();
  StatusServer::Handlers h;
  h.healthz = [] { return StatusReply{200, "text/plain; charset=utf-8", "ok\n"}; };
  h.readyz = [epochs, scheduler] { return StatusReply{200, "text/plain; charset=utf-8", ReadyzBody(epochs, scheduler)}; };
  h.metrics = [metrics, epochs, journal, ledger] {
    RefreshGauges(metrics, epochs, journal, ledger);
    return StatusReply{200, "text/plain; version=0.0.4; charset=utf-8", metrics->Render()};
  };
  auto started = StatusServer::Start(c.server.address, std::move(h));
  if (!started.ok()) return started.status();
  spdlog::info("serving /healthz /readyz /metrics on {} (port {})", c.server.address, (*started)->port());
  return std::move(*started);
}

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
  return [point, step, ms](const std::string& p, const std::string& id, int idx) {
    if (p != point || idx != step) return;
    spdlog::warn("test hook: reached {} of step {} in {}; sleeping {} ms", point, step, id, ms);
    std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  };
}

}  // namespace kinema::controller
