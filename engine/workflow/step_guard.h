// Step guard: the engine's last line of defence against a step that throws.
//
// Every call the engine makes into step code (run, reconcile, compensate,
// intent_input) goes through these wrappers. An exception escaping the step
// — nlohmann::json's type_error on an unexpected API answer, std::bad_alloc,
// anything — becomes an Internal status carrying the step's name and the
// exception text, so the attempt fails and is journaled (and retried or
// paused by the step's RetryPolicy) like any other error: a throwing step is
// never a dead process. The text is made valid UTF-8 for the journal.
// Thread-safety: stateless; runs on the step's thread.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

#include "engine/common/status.h"
#include "engine/workflow/workflow_type.h"

namespace kinema {

StatusOr<nlohmann::json> RunStepGuarded(const StepFunction& fn, StepContext& ctx, const std::string& what);
Status CompensateGuarded(const CompensateFunction& fn, StepContext& ctx, const nlohmann::json& result,
                         const std::string& what);
// The intent's audit input; on an exception, {"error": <text>} (the intent
// is still journaled: it records that the step is about to run).
nlohmann::json IntentInputGuarded(const std::function<nlohmann::json(StepContext&)>& fn, StepContext& ctx,
                                  const std::string& what);

}  // namespace kinema
