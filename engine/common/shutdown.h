// Process shutdown as seen from deep inside adapters: a process-wide flag
// raised once (on SIGTERM/SIGINT, by the WorkflowService) and an
// interruptible sleep, so a retry back-off in the Kubernetes or GCE client
// ends at once instead of holding the process past its grace period.
//
// Contract: RequestProcessShutdown() is idempotent and wakes every
// SleepUnlessShutdown() at once; after it, SleepUnlessShutdown() returns
// false immediately. Callers turn `false` into kCancelled ("shutting down"),
// which the workflow engine treats as an interruption (the step's intent
// stays open and is reconciled on restart).
// Thread-safety: every function may be called from any thread.
#pragma once

#include <chrono>

namespace kinema {

void RequestProcessShutdown();
bool ProcessShutdownRequested();
// Sleeps for `d`; false when shutdown was (or becomes) requested.
bool SleepUnlessShutdown(std::chrono::milliseconds d);
// Clears the flag (tests that simulate several process lifetimes).
void ResetProcessShutdownForTesting();

}  // namespace kinema
