// kinema-sample: runs the ledger-demo workflow on a real journal through the
// real engine, admin socket and signal handling. The README's main job until
// the Kinema workflow exists, and the worker of the kill -9 campaign.
#include <spdlog/spdlog.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <iostream>

#include "engine/common/flags.h"
#include "engine/common/logging.h"
#include "engine/runtime/workflow_service.h"
#include "engine/workflow/static_epoch_provider.h"
#include "tools/sample/ledger_workflow.h"

using namespace kinema;

namespace {
const char* kUsage =
    "Usage: kinema-sample --db PATH --ledger PATH [flags]\n"
    "Starts N ledger-demo workflows (ids sample-0001..) unless they exist, runs every\n"
    "unfinished workflow in the journal to a terminal or paused state, and exits 0.\n"
    "Commands reach it via kinemactl (admin socket <db>.sock). SIGTERM stops it at a\n"
    "safe point.\n\nFlags:\n";
}

int main(int argc, char** argv) {
  FlagSet flags;
  flags.AddString("db", "", "journal file (created if absent)");
  flags.AddString("ledger", "", "append-only ledger file the steps write to");
  flags.AddString("workflows", "3", "number of workflows to start");
  flags.AddString("settle-ms", "30", "durable timer length in the settle step");
  flags.AddString("epoch", "1", "leader epoch to write with");
  flags.AddString("crash-at", "", "test only: POINT:N kills this process (SIGKILL) at the N-th POINT");
  flags.AddBool("flaky", "the apply step fails its first attempt (exercises retries)");
  flags.AddBool("slow-publish", "the publish step takes ~2 s with checkpoints");
  flags.AddBool("serve", "keep running after the workflows finish (until SIGTERM)");
  flags.AddString("log-format", "text", "text or json");
  flags.AddString("log-level", "info", "trace, debug, info, warn, error");
  flags.AddBool("help", "show this help");
  std::vector<std::string> args(argv + 1, argv + argc);
  Status ps = flags.Parse(args, 0);
  if (!ps.ok()) {
    std::fprintf(stderr, "kinema-sample: %s (see --help)\n", ps.message().c_str());
    return 2;
  }
  if (flags.GetBool("help")) {
    std::cout << kUsage << flags.Usage();
    return 0;
  }
  if (flags.Get("db").empty() || flags.Get("ledger").empty()) {
    std::fprintf(stderr, "kinema-sample: --db and --ledger are required (see --help)\n");
    return 2;
  }
  SetupLogging(flags.Get("log-format"), flags.Get("log-level"));

  std::string crash_point;
  int crash_n = 0, crash_seen = 0;
  if (!flags.Get("crash-at").empty()) {
    std::string c = flags.Get("crash-at");
    auto colon = c.find(':');
    crash_point = c.substr(0, colon);
    crash_n = colon == std::string::npos ? 1 : std::atoi(c.c_str() + colon + 1);
  }

  sample::LedgerWorkflowOptions lo;
  lo.ledger_path = flags.Get("ledger");
  lo.settle_ms = std::atoi(flags.Get("settle-ms").c_str());
  lo.flaky_apply = flags.GetBool("flaky");
  lo.slow_publish = flags.GetBool("slow-publish");
  WorkflowRegistry registry;
  Status rs = registry.Register(sample::MakeLedgerWorkflow(lo));
  if (!rs.ok()) {
    spdlog::error("{}", rs.ToString());
    return 1;
  }
  StaticEpochProvider epochs(std::atoll(flags.Get("epoch").c_str()), "kinema-sample");

  EngineOptions eo;
  if (!crash_point.empty()) {
    eo.hook = [&](const std::string& point, const std::string&, int) {
      if (point == crash_point && ++crash_seen == crash_n) {
        std::raise(SIGKILL);
      }
    };
  }
  ServiceOptions so;
  so.journal_path = flags.Get("db");
  WorkflowService service(so, &registry, &epochs, eo);
  Status os = service.Open();
  if (!os.ok()) {
    spdlog::error("cannot start: {}", os.ToString());
    return 1;
  }
  int n = std::atoi(flags.Get("workflows").c_str());
  bool serve = flags.GetBool("serve");
  return service.Run([&](WorkflowEngine& engine) -> Status {
    for (int i = 1; i <= n; ++i) {
      char id[32];
      std::snprintf(id, sizeof(id), "sample-%04d", i);
      auto v = engine.Start("ledger-demo", id, {{"index", i}});
      if (!v.ok()) return v.status();
    }
    return RunRunnableWorkflows(engine, serve);
  });
}
