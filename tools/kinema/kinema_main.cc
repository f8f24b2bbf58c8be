// kinema: the controller (operations.md).
//
//   kinema --config FILE [--once] [--dry-run] [--kind TYPE]...
//
// Wiring only: reads the configuration (global keys and every workflow
// kind's sections), opens the journal (the only writer), elects a leader
// through the Lease (its epoch fences the journal), builds the kinds'
// workflow types, and hands the engine to the KindScheduler
// (engine/runtime/kind_scheduler.h), which decides what runs when. With
// --once every selected kind runs one workflow and the process exits 0 when
// all reached a terminal state, 1 otherwise (with the reasons); without it,
// it loops until SIGTERM (safe-point stop, exit 0). Exit 2: usage or config
// error (before anything is opened or contacted).
#include <spdlog/spdlog.h>

#include <csignal>
#include <cstdio>
#include <iostream>
#include <set>

#include "engine/catalog/catalog.h"
#include "engine/common/flags.h"
#include "engine/common/logging.h"
#include "engine/kinds/kind_registry.h"
#include "engine/kube/rest_config.h"
#include "engine/runtime/kind_scheduler.h"
#include "engine/runtime/workflow_service.h"
#include "steps/kinds.h"
#include "tools/kinema/controller_wiring.h"

using namespace kinema;

namespace {

const char* kUsage =
    "Usage: kinema --config FILE [--once] [--dry-run] [--kind TYPE]...\n"
    "Kinema: durable, cost-aware operation of a Kubernetes cluster. Every action\n"
    "(a rescheduling iteration, a spot drain, a resize, a rebalance) is a durable\n"
    "workflow journaled to SQLite; inspect and steer it with kinemactl.\n\nFlags:\n";

int Fail(const std::string& what, const Status& s) {
  spdlog::error("{}: {}", what, s.message());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);  // a closed peer (socket, log pipe) is an error value, never a kill
  FlagSet flags;
  flags.AddString("config", "", "YAML configuration (see README: configuration reference)");
  flags.AddBool("once", "run one workflow of every selected kind (resuming unfinished ones first) and exit");
  flags.AddBool("dry-run", "plan and journal, mutate nothing");
  flags.AddList("kind", "only this workflow type (repeatable), whatever `enabled` says");
  flags.AddBool("help", "show this help");
  Status ps = flags.Parse(std::vector<std::string>(argv + 1, argv + argc), 0);
  if (!ps.ok()) {
    std::fprintf(stderr, "kinema: %s (see --help)\n", ps.message().c_str());
    return 2;
  }
  KindRegistry kinds;
  if (Status rs = RegisterKinds(&kinds); !rs.ok()) {
    std::fprintf(stderr, "kinema: %s\n", rs.message().c_str());
    return 1;
  }
  if (flags.GetBool("help")) {
    std::cout << kUsage << flags.Usage() << "\nWorkflow types:";
    for (const auto& t : kinds.Types()) std::cout << " " << t;
    std::cout << "\n";
    return 0;
  }
  std::set<std::string> only;
  for (const auto& t : flags.GetList("kind")) {
    if (!kinds.Find(t)) {
      std::string known;
      for (const auto& k : kinds.Types()) known += (known.empty() ? "" : ", ") + k;
      std::fprintf(stderr, "kinema: --kind %s: unknown workflow type (known: %s)\n", t.c_str(), known.c_str());
      return 2;
    }
    only.insert(t);
  }
  if (flags.Get("config").empty()) {
    std::fprintf(stderr, "kinema: --config FILE is required (see --help)\n");
    return 2;
  }
  auto cfg = kinds.LoadConfig(flags.Get("config"));
  if (!cfg.ok()) {
    std::fprintf(stderr, "kinema: %s\n", cfg.status().message().c_str());
    return 2;
  }
  const bool dry_run = flags.GetBool("dry-run") || cfg->dry_run;
  SetupLogging(cfg->logging.format, cfg->logging.level);

  auto catalog = LoadCatalogFile(cfg->catalog);
  if (!catalog.ok()) return Fail("catalog " + cfg->catalog, catalog.status());
  auto rest = cfg->kubeconfig.empty() ? kube::LoadInClusterConfig() : kube::LoadKubeconfig(cfg->kubeconfig);
  if (!rest.ok()) return Fail("kubernetes config", rest.status());
  kube::ClientOptions client_options;
  client_options.user_agent = "kinema/0.1 (" + controller::Identity(*cfg) + ")";  // tells replicas apart in audit logs
  auto client = kube::Client::Create(*rest, client_options);
  if (!client.ok()) return Fail("kubernetes client", client.status());
  auto cloud = controller::MakeCloudProvider(cfg->cloud, *catalog);
  if (!cloud.ok()) {
    spdlog::error("cloud: {}", cloud.status().message());
    return cloud.status().code() == Status::Code::kInvalidArgument ? 2 : 1;
  }
  auto prices = controller::MakePriceBook(*cfg, *catalog, cloud->get());
  if (!prices.ok()) return Fail("pricing", prices.status());
  if (cfg->pricing.source == "billing") {
    // One refresh before the first plan (a failure keeps the catalog file's
    // prices and is journaled with every plan until a refresh succeeds).
    (void)(*prices)->Refresh();
    (*prices)->Start();
  }
  if (*cloud) spdlog::info("cloud provider: {}", (*cloud)->Describe());
  else spdlog::warn("cloud.project is not set: workflows that boot or delete instances fail at that step");

  Metrics metrics;
  controller::DescribeEngineMetrics(&metrics);
  KindScheduler::DescribeMetrics(&metrics);
  for (const auto& k : kinds.kinds()) k->DescribeMetrics(&metrics);

  KindServices services{client->get(), cloud->get(), &*catalog, &*cfg, &metrics, dry_run, prices->get()};
  WorkflowRegistry workflows;
  if (Status bs = kinds.BuildAll(services, &workflows); !bs.ok()) return Fail("workflow kinds", bs);

  KindSchedulerOptions so;
  so.once = flags.GetBool("once");
  so.only_types = only;
  so.workers = cfg->scheduler.workers;
  so.dry_run = dry_run;
  so.retention = cfg->journal_retention;
  ForwardingEpochProvider epochs;
  KindScheduler scheduler(&kinds, &*cfg, &metrics, &epochs, so);
  if (scheduler.types().empty()) {
    spdlog::warn("no workflow kind is enabled (enable one in its config section or pass --kind)");
  }

  DisruptionLedger ledger(LedgerOptions{cfg->budgets, cfg->eviction_limits});
  ServiceOptions service_options;
  service_options.journal_path = cfg->journal;
  EngineOptions eo;
  eo.hook = controller::TestDelayHook();
  eo.ledger = &ledger;
  eo.on_terminal = [&scheduler](const WorkflowView& v) { scheduler.OnTerminal(v); };
  eo.on_kind_request = [&scheduler](const KindRequest& r) { scheduler.OnKindRequest(r); };
  WorkflowService service(service_options, &workflows, &epochs, eo);
  if (Status os = service.Open(); !os.ok()) return Fail("cannot start", os);
  if (Status ls = service.LoadLedger(&ledger); !ls.ok()) return Fail("disruption ledger", ls);

  controller::Leadership leadership;
  Status le = controller::StartLeadership(*cfg, client->get(), &service.journal(), &service.engine(), &metrics, &epochs,
                                          &leadership);
  if (!le.ok()) return Fail("leader election", le);
  auto status_server =
      controller::StartStatusServer(*cfg, &metrics, &epochs, &service.journal(), &scheduler, &ledger);
  if (!status_server.ok()) return Fail("status server", status_server.status());

  int rc = service.Run([&](WorkflowEngine& engine) { return scheduler.Run(engine); });
  (*prices)->Stop();
  leadership.Stop();
  if (*status_server) (*status_server)->Stop();
  return rc;
}
