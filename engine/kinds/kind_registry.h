// KindRegistry: the workflow kinds a build knows, and what follows from the
// set — the whole configuration (global keys plus every kind's sections,
// read at once, so an unknown key anywhere is an error naming it), the
// engine's WorkflowRegistry, and the union of RBAC rules deploy/ must grant.
//
// Registration is one line per kind (steps/kinds.cc). Types and sections are
// unique. Every kind's main section gets `enabled` (default: the kind's
// trait) and `interval` (default: the kind's trait).
// Thread-safety: built once, then read-only.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "engine/kinds/workflow_kind.h"
#include "engine/kube/permissions.h"
#include "engine/workflow/workflow_type.h"

namespace kinema {

class KindRegistry {
 public:
  // InvalidArgument on a duplicate type or section.
  Status Add(std::unique_ptr<WorkflowKind> kind);

  const std::vector<std::unique_ptr<WorkflowKind>>& kinds() const { return kinds_; }
  WorkflowKind* Find(const std::string& type) const;
  std::vector<std::string> Types() const;

  // Reads the YAML text against the global fields and every kind's
  // sections, then validates. The kinds keep their own settings.
  StatusOr<ControllerConfig> ParseConfig(const std::string& yaml_text);
  StatusOr<ControllerConfig> LoadConfig(const std::string& path);

  // Builds every kind's workflow type into `workflows`.
  Status BuildAll(const KindServices& services, WorkflowRegistry* workflows);

  // The engine's own rules (leader Lease, Events) plus every kind's, merged
  // by (group, resource, scope, resource names) with sorted, unique verbs.
  std::vector<kube::Permission> Permissions(const ControllerConfig& config) const;

 private:
  std::vector<std::unique_ptr<WorkflowKind>> kinds_;
};

}  // namespace kinema
