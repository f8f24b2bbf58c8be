#include "steps/rescheduling/events.h"

namespace kinema::rescheduling {

nlohmann::json ControllerLeaseRef(const ReschedulingDeps& deps) {
  return {{"apiVersion", "coordination.k8s.io/v1"},
          {"kind", "Lease"},
          {"metadata",
           {{"name", deps.config.leader_election.name}, {"namespace", deps.config.leader_election.namespace_}}}};
}

}  // namespace kinema::rescheduling
