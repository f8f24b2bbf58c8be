// Server-side printing: metav1.Table responses for kubectl's
// `Accept: application/json;as=Table;v=v1;g=meta.k8s.io` requests, with the
// columns kubectl users expect per kind (nodes: STATUS ROLES AGE VERSION,
// pods: READY STATUS RESTARTS AGE, ...) and NAME/AGE for the rest. Ages are
// measured on the simulated clock.
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <vector>

#include "tools/kinema-sim/object_store.h"
#include "tools/kinema-sim/sim_clock.h"

namespace kinema::sim {

enum class TableObjects { kNone, kMetadata, kObject };  // ?includeObject=

bool WantsTable(const std::string& accept_header);
TableObjects ParseIncludeObject(const std::string& value);

std::string RenderTable(const ResourceType& rt, const std::vector<ObjectPtr>& items, uint64_t list_rv,
                        const std::string& continue_token, TableObjects include, const SimClock& clock);
// One-row table for a watch event.
std::string RenderTableRow(const StoredObject& obj, TableObjects include, const SimClock& clock);

// Kubernetes' duration.HumanDuration ("5m", "3h2m", "12d").
std::string HumanDuration(double seconds);

}  // namespace kinema::sim
