#include "steps/kinds.h"

#include "steps/rebalance/rebalance_kind.h"
#include "steps/rescheduling/rescheduling_kind.h"
#include "steps/resize/resize_kind.h"
#include "steps/spot/spot_kind.h"

namespace kinema {

Status RegisterKinds(KindRegistry* registry) {
  KINEMA_RETURN_IF_ERROR(registry->Add(rescheduling::NewReschedulingKind()));
  KINEMA_RETURN_IF_ERROR(registry->Add(spot::NewSpotKind()));
  KINEMA_RETURN_IF_ERROR(registry->Add(resize::NewResizeKind()));
  KINEMA_RETURN_IF_ERROR(registry->Add(rebalance::NewRebalanceKind()));
  return Status::OK();
}

}  // namespace kinema
