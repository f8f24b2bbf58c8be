// ImageMap: which container images the run-image kubelet runs as real
// processes (--run-image NAME=ENTRYPOINT, repeatable).
//   - NAME matches an image reference whose repository is NAME, or whose
//     last path component is NAME when NAME has no '/', with any tag or
//     digest: "kinema" matches kinema, kinema:latest,
//     registry.example/team/kinema:v1 and kinema@sha256:...
//   - ENTRYPOINT is the image's ENTRYPOINT on this machine: an executable
//     path followed by its default arguments (whitespace-separated), e.g.
//     "build/bin/kinema --config /etc/kinema/kinema.yaml" for the Dockerfile's
//     ENTRYPOINT ["kinema", "--config", "/etc/kinema/kinema.yaml"]. The
//     executable's directory stands for the image's PATH: a container
//     `command` naming another program ("kinemactl") runs the file of that
//     name beside it.
// Thread-safety: immutable after construction.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "engine/common/status.h"

namespace kinema::sim::runner {

struct RunImage {
  std::string name;
  std::string executable;              // absolute path
  std::vector<std::string> default_args;
};

class ImageMap {
 public:
  static StatusOr<ImageMap> Parse(const std::vector<std::pair<std::string, std::string>>& flags);
  bool empty() const { return images_.empty(); }
  const RunImage* Match(const std::string& image) const;
  // argv for a container: Kubernetes' command/args over ENTRYPOINT/CMD rules
  // (command replaces the entrypoint and its default args; args alone
  // replace the default args). command[0] resolves to the entrypoint if it
  // names the same file (by basename), else to a file of that name beside
  // it; NotFound otherwise ("executable file not found in $PATH").
  StatusOr<std::vector<std::string>> Argv(const RunImage& image, const std::vector<std::string>& command,
                                          const std::vector<std::string>& args) const;

 private:
  std::vector<RunImage> images_;
};

}  // namespace kinema::sim::runner
