// Loads a snapshot (planning.md §1: the output of `kubectl get ... -A -o json`,
// a v1 List) into the ObjectStore as the initial cluster.
//
// Contract:
//   - Items of served kinds are stored as given (status included); missing
//     uid/creationTimestamp/generation are filled in; resourceVersion is
//     assigned by the store. Namespaces referenced by items, plus default,
//     kube-system, kube-public and kube-node-lease, are created if absent.
//   - Unknown kinds are skipped with a warning. Malformed input (not a List,
//     an item without kind or metadata.name, duplicates) is an
//     InvalidArgument error naming the item index and field.
//   - The store's watch history is compacted afterwards: the loaded state is
//     the starting point, not a series of events.
// Thread-safety: call before serving.
#pragma once

#include <map>
#include <string>

#include "engine/common/status.h"
#include "tools/kinema-sim/registry.h"

namespace kinema::sim {

struct SnapshotSummary {
  std::map<std::string, size_t> counts;  // kind -> items loaded
  size_t skipped = 0;
};

StatusOr<SnapshotSummary> LoadSnapshotFile(const std::string& path, Registry* registry);
StatusOr<SnapshotSummary> LoadSnapshotText(const std::string& text, Registry* registry);

}  // namespace kinema::sim
