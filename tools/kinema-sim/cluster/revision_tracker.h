// RevisionTracker: names the revision of a StatefulSet's / DaemonSet's pod
// template ("<set>-<hash>", the controller-revision-hash label) while
// keeping a snapshot's converged set untouched: the template a set has
// when first seen is given the revision its status reports
// (status.updateRevision for StatefulSets) and pods that carry no revision
// label count as that revision, so nothing is restarted until the
// template actually changes.
// Thread-safety: not thread-safe (one controller strand).
#pragma once

#include <map>
#include <string>

#include "tools/kinema-sim/cluster/workload.h"

namespace kinema::sim::cluster {

constexpr const char* kControllerRevisionHashLabel = "controller-revision-hash";

class RevisionTracker {
 public:
  // Revision of the set's current template.
  std::string RevisionOf(const Json& set, const std::string& snapshot_revision = "");
  // Revision a pod belongs to (its label, else the set's first-seen one).
  std::string PodRevision(const Json& set, const Json& pod);
  void Forget(const std::string& set_uid) { first_.erase(set_uid); }

 private:
  struct First {
    std::string template_hash;
    std::string revision;
  };
  std::map<std::string, First> first_;  // set uid -> first-seen template
};

}  // namespace kinema::sim::cluster
