#include "steps/rescheduling/events.h"

#include <spdlog/spdlog.h>

namespace kinema::rescheduling {

void AnnounceEvent(const ReschedulingDeps& deps, const nlohmann::json& involved, const std::string& type,
                   const std::string& reason, const std::string& message) {
  if (!deps.kube) return;
  Status st = deps.kube->RecordEvent(involved, type, reason, message);
  if (!st.ok()) {
    spdlog::warn("event {} about {}/{} not recorded: {}", reason, involved.value("kind", ""),
                 involved.contains("metadata") ? involved["metadata"].value("name", "") : "", st.ToString());
  }
}

nlohmann::json ControllerLeaseRef(const ReschedulingDeps& deps) {
  return {{"apiVersion", "coordination.k8s.io/v1"},
          {"kind", "Lease"},
          {"metadata",
           {{"name", deps.config.leader_election.name}, {"namespace", deps.config.leader_election.namespace_}}}};
}

}  // namespace kinema::rescheduling
