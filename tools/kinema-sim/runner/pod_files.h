// PodFiles: a run-image pod's file system view on this machine — how a
// process that is not in a container sees its volumes.
//
// Layout under <state-dir>/pods/<pod>-<first 8 characters of its uid>/
// (short: a unix socket under a mount, such as a journal's admin socket,
// needs its whole path below 108 bytes):
//   volumes/<volume>/   ConfigMap, Secret, emptyDir and the ServiceAccount
//                       token volume (kube-api-access) contents
//   root/               the container's file system as far as it is mounted:
//                       root/<mountPath> is a symlink to the volume's
//                       directory (a PVC's is its PersistentVolume's
//                       hostPath, <state-dir>/volumes/pvc-<uid>, which
//                       outlives the pod; subPath: that sub-directory)
// The mapping rule is one: container path P under a mount is root + P on
// this machine. MapText() applies it to strings the process receives —
// command, args, env values and the text of projected ConfigMap/Secret
// files: every absolute path that starts with a mount path at a path
// boundary is prefixed with root. Paths outside every mount (the image's
// own files, /usr/local/bin/...) are left alone.
//
// ConfigMap and Secret volumes are written like the kubelet's atomic
// writer: ..<timestamp>/ holds the files, ..data points at it, each key is
// a symlink ..data/<key>; an update swaps ..data in one rename. `items`,
// `defaultMode`/`mode` and `optional` are honoured. The ServiceAccount
// volume holds token (bound to the pod), ca.crt and namespace.
// Thread-safety: one thread (the run-image kubelet's).
#pragma once

#include <nlohmann/json.hpp>

#include <map>
#include <string>
#include <vector>

#include "engine/common/status.h"

namespace kinema::sim::runner {

struct Mount {
  std::string path;      // container path (mountPath)
  std::string host_dir;  // where it is on this machine
};

class PodFiles {
 public:
  PodFiles(std::string state_dir, const std::string& ns, const std::string& pod, const std::string& uid);

  const std::string& dir() const { return dir_; }
  const std::string& root() const { return root_; }
  std::string LogPath(const std::string& container, bool previous) const;

  // Writes a ConfigMap/Secret volume (files from `data`, values already
  // decoded) with the atomic-writer layout; returns its directory.
  StatusOr<std::string> WriteProjected(const std::string& volume, const std::map<std::string, std::string>& data,
                                       const nlohmann::json& items, int default_mode);
  StatusOr<std::string> EmptyDir(const std::string& volume);
  // Creates root/<mount.path> -> mount.host_dir and remembers the mount.
  Status AddMount(const Mount& m);
  // Rewrites paths under the mounts (see above).
  std::string MapText(const std::string& text) const;
  std::string MapPath(const std::string& container_path) const { return MapText(container_path); }
  // Removes the pod's directory except logs/ (kept for post-mortems).
  void RemoveVolumes();

 private:
  std::string state_dir_, dir_, root_;
  std::vector<Mount> mounts_;  // longest path first
};

}  // namespace kinema::sim::runner
