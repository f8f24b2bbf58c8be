// The "ledger-demo" workflow: a four-step test workflow whose side effects
// are lines appended to an external append-only ledger file. It is the
// sample main job (until the Kinema workflow exists) and the subject of the
// kill -9 campaign.
//
// Effects are deliberately NOT idempotent in `run` (a plain append, like an
// eviction without preconditions): only `reconcile` looks at the ledger
// before acting. So a blind re-execution after a crash would show up as a
// duplicate line — which the crash campaign checks never happens.
//
// Ledger lines: "do <idempotency key>" and, for compensations, "undo <key>".
#pragma once

#include <string>

#include "engine/workflow/workflow_type.h"

namespace kinema::sample {

struct LedgerWorkflowOptions {
  std::string ledger_path;
  int settle_ms = 30;        // durable timer in the "settle" step
  bool flaky_apply = false;  // "apply" fails its first attempt (exercises retries)
  bool slow_publish = false; // "publish" checkpoints for ~2 s (exercises pause/abort mid-step)
};

WorkflowType MakeLedgerWorkflow(const LedgerWorkflowOptions& options);

// Count of lines exactly equal to "<verb> <key>" in the ledger.
int CountLedgerLines(const std::string& ledger_path, const std::string& verb, const std::string& key);

}  // namespace kinema::sample
