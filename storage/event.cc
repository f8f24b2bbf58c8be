#include "storage/event.h"

#include <chrono>
#include <cstdio>
#include <ctime>

namespace kinema {

bool IsKnownEventKind(const std::string& k) {
  using namespace event_kind;
  for (const char* known : {kWorkflowStarted, kStepIntent, kStepResult, kStepFailed, kTimerSet, kPaused, kResumed,
                            kAbortRequested, kCompensationIntent, kCompensated, kCompleted, kAborted, kFailed,
                            kTerminated, kOperatorCommand}) {
    if (k == known) return true;
  }
  return false;
}

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string FormatRfc3339(int64_t ms) {
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  int millis = static_cast<int>(ms % 1000);
  if (millis < 0) {
    millis += 1000;
    secs -= 1;
  }
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, millis);
  return buf;
}

}  // namespace kinema
