#include "engine/kinds/kind_registry.h"

#include <algorithm>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <tuple>

namespace kinema {

Status KindRegistry::Add(std::unique_ptr<WorkflowKind> kind) {
  for (const auto& k : kinds_) {
    if (k->type() == kind->type()) return Status::InvalidArgument("workflow kind " + kind->type() + " registered twice");
    if (k->section() == kind->section()) {
      return Status::InvalidArgument("workflow kinds " + k->type() + " and " + kind->type() + " share section " +
                                     kind->section());
    }
  }
  kinds_.push_back(std::move(kind));
  return Status::OK();
}

WorkflowKind* KindRegistry::Find(const std::string& type) const {
  for (const auto& k : kinds_) {
    if (k->type() == type) return k.get();
  }
  return nullptr;
}

std::vector<std::string> KindRegistry::Types() const {
  std::vector<std::string> out;
  for (const auto& k : kinds_) out.push_back(k->type());
  return out;
}

StatusOr<ControllerConfig> KindRegistry::ParseConfig(const std::string& yaml_text) {
  ControllerConfig c;
  auto root = config::ParseYaml(yaml_text, "config");
  if (!root.ok()) return root.status();
  if (!root->IsNull() && !root->IsMap()) return Status::InvalidArgument("config: top level must be a mapping");
  config::Fields fields = GlobalConfigFields(&c);
  for (const auto& k : kinds_) {
    KindSettings& ks = c.kinds[k->type()];
    ks.enabled = k->traits().enabled_by_default;
    ks.interval = k->traits().default_interval;
  }
  for (const auto& k : kinds_) {
    config::Fields own;
    k->DeclareConfig(&own);
    KindSettings* ks = &c.kinds[k->type()];
    config::Field& main = own[k->section()];
    main.children["enabled"] = config::Bool(&ks->enabled);
    main.children["interval"] = config::Dur(&ks->interval);
    for (auto& [name, field] : own) {
      if (fields.count(name)) {
        return Status::Internal("config section " + name + " of kind " + k->type() + " is declared twice");
      }
      fields[name] = std::move(field);
    }
  }
  KINEMA_RETURN_IF_ERROR(config::Walk(*root, config::Map(std::move(fields)), ""));
  KINEMA_RETURN_IF_ERROR(ValidateGlobalConfig(c));
  for (const auto& k : kinds_) {
    KINEMA_RETURN_IF_ERROR(k->FinishConfig(&c));
    if (c.kinds[k->type()].interval.count() <= 0) {
      return Status::InvalidArgument(k->section() + ".interval: must be positive");
    }
  }
  return c;
}

StatusOr<ControllerConfig> KindRegistry::LoadConfig(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::NotFound("config file " + path + " cannot be read");
  std::stringstream ss;
  ss << in.rdbuf();
  auto c = ParseConfig(ss.str());
  if (!c.ok()) return c.status().WithContext(path);
  return c;
}

Status KindRegistry::BuildAll(const KindServices& services, WorkflowRegistry* workflows) {
  for (const auto& k : kinds_) {
    auto type = k->Build(services);
    if (!type.ok()) return type.status().WithContext("workflow kind " + k->type());
    if (type->name != k->type()) {
      return Status::Internal("workflow kind " + k->type() + " built a workflow type named " + type->name);
    }
    KINEMA_RETURN_IF_ERROR(workflows->Register(std::move(*type)));
  }
  return Status::OK();
}

std::vector<kube::Permission> KindRegistry::Permissions(const ControllerConfig& config) const {
  std::vector<kube::Permission> all = kube::EnginePermissions(config.leader_election.name);
  for (const auto& k : kinds_) {
    auto own = k->Permissions(config);
    all.insert(all.end(), own.begin(), own.end());
  }
  return kube::MergePermissions(all);
}

}  // namespace kinema
