// Every workflow kind this build knows. Adding a kind is one folder under
// steps/ and one line in kinds.cc.
// Thread-safety: call once at start-up.
#pragma once

#include "engine/kinds/kind_registry.h"

namespace kinema {

Status RegisterKinds(KindRegistry* registry);

}  // namespace kinema
