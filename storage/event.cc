#include "storage/event.h"


namespace kinema {

bool IsKnownEventKind(const std::string& k) {
  using namespace event_kind;
  for (const char* known : {kWorkflowStarted, kStepIntent, kStepResult, kStepFailed, kTimerSet, kPaused, kResumed,
                            kAbortRequested, kCompensationIntent, kCompensated, kCompleted, kAborted, kFailed,
                            kTerminated, kOperatorCommand, kDisruptionClaimed, kDisruptionReleased, kKindRequested}) {
    if (k == known) return true;
  }
  return false;
}

}  // namespace kinema
