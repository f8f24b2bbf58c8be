#include "tools/kinema-sim/cluster/revision_tracker.h"

namespace kinema::sim::cluster {

std::string RevisionTracker::RevisionOf(const Json& set, const std::string& snapshot_revision) {
  const Json tmpl = set["spec"].value("template", Json::object());
  std::string hash = TemplateHash(tmpl, 0);
  std::string name = set["metadata"].value("name", "");
  std::string uid = Uid(set);
  auto it = first_.find(uid);
  if (it == first_.end()) {
    First f{hash, snapshot_revision.empty() ? name + "-" + hash : snapshot_revision};
    it = first_.emplace(uid, f).first;
  }
  if (it->second.template_hash == hash) return it->second.revision;
  return name + "-" + hash;
}

std::string RevisionTracker::PodRevision(const Json& set, const Json& pod) {
  const Json& labels = pod["metadata"].value("labels", Json::object());
  if (labels.contains(kControllerRevisionHashLabel) && labels[kControllerRevisionHashLabel].is_string()) {
    return labels[kControllerRevisionHashLabel].get<std::string>();
  }
  auto it = first_.find(Uid(set));
  return it == first_.end() ? "" : it->second.revision;
}

}  // namespace kinema::sim::cluster
