#include "tools/sample/ledger_workflow.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <thread>

#include "engine/workflow/step_context.h"

namespace kinema::sample {

namespace {

Status AppendLine(const std::string& path, const std::string& line) {
  int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return Status::Unavailable("open ledger " + path + ": " + std::strerror(errno));
  std::string l = line + "\n";
  ssize_t n = ::write(fd, l.data(), l.size());  // one write(2): atomic w.r.t. kill -9
  ::close(fd);
  if (n != static_cast<ssize_t>(l.size())) return Status::Unavailable("write ledger " + path);
  return Status::OK();
}

StepDefinition EffectStep(const std::string& name, const LedgerWorkflowOptions& o) {
  StepDefinition s;
  s.name = name;
  s.retry.initial = std::chrono::milliseconds(20);
  s.retry.cap = std::chrono::milliseconds(200);
  s.retry.max_attempts = 4;
  std::string ledger = o.ledger_path;
  bool flaky = o.flaky_apply && name == "apply";
  bool slow = o.slow_publish && name == "publish";
  s.run = [ledger, flaky, slow](StepContext& ctx) -> StatusOr<nlohmann::json> {
    if (flaky && ctx.attempt() == 1) return Status::Unavailable("apply: simulated transient failure");
    if (slow) {
      for (int i = 0; i < 20; ++i) {
        KINEMA_RETURN_IF_ERROR(ctx.Checkpoint());
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
    }
    KINEMA_RETURN_IF_ERROR(ctx.CheckEpoch());
    KINEMA_RETURN_IF_ERROR(AppendLine(ledger, "do " + ctx.idempotency_key()));
    ctx.Hook("after_effect");
    return nlohmann::json{{"applied", ctx.idempotency_key()}};
  };
  s.reconcile = [ledger](StepContext& ctx) -> StatusOr<nlohmann::json> {
    int seen = CountLedgerLines(ledger, "do", ctx.idempotency_key());
    if (seen == 0) {
      KINEMA_RETURN_IF_ERROR(ctx.CheckEpoch());
      KINEMA_RETURN_IF_ERROR(AppendLine(ledger, "do " + ctx.idempotency_key()));
      ctx.Hook("after_effect");
    }
    return nlohmann::json{{"applied", ctx.idempotency_key()}, {"foundInLedger", seen > 0}};
  };
  s.compensate = [ledger](StepContext& ctx, const nlohmann::json&) -> Status {
    if (CountLedgerLines(ledger, "do", ctx.idempotency_key()) == 0) return Status::OK();  // never applied
    if (CountLedgerLines(ledger, "undo", ctx.idempotency_key()) > 0) return Status::OK();  // already undone
    return AppendLine(ledger, "undo " + ctx.idempotency_key());
  };
  s.intent_input = [ledger](StepContext& ctx) { return nlohmann::json{{"ledger", ledger}}; };
  return s;
}

}  // namespace

int CountLedgerLines(const std::string& path, const std::string& verb, const std::string& key) {
  std::ifstream in(path);
  std::string line, want = verb + " " + key;
  int n = 0;
  while (std::getline(in, line)) {
    if (line == want) ++n;
  }
  return n;
}

WorkflowType MakeLedgerWorkflow(const LedgerWorkflowOptions& o) {
  WorkflowType t;
  t.name = "ledger-demo";
  t.steps.push_back(EffectStep("reserve", o));
  StepDefinition settle;
  settle.name = "settle";
  int settle_ms = o.settle_ms;
  settle.run = [settle_ms](StepContext& ctx) -> StatusOr<nlohmann::json> {
    KINEMA_RETURN_IF_ERROR(ctx.SleepFor("settle", std::chrono::milliseconds(settle_ms)));
    return nlohmann::json{{"settledMs", settle_ms}};
  };
  settle.reconcile = ReconcileByRerunning(settle.run);
  t.steps.push_back(settle);
  t.steps.push_back(EffectStep("apply", o));
  t.steps.push_back(EffectStep("publish", o));
  return t;
}

}  // namespace kinema::sample
