// The runtime stage of deploy/Dockerfile, without a container runtime: its
// files are what deploy/statefulset.yaml expects, and the Release binaries
// this build produced would run in it — every shared library `ldd` lists
// comes from a Debian package the stage installs (or one of their
// dependencies, or the slim base's required packages).
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "tests/support/test_support.h"

namespace kinema {
namespace {

namespace fs = std::filesystem;
using testing::BinPath;
using testing::RunProcess;

fs::path SourceDir() {
  if (const char* d = std::getenv("KINEMA_SOURCE_DIR"); d && *d) return d;
  return KINEMA_SOURCE_ROOT;
}

std::string Read(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// The runtime stage: the instructions after the last FROM, continuation lines joined.
struct RuntimeStage {
  std::vector<std::string> packages;   // apt-get install ... arguments
  std::vector<std::string> copied;     // COPY --from=build sources
  std::string copy_dest, user, workdir, entrypoint;
  std::map<std::string, std::string> env;
  std::vector<int> exposed;
  std::string run;  // every RUN, joined
};

RuntimeStage ParseRuntimeStage() {
  std::string text = Read(SourceDir() / "deploy/Dockerfile");
  std::string joined;
  std::istringstream in(text);
  std::string line;
  std::vector<std::string> lines;
  while (std::getline(in, line)) {
    if (!line.empty() && line[0] == '#') continue;
    joined += line;
    if (!joined.empty() && joined.back() == '\\') {
      joined.pop_back();
      joined += ' ';
      continue;
    }
    lines.push_back(joined);
    joined.clear();
  }
  RuntimeStage st;
  for (const auto& l : lines) {
    std::istringstream words(l);
    std::string op;
    words >> op;
    if (op == "FROM") st = RuntimeStage();
    std::vector<std::string> args;
    for (std::string w; words >> w;) args.push_back(w);
    if (op == "RUN") {
      st.run += l + "\n";
      for (size_t i = 0; i < args.size(); ++i) {
        if (args[i] != "install") continue;
        for (size_t j = i + 1; j < args.size() && args[j] != "&&"; ++j) {
          if (args[j][0] != '-') st.packages.push_back(args[j]);
        }
      }
    } else if (op == "COPY" && !args.empty() && args[0].rfind("--from=", 0) == 0) {
      st.copied.assign(args.begin() + 1, args.end() - 1);
      st.copy_dest = args.back();
    } else if (op == "USER" && !args.empty()) {
      st.user = args[0];
    } else if (op == "WORKDIR" && !args.empty()) {
      st.workdir = args[0];
    } else if (op == "ENTRYPOINT") {
      st.entrypoint = l.substr(l.find('['));
    } else if (op == "EXPOSE") {
      for (const auto& a : args) st.exposed.push_back(std::stoi(a));
    } else if (op == "ENV" && !args.empty()) {
      size_t eq = args[0].find('=');
      if (eq != std::string::npos) st.env[args[0].substr(0, eq)] = args[0].substr(eq + 1);
    }
  }
  return st;
}

YAML::Node StatefulSet() { return YAML::LoadFile((SourceDir() / "deploy/statefulset.yaml").string()); }

TEST(ImageRuntimeStage, HoldsWhatTheStatefulSetRuns) {
  RuntimeStage st = ParseRuntimeStage();
  YAML::Node sts = StatefulSet();
  YAML::Node pod = sts["spec"]["template"]["spec"];
  YAML::Node c = pod["containers"][0];
  // The pod runs the image's ENTRYPOINT (no command): kinema from the copied binaries.
  EXPECT_FALSE(c["command"]) << "the StatefulSet relies on the image's ENTRYPOINT";
  nlohmann::json entry = nlohmann::json::parse(st.entrypoint, nullptr, false);
  ASSERT_TRUE(entry.is_array() && entry.size() == 3) << st.entrypoint;
  EXPECT_EQ(entry[0], "kinema");
  EXPECT_EQ(st.copy_dest, "/usr/local/bin/") << "on the slim image's PATH";
  std::set<std::string> names;
  for (const auto& src : st.copied) names.insert(fs::path(src).filename().string());
  EXPECT_EQ(names, (std::set<std::string>{"kinema", "kinemactl"}));
  // --config names the ConfigMap key at its mount path.
  std::string config = entry[2];
  bool mounted = false;
  for (const auto& m : c["volumeMounts"]) {
    std::string path = m["mountPath"].as<std::string>();
    if (config.rfind(path + "/", 0) == 0 && m["name"].as<std::string>() == "config") mounted = true;
  }
  EXPECT_TRUE(mounted) << config << " is under the config volume's mountPath";
  // The non-root user the pod asks for, created in the image with that uid/gid.
  EXPECT_EQ(st.user, pod["securityContext"]["runAsUser"].as<std::string>() + ":" +
                         pod["securityContext"]["runAsGroup"].as<std::string>());
  EXPECT_NE(st.run.find("--uid " + pod["securityContext"]["runAsUser"].as<std::string>()), std::string::npos);
  EXPECT_NE(st.run.find("--gid " + pod["securityContext"]["runAsGroup"].as<std::string>()), std::string::npos);
  // The journal directory: the image's WORKDIR, owned by that user, the data volume's mountPath, KINEMA_DB.
  std::string data_mount;
  for (const auto& m : c["volumeMounts"]) {
    if (m["name"].as<std::string>() == "data") data_mount = m["mountPath"].as<std::string>();
  }
  EXPECT_EQ(st.workdir, data_mount);
  EXPECT_NE(st.run.find("chown 65532:65532 " + data_mount), std::string::npos);
  std::string pod_db;
  for (const auto& e : c["env"]) {
    if (e["name"].as<std::string>() == "KINEMA_DB") pod_db = e["value"].as<std::string>();
  }
  EXPECT_EQ(st.env["KINEMA_DB"], pod_db);
  EXPECT_EQ(pod_db.rfind(data_mount + "/", 0), 0u);
  // The port the probes and the Service use is the one the image exposes.
  ASSERT_EQ(st.exposed.size(), 1u);
  EXPECT_EQ(st.exposed[0], c["ports"][0]["containerPort"].as<int>());
  EXPECT_EQ(st.exposed[0], c["livenessProbe"]["httpGet"]["port"].as<int>());
}

// Owning Debian package of each path (one dpkg -S for all; a path is tried
// as ldd prints it and canonical, since /lib is /usr/lib on merged-/usr).
std::map<std::string, std::string> OwningPackages(const std::set<std::string>& paths) {
  std::vector<std::string> argv = {"/usr/bin/dpkg", "-S"};
  std::map<std::string, std::string> canonical_of;
  for (const auto& p : paths) {
    std::error_code ec;
    std::string c = fs::canonical(p, ec).string();
    argv.push_back(p);
    if (!ec && c != p) {
      argv.push_back(c);
      canonical_of[c] = p;
    }
  }
  auto r = RunProcess(argv);  // exit 1 when some form is unknown; the found ones are printed
  std::map<std::string, std::string> out;
  std::istringstream in(r.out);
  for (std::string l; std::getline(in, l);) {
    size_t sep = l.find(": ");
    if (sep == std::string::npos) continue;
    std::string pkg = l.substr(0, l.find(':')), path = l.substr(sep + 2);
    out[canonical_of.count(path) ? canonical_of[path] : path] = pkg;
  }
  return out;
}

TEST(ImageRuntimeStage, InstallsEverySharedLibraryTheBinariesLink) {
  if (::access("/usr/bin/dpkg", X_OK) != 0 || ::access("/usr/bin/ldd", X_OK) != 0) GTEST_SKIP() << "needs dpkg and ldd";
  RuntimeStage st = ParseRuntimeStage();
  ASSERT_FALSE(st.packages.empty());
  // What apt-get install brings: the listed packages and their Depends, recursively.
  std::vector<std::string> argv = {"/usr/bin/apt-cache", "depends", "--recurse", "--no-recommends", "--no-suggests",
                                   "--no-conflicts", "--no-breaks", "--no-replaces", "--no-enhances", "--no-pre-depends"};
  argv.insert(argv.end(), st.packages.begin(), st.packages.end());
  auto deps = RunProcess(argv);
  ASSERT_EQ(deps.exit_code, 0) << deps.err;
  std::set<std::string> installed(st.packages.begin(), st.packages.end());
  std::istringstream dl(deps.out);
  for (std::string l; std::getline(dl, l);) {
    std::smatch m;
    static const std::regex dep_re(R"(^\s+\|?Depends:\s+<?([a-z0-9.+-]+)(:[a-z0-9]+)?>?)");
    if (std::regex_search(l, m, dep_re)) installed.insert(m[1]);
    else if (!l.empty() && l[0] != ' ') installed.insert(l.substr(0, l.find(':')));
  }
  std::map<std::string, std::set<std::string>> linked;  // library path -> binaries
  for (const std::string bin : {"kinema", "kinemactl"}) {
    auto ldd = RunProcess({"/usr/bin/ldd", BinPath(bin)});
    ASSERT_EQ(ldd.exit_code, 0) << ldd.err;
    std::istringstream in(ldd.out);
    int libs = 0;
    for (std::string l; std::getline(in, l);) {
      size_t arrow = l.find("=> /");
      if (arrow == std::string::npos) continue;
      linked[l.substr(arrow + 3, l.find(" (", arrow) - arrow - 3)].insert(bin);
      ++libs;
    }
    EXPECT_GT(libs, 3) << ldd.out;
  }
  std::set<std::string> paths;
  for (const auto& [p, bins] : linked) paths.insert(p);
  auto owners = OwningPackages(paths);
  std::set<std::string> packages;
  for (const auto& [p, pkg] : owners) packages.insert(pkg);
  // The slim base image holds the Priority: required packages (libc6, libgcc-s1, ...).
  std::vector<std::string> q = {"/usr/bin/dpkg-query", "-W", "-f=${Package} ${Priority}\n"};
  q.insert(q.end(), packages.begin(), packages.end());
  auto prio = RunProcess(q);
  std::set<std::string> required;
  std::istringstream pin(prio.out);
  for (std::string l; std::getline(pin, l);) {
    if (l.size() > 9 && l.compare(l.size() - 9, 9, " required") == 0) required.insert(l.substr(0, l.find(' ')));
  }
  for (const auto& [path, bins] : linked) {
    auto o = owners.find(path);
    ASSERT_NE(o, owners.end()) << path << " (linked by " << *bins.begin() << ") belongs to no Debian package";
    EXPECT_TRUE(required.count(o->second) || installed.count(o->second))
        << *bins.begin() << " links " << path << " from " << o->second << ", which the runtime stage does not install";
  }
}

}  // namespace
}  // namespace kinema
