#include "engine/workflow/workflow_type.h"

#include <set>

namespace kinema {

StepFunction ReconcileByRerunning(StepFunction run) { return run; }

Status WorkflowRegistry::Register(WorkflowType type) {
  if (type.name.empty()) return Status::InvalidArgument("workflow type without a name");
  if (types_.count(type.name)) return Status::InvalidArgument("workflow type " + type.name + " registered twice");
  std::set<std::string> names;
  for (const auto& s : type.steps) {
    if (!names.insert(s.name).second) {
      return Status::InvalidArgument("workflow type " + type.name + ": duplicate step " + s.name);
    }
    if (!s.run) return Status::InvalidArgument("workflow type " + type.name + ": step " + s.name + " has no run");
    if (!s.reconcile) {
      return Status::InvalidArgument("workflow type " + type.name + ": step " + s.name +
                                     " has no reconcile (use ReconcileByRerunning for journal-only steps)");
    }
  }
  types_.emplace(type.name, std::move(type));
  return Status::OK();
}

const WorkflowType* WorkflowRegistry::Find(const std::string& name) const {
  auto it = types_.find(name);
  return it == types_.end() ? nullptr : &it->second;
}

}  // namespace kinema
