#include "steps/kinds.h"

#include "steps/rebalance/rebalance_kind.h"
#include "steps/rescheduling/rescheduling_kind.h"

namespace kinema {

Status RegisterKinds(KindRegistry* registry) {
  KINEMA_RETURN_IF_ERROR(registry->Add(rescheduling::NewReschedulingKind()));
  KINEMA_RETURN_IF_ERROR(registry->Add(rebalance::NewRebalanceKind()));
  return Status::OK();
}

}  // namespace kinema
