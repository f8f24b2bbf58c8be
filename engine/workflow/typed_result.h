// Typed step results: steps hand each other values, not JSON looked up by
// string key.
//
// A result type T provides
//     nlohmann::json ToJson() const;                       // what the journal stores
//     static StatusOr<T> FromJson(const nlohmann::json&);  // and reads back
// with FromJson(ToJson(x)) == x. Journal rows may be damaged or come from an
// older build, so FromJson never throws: DecodeJson() turns any
// nlohmann::json exception raised while decoding into InvalidArgument
// naming what was being read.
// Thread-safety: pure functions.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

#include "engine/common/status.h"
#include "engine/workflow/step_context.h"

namespace kinema {

// Runs `decode` (returning StatusOr<T>), converting exceptions from
// nlohmann::json (a missing or mistyped field read with .at()/.get<>()) into
// InvalidArgument("<what>: <detail>").
template <typename T, typename Decode>
StatusOr<T> DecodeJson(const std::string& what, Decode&& decode) {
  try {
    return decode();
  } catch (const nlohmann::json::exception& e) {
    return Status::InvalidArgument(what + ": " + e.what());
  }
}

// The journaled result of the earlier step `step` of this workflow as a T;
// FailedPrecondition when that step has no result.
template <typename T>
StatusOr<T> ResultAs(const StepContext& ctx, const std::string& step) {
  const nlohmann::json& j = ctx.ResultOf(step);
  if (j.is_null()) {
    return Status::FailedPrecondition(ctx.step_name() + ": step " + step + " left no result in the journal");
  }
  StatusOr<T> out = T::FromJson(j);
  if (!out.ok()) return out.status().WithContext(ctx.step_name() + ": result of step " + step);
  return out;
}

}  // namespace kinema
