#include "tools/kinema-sim/runner/image_map.h"

#include <unistd.h>

#include <filesystem>
#include <sstream>

namespace kinema::sim::runner {

namespace fs = std::filesystem;

namespace {

// "reg:5000/team/kinema:v1@sha256:.." -> "reg:5000/team/kinema"
std::string Repository(const std::string& image) {
  std::string s = image.substr(0, image.find('@'));
  size_t slash = s.rfind('/');
  size_t colon = s.rfind(':');
  if (colon != std::string::npos && (slash == std::string::npos || colon > slash)) s = s.substr(0, colon);
  return s;
}

}  // namespace

StatusOr<ImageMap> ImageMap::Parse(const std::vector<std::pair<std::string, std::string>>& flags) {
  ImageMap m;
  for (const auto& [name, entry] : flags) {
    std::istringstream in(entry);
    RunImage r;
    r.name = name;
    std::string word;
    in >> r.executable;
    while (in >> word) r.default_args.push_back(word);
    std::error_code ec;
    fs::path exe = fs::absolute(r.executable, ec);
    if (ec || !fs::is_regular_file(exe) || ::access(exe.c_str(), X_OK) != 0) {
      return Status::InvalidArgument("--run-image " + name + "=" + entry + ": " + r.executable +
                                     " is not an executable file");
    }
    r.executable = exe.lexically_normal().string();
    m.images_.push_back(std::move(r));
  }
  return m;
}

const RunImage* ImageMap::Match(const std::string& image) const {
  std::string repo = Repository(image);
  std::string last = repo.substr(repo.rfind('/') == std::string::npos ? 0 : repo.rfind('/') + 1);
  for (const auto& r : images_) {
    if (repo == r.name || (r.name.find('/') == std::string::npos && last == r.name)) return &r;
  }
  return nullptr;
}

StatusOr<std::vector<std::string>> ImageMap::Argv(const RunImage& image, const std::vector<std::string>& command,
                                                  const std::vector<std::string>& args) const {
  std::vector<std::string> argv;
  if (command.empty()) {
    argv.push_back(image.executable);
    const auto& rest = args.empty() ? image.default_args : args;
    argv.insert(argv.end(), rest.begin(), rest.end());
    return argv;
  }
  fs::path want = fs::path(command[0]).filename();
  fs::path exe(image.executable);
  fs::path resolved = want == exe.filename() ? exe : exe.parent_path() / want;
  if (!fs::is_regular_file(resolved) || ::access(resolved.c_str(), X_OK) != 0) {
    return Status::NotFound("exec: \"" + command[0] + "\": executable file not found in $PATH (looked for " +
                            resolved.string() + ")");
  }
  argv.push_back(resolved.string());
  argv.insert(argv.end(), command.begin() + 1, command.end());
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

}  // namespace kinema::sim::runner
