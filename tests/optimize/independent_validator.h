// Independent plan validator for tests. It shares NO code with the optimizer:
// it re-parses the snapshot, catalog and plan JSON itself (its own quantity
// parser, selector/taint matching and DaemonSet overhead), and checks every
// validity rule of shared/spec/planning.md §3 plus the accounting fields.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace validator {

struct Report {
  std::vector<std::string> errors;
  bool ok() const { return errors.empty(); }
  std::string Summary() const;
};

Report ValidatePlan(const nlohmann::json& snapshot, const nlohmann::json& catalog, const nlohmann::json& plan);

}  // namespace validator
