#include "engine/workflow/step_guard.h"

#include <spdlog/spdlog.h>

#include <exception>

#include "engine/common/text.h"

namespace kinema {

namespace {

// The text of the exception being handled (inside a catch block).
std::string CurrentExceptionText() {
  try {
    throw;
  } catch (const std::exception& e) {
    return e.what();
  } catch (...) {
    return "unknown exception";
  }
}

Status ThrownStatus(const std::string& what) {
  std::string text = Excerpt(CurrentExceptionText(), 2000);
  spdlog::error("{} threw an exception: {} (the attempt fails; it is journaled like any error)", what, text);
  return Status::Internal(what + " threw an exception: " + text);
}

}  // namespace

StatusOr<nlohmann::json> RunStepGuarded(const StepFunction& fn, StepContext& ctx, const std::string& what) {
  try {
    return fn(ctx);
  } catch (...) {
    return ThrownStatus(what);
  }
}

Status CompensateGuarded(const CompensateFunction& fn, StepContext& ctx, const nlohmann::json& result,
                         const std::string& what) {
  try {
    return fn(ctx, result);
  } catch (...) {
    return ThrownStatus(what);
  }
}

nlohmann::json IntentInputGuarded(const std::function<nlohmann::json(StepContext&)>& fn, StepContext& ctx,
                                  const std::string& what) {
  try {
    return fn(ctx);
  } catch (...) {
    return {{"error", ThrownStatus(what).message()}};
  }
}

}  // namespace kinema
