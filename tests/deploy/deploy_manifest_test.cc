// tests/deploy: the manifests in deploy/ are what CI and users apply; these
// tests parse them (yaml-cpp, every document) and hold them to the contract:
// the RBAC rules equal the code's declaration (engine/kube/permissions),
// the ConfigMap's kinema.yaml and catalog load with the controller's own
// parsers, and the StatefulSet, Dockerfile and Grafana dashboard have the
// properties deploy/README.md promises.
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <tuple>
#include <unistd.h>
#include <vector>

#include "engine/catalog/catalog.h"
#include "engine/config/controller_config.h"
#include "engine/kube/admission_policy.h"
#include "engine/kinds/kind_registry.h"
#include "steps/kinds.h"
#include "tests/support/declared_permissions.h"
#include "engine/kube/permissions.h"
#include "engine/kube/resource.h"

namespace fs = std::filesystem;

namespace kinema {
namespace {

fs::path SourceDir() {
  if (const char* d = std::getenv("KINEMA_SOURCE_DIR"); d && *d) return d;
  return KINEMA_SOURCE_ROOT;
}

fs::path DeployDir() { return SourceDir() / "deploy"; }

std::string ReadFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// An object of a manifest file, with where it came from.
struct Object {
  std::string file;
  YAML::Node node;
  std::string kind() const { return node["kind"] ? node["kind"].as<std::string>() : ""; }
  std::string name() const { return node["metadata"]["name"] ? node["metadata"]["name"].as<std::string>() : ""; }
};

// An undefined node (a default-constructed YAML::Node is a defined null).
YAML::Node Missing() { return YAML::Node(YAML::NodeType::Undefined); }

const std::set<std::string> kClusterScopedKinds = {"ClusterRole",  "ClusterRoleBinding", "Namespace",
                                                   "PriorityClass", "StorageClass",
                                                   "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding"};

std::vector<std::string> ManifestFilesInDeployDir() {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(DeployDir())) {
    const std::string n = e.path().filename().string();
    if (n == "kustomization.yaml") continue;
    if (e.path().extension() == ".yaml" || e.path().extension() == ".yml") out.push_back(n);
  }
  std::sort(out.begin(), out.end());
  return out;
}

class DeployManifests : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    kustomization_ = YAML::LoadFile((DeployDir() / "kustomization.yaml").string());
    for (const auto& r : kustomization_["resources"]) {
      const std::string file = r.as<std::string>();
      for (const YAML::Node& doc : YAML::LoadAllFromFile((DeployDir() / file).string())) {
        if (doc.IsNull()) continue;
        objects_->push_back({file, doc});
      }
    }
  }
  static void TearDownTestSuite() { objects_->clear(); }

  static const Object& One(const std::string& kind, const std::string& name = "") {
    const Object* found = nullptr;
    for (const Object& o : *objects_) {
      if (o.kind() != kind || (!name.empty() && o.name() != name)) continue;
      EXPECT_EQ(found, nullptr) << "more than one " << kind << " " << name;
      found = &o;
    }
    if (found == nullptr) {
      ADD_FAILURE() << "no " << kind << " " << name << " in the kustomization's resources";
      static const Object empty{"", Missing()};
      return empty;
    }
    return *found;
  }

  static YAML::Node PodSpec() { return One("StatefulSet", "kinema").node["spec"]["template"]["spec"]; }
  static YAML::Node Container() { return PodSpec()["containers"][0]; }

  static std::string ConfigMapData(const std::string& key) {
    YAML::Node v = One("ConfigMap", "kinema-config").node["data"][key];
    return v ? v.as<std::string>() : "";
  }

  static ControllerConfig Config() {
    KindRegistry kinds;
    EXPECT_TRUE(RegisterKinds(&kinds).ok());
    auto c = kinds.ParseConfig(ConfigMapData("kinema.yaml"));
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    return c.ok() ? *c : ControllerConfig{};
  }

  // The container's mount path of the volume named `volume`; "" if none.
  static std::string MountPathOf(const std::string& volume) {
    for (const auto& m : Container()["volumeMounts"]) {
      if (m["name"].as<std::string>() == volume) return m["mountPath"].as<std::string>();
    }
    return "";
  }

  // The name of the volume mounted at `mount_path`; "" if none.
  static std::string VolumeMountedAt(const std::string& mount_path) {
    for (const auto& m : Container()["volumeMounts"]) {
      if (m["mountPath"].as<std::string>() == mount_path) return m["name"].as<std::string>();
    }
    return "";
  }

  // The pod volume named `name`; undefined if none.
  static YAML::Node PodVolume(const std::string& name) {
    for (const auto& v : PodSpec()["volumes"]) {
      if (v["name"].as<std::string>() == name) return v;
    }
    return Missing();
  }

  static inline YAML::Node kustomization_;
  static inline std::vector<Object>* objects_ = new std::vector<Object>();
};

// ---- kustomization and object identity -------------------------------------

TEST_F(DeployManifests, KustomizationListsEveryManifestInTheDeployFolder) {
  std::vector<std::string> listed;
  for (const auto& r : kustomization_["resources"]) listed.push_back(r.as<std::string>());
  std::sort(listed.begin(), listed.end());
  EXPECT_EQ(listed, ManifestFilesInDeployDir());
  EXPECT_EQ(kustomization_["namespace"].as<std::string>(), "kube-system");
}

TEST_F(DeployManifests, EveryObjectIsNamedAndNamespacedInKubeSystem) {
  ASSERT_FALSE(objects_->empty());
  for (const Object& o : *objects_) {
    SCOPED_TRACE(o.file + ": " + o.kind() + " " + o.name());
    EXPECT_TRUE(o.node["apiVersion"] && !o.node["apiVersion"].as<std::string>().empty());
    EXPECT_FALSE(o.kind().empty());
    EXPECT_FALSE(o.name().empty());
    if (kClusterScopedKinds.count(o.kind())) {
      EXPECT_FALSE(o.node["metadata"]["namespace"]) << "cluster-scoped objects have no namespace";
    } else {
      ASSERT_TRUE(o.node["metadata"]["namespace"]);
      EXPECT_EQ(o.node["metadata"]["namespace"].as<std::string>(), "kube-system");
    }
  }
}

TEST_F(DeployManifests, ServiceAccountIsBoundToBothRolesAndUsedByThePod) {
  One("ServiceAccount", "kinema");
  EXPECT_EQ(PodSpec()["serviceAccountName"].as<std::string>(), "kinema");
  for (const auto& [binding, role_kind, role_name] :
       {std::tuple<std::string, std::string, std::string>{"ClusterRoleBinding", "ClusterRole", "kinema"},
        {"RoleBinding", "Role", "kinema-leader-election"}}) {
    SCOPED_TRACE(binding);
    YAML::Node b = One(binding).node;
    EXPECT_EQ(b["roleRef"]["kind"].as<std::string>(), role_kind);
    EXPECT_EQ(b["roleRef"]["name"].as<std::string>(), role_name);
    EXPECT_EQ(b["roleRef"]["apiGroup"].as<std::string>(), "rbac.authorization.k8s.io");
    ASSERT_EQ(b["subjects"].size(), 1u);
    EXPECT_EQ(b["subjects"][0]["kind"].as<std::string>(), "ServiceAccount");
    EXPECT_EQ(b["subjects"][0]["name"].as<std::string>(), "kinema");
    EXPECT_EQ(b["subjects"][0]["namespace"].as<std::string>(), "kube-system");
    One(role_kind, role_name);
  }
}

TEST_F(DeployManifests, KubectlKustomizeRendersEveryObjectIntoKubeSystem) {
  // The real kustomize (built into kubectl) must accept deploy/ as is.
  if (std::system("kubectl version --client >/dev/null 2>&1") != 0) {
    GTEST_SKIP() << "kubectl not on PATH (tools/install-deps.sh expects it)";
  }
  const std::string cmd = "kubectl kustomize '" + DeployDir().string() + "' 2>&1";
  std::string out;
  FILE* p = ::popen(cmd.c_str(), "r");
  ASSERT_NE(p, nullptr);
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), p)) > 0) out.append(buf, n);
  ASSERT_EQ(::pclose(p), 0) << out;
  size_t rendered = 0;
  for (const YAML::Node& doc : YAML::LoadAll(out)) {
    if (doc.IsNull()) continue;
    ++rendered;
    const std::string kind = doc["kind"].as<std::string>();
    SCOPED_TRACE(kind + " " + doc["metadata"]["name"].as<std::string>());
    EXPECT_EQ(doc["metadata"]["labels"]["app.kubernetes.io/name"].as<std::string>(), "kinema");
    if (!kClusterScopedKinds.count(kind)) {
      EXPECT_EQ(doc["metadata"]["namespace"].as<std::string>(), "kube-system");
    }
  }
  EXPECT_EQ(rendered, objects_->size());
}

// ---- StatefulSet -----------------------------------------------------------

TEST_F(DeployManifests, StatefulSetRunsOneSystemClusterCriticalReplica) {
  YAML::Node sts = One("StatefulSet", "kinema").node;
  EXPECT_EQ(sts["spec"]["replicas"].as<int>(), 1);
  EXPECT_EQ(PodSpec()["priorityClassName"].as<std::string>(), "system-cluster-critical");
  // The governing Service exists and is headless.
  YAML::Node svc = One("Service", sts["spec"]["serviceName"].as<std::string>()).node;
  EXPECT_EQ(svc["spec"]["clusterIP"].as<std::string>(), "None");
  // The selector matches the pod template.
  for (const auto& kv : sts["spec"]["selector"]["matchLabels"]) {
    EXPECT_EQ(sts["spec"]["template"]["metadata"]["labels"][kv.first.as<std::string>()].as<std::string>(),
              kv.second.as<std::string>());
  }
}

TEST_F(DeployManifests, JournalLivesOnAReadWriteOncePodClaimAtTheConfiguredPath) {
  const ControllerConfig cfg = Config();
  const std::string journal_dir = fs::path(cfg.journal).parent_path().string();
  const std::string volume = VolumeMountedAt(journal_dir);
  ASSERT_FALSE(volume.empty()) << "nothing mounted at " << journal_dir << " (journal " << cfg.journal << ")";
  EXPECT_FALSE(PodVolume(volume)) << "the journal must be on the claim template, not a pod volume";
  YAML::Node claim = Missing();
  for (const auto& t : One("StatefulSet", "kinema").node["spec"]["volumeClaimTemplates"]) {
    if (t["metadata"]["name"].as<std::string>() == volume) claim.reset(t);
  }
  ASSERT_TRUE(claim) << "no volumeClaimTemplate named " << volume;
  ASSERT_EQ(claim["spec"]["accessModes"].size(), 1u);
  EXPECT_EQ(claim["spec"]["accessModes"][0].as<std::string>(), "ReadWriteOncePod");
  EXPECT_TRUE(claim["spec"]["resources"]["requests"]["storage"]);
  // kinemactl inside the pod finds the same journal without --db.
  bool kinema_db = false;
  for (const auto& e : Container()["env"]) {
    if (e["name"].as<std::string>() == "KINEMA_DB") kinema_db = e["value"].as<std::string>() == cfg.journal;
  }
  EXPECT_TRUE(kinema_db) << "KINEMA_DB should equal the journal path " << cfg.journal;
}

TEST_F(DeployManifests, PodAndContainerRunAsNonRootWithReadOnlyRootAndNoCapabilities) {
  YAML::Node pod = PodSpec()["securityContext"];
  EXPECT_TRUE(pod["runAsNonRoot"].as<bool>());
  EXPECT_EQ(pod["runAsUser"].as<int>(), 65532);
  EXPECT_TRUE(pod["fsGroup"]) << "fsGroup makes the journal volume writable by the non-root user";
  EXPECT_EQ(pod["seccompProfile"]["type"].as<std::string>(), "RuntimeDefault");
  YAML::Node c = Container()["securityContext"];
  EXPECT_TRUE(c["runAsNonRoot"].as<bool>());
  EXPECT_NE(c["runAsUser"].as<int>(), 0);
  EXPECT_TRUE(c["readOnlyRootFilesystem"].as<bool>());
  EXPECT_FALSE(c["allowPrivilegeEscalation"].as<bool>());
  EXPECT_FALSE(c["privileged"] && c["privileged"].as<bool>());
  ASSERT_TRUE(c["capabilities"]["drop"]);
  std::vector<std::string> dropped;
  for (const auto& d : c["capabilities"]["drop"]) dropped.push_back(d.as<std::string>());
  EXPECT_EQ(dropped, std::vector<std::string>{"ALL"});
  EXPECT_FALSE(c["capabilities"]["add"]);
  EXPECT_EQ(c["seccompProfile"]["type"].as<std::string>(), "RuntimeDefault");
}

TEST_F(DeployManifests, ContainerRequestsAndLimitsCpuAndMemory) {
  YAML::Node r = Container()["resources"];
  for (const char* section : {"requests", "limits"}) {
    for (const char* res : {"cpu", "memory"}) {
      EXPECT_TRUE(r[section][res]) << section << "." << res;
    }
  }
}

TEST_F(DeployManifests, ProbesHitHealthzAndReadyzOnTheServerAddressPort) {
  const ControllerConfig cfg = Config();
  const std::string& addr = cfg.server.address;
  const size_t colon = addr.rfind(':');
  ASSERT_NE(colon, std::string::npos) << addr;
  const std::string host = addr.substr(0, colon);
  const int port = std::stoi(addr.substr(colon + 1));
  // The kubelet probes the pod IP: a loopback-only server would fail every probe.
  EXPECT_TRUE(host.empty() || host == "0.0.0.0" || host == "::" || host == "[::]")
      << "server.address " << addr << " is not reachable from the kubelet";

  auto resolve = [&](const YAML::Node& p) -> int {
    const std::string s = p.as<std::string>();
    if (!s.empty() && std::isdigit(static_cast<unsigned char>(s[0]))) return std::stoi(s);
    for (const auto& cp : Container()["ports"]) {
      if (cp["name"] && cp["name"].as<std::string>() == s) return cp["containerPort"].as<int>();
    }
    return -1;
  };
  YAML::Node live = Container()["livenessProbe"]["httpGet"];
  YAML::Node ready = Container()["readinessProbe"]["httpGet"];
  ASSERT_TRUE(live) << "livenessProbe.httpGet";
  ASSERT_TRUE(ready) << "readinessProbe.httpGet";
  EXPECT_EQ(live["path"].as<std::string>(), "/healthz");
  EXPECT_EQ(ready["path"].as<std::string>(), "/readyz");
  EXPECT_EQ(resolve(live["port"]), port);
  EXPECT_EQ(resolve(ready["port"]), port);
  // The metrics Service reaches the same port and advertises it.
  YAML::Node metrics = One("Service", "kinema-metrics").node;
  EXPECT_EQ(metrics["metadata"]["annotations"]["prometheus.io/scrape"].as<std::string>(), "true");
  EXPECT_EQ(std::stoi(metrics["metadata"]["annotations"]["prometheus.io/port"].as<std::string>()), port);
  EXPECT_EQ(metrics["spec"]["ports"][0]["port"].as<int>(), port);
  EXPECT_EQ(resolve(metrics["spec"]["ports"][0]["targetPort"]), port);
}

TEST_F(DeployManifests, TerminationGracePeriodCoversTheSafePointStop) {
  // operations.md: on SIGTERM the controller stops at a safe point within 10 s.
  EXPECT_GE(PodSpec()["terminationGracePeriodSeconds"].as<int>(), 15);
}

TEST_F(DeployManifests, LeaseHolderIdentityComesFromThePodName) {
  bool found = false;
  for (const auto& e : Container()["env"]) {
    if (e["name"].as<std::string>() != "POD_NAME") continue;
    found = true;
    EXPECT_EQ(e["valueFrom"]["fieldRef"]["fieldPath"].as<std::string>(), "metadata.name");
  }
  EXPECT_TRUE(found);
}

// ---- ConfigMap: the controller's own parsers ---------------------------------

TEST_F(DeployManifests, ConfigMapConfigLoadsWithTheControllerParser) {
  const std::string yaml = ConfigMapData("kinema.yaml");
  ASSERT_FALSE(yaml.empty());
  const fs::path tmp = fs::temp_directory_path() / ("kinema-deploy-test-" + std::to_string(::getpid()) + ".yaml");
  { std::ofstream(tmp) << yaml; }
  KindRegistry kinds;
  ASSERT_TRUE(RegisterKinds(&kinds).ok());
  auto loaded = kinds.LoadConfig(tmp.string());
  fs::remove(tmp);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_TRUE(loaded->kubeconfig.empty()) << "in cluster: no kubeconfig key (in-cluster config)";
  EXPECT_EQ(loaded->leader_election.namespace_, "kube-system");
  EXPECT_EQ(loaded->leader_election.name, "kinema");
  EXPECT_TRUE(loaded->leader_election.enabled);
  EXPECT_FALSE(loaded->dry_run);
  EXPECT_EQ(loaded->cloud.provider, "gce");
  EXPECT_TRUE(loaded->cloud.endpoint.empty()) << "in cluster: the real GCE endpoint";
  EXPECT_FALSE(loaded->prometheus.url.empty());
  // The config is read from the ConfigMap's mount, as the image's ENTRYPOINT expects.
  YAML::Node cfg_volume = PodVolume(VolumeMountedAt("/etc/kinema"));
  ASSERT_TRUE(cfg_volume) << "nothing mounted at /etc/kinema";
  EXPECT_EQ(cfg_volume["configMap"]["name"].as<std::string>(), "kinema-config");
}

TEST_F(DeployManifests, ConfigMapCatalogParsesWithTheCatalogParserAtTheConfiguredPath) {
  const ControllerConfig cfg = Config();
  const fs::path catalog_path(cfg.catalog);
  // The catalog comes from the same ConfigMap, mounted at its directory.
  EXPECT_EQ(VolumeMountedAt(catalog_path.parent_path().string()), VolumeMountedAt("/etc/kinema"));
  const std::string text = ConfigMapData(catalog_path.filename().string());
  ASSERT_FALSE(text.empty()) << "ConfigMap has no key " << catalog_path.filename();
  auto j = nlohmann::json::parse(text, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << "catalog is not JSON";
  auto catalog = ParseCatalog(j);
  ASSERT_TRUE(catalog.ok()) << catalog.status().ToString();
  EXPECT_EQ(catalog->provider, "gce");
  EXPECT_GE(catalog->machine_types.size(), 3u);
  for (const MachineType& t : catalog->machine_types) {
    SCOPED_TRACE(t.name);
    EXPECT_GT(t.price_on_demand, 0);
    ASSERT_TRUE(t.price_spot.has_value());
    EXPECT_LT(*t.price_spot, t.price_on_demand);
  }
}

TEST_F(DeployManifests, GceCredentialsSecretIsAnOptionalMountedVolume) {
  std::string secret_volume;
  for (const auto& v : PodSpec()["volumes"]) {
    if (v["secret"]) secret_volume = v["name"].as<std::string>();
  }
  ASSERT_FALSE(secret_volume.empty()) << "no Secret volume for GCE credentials";
  YAML::Node v = PodVolume(secret_volume);
  EXPECT_TRUE(v["secret"]["optional"].as<bool>()) << "the metadata server is the default: the Secret is optional";
  const std::string mount = MountPathOf(secret_volume);
  ASSERT_FALSE(mount.empty());
  // The commented-out tokenFile in kinema.yaml points into that mount.
  EXPECT_NE(ConfigMapData("kinema.yaml").find("tokenFile: " + mount + "/"), std::string::npos);
  const ControllerConfig cfg = Config();
  if (!cfg.cloud.token_file.empty()) {
    EXPECT_EQ(cfg.cloud.token_file.rfind(mount + "/", 0), 0u);
  }
}

// ---- RBAC == the declared permissions ---------------------------------------

// One grant: (scope, group, resource, resourceNames, verb).
using Grant = std::tuple<std::string, std::string, std::string, std::string, std::string>;

std::string Join(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : ",") + x;
  return s;
}

std::set<Grant> GrantsOf(const std::vector<kube::Permission>& perms) {
  std::set<Grant> out;
  for (const auto& p : perms) {
    for (const auto& v : p.verbs) {
      out.insert({kube::PermissionScopeName(p.scope), p.api_group, p.resource, Join(p.resource_names), v});
    }
  }
  return out;
}

std::vector<std::string> Strings(const YAML::Node& n) {
  std::vector<std::string> out;
  for (const auto& x : n) out.push_back(x.as<std::string>());
  return out;
}

// Expands RBAC rules; wildcards and non-resource URLs are reported in `bad`.
void AddGrants(const YAML::Node& rules, const std::string& scope, std::set<Grant>* out,
               std::vector<std::string>* bad) {
  for (const auto& r : rules) {
    if (r["nonResourceURLs"]) bad->push_back("nonResourceURLs rule");
    const auto groups = Strings(r["apiGroups"]);
    const auto resources = Strings(r["resources"]);
    const auto verbs = Strings(r["verbs"]);
    const auto names = Strings(r["resourceNames"]);
    for (const auto* list : {&groups, &resources, &verbs, &names}) {
      for (const auto& x : *list) {
        if (x.find('*') != std::string::npos) bad->push_back("wildcard '" + x + "'");
      }
    }
    if (verbs.empty() || resources.empty() || groups.empty()) bad->push_back("rule with an empty list");
    for (const auto& g : groups) {
      for (const auto& res : resources) {
        for (const auto& v : verbs) out->insert({scope, g, res, Join(names), v});
      }
    }
  }
}

std::string Describe(const Grant& g) {
  const auto& [scope, group, resource, names, verb] = g;
  return scope + ": " + verb + " " + resource + (group.empty() ? "" : "." + group) +
         (names.empty() ? "" : " [" + names + "]");
}

// "" when equal, else what is missing from / extra in the manifest.
std::string DiffGrants(const std::set<Grant>& declared, const std::set<Grant>& manifest) {
  std::string out;
  for (const auto& g : declared) {
    if (!manifest.count(g)) out += "missing in manifest: " + Describe(g) + "\n";
  }
  for (const auto& g : manifest) {
    if (!declared.count(g)) out += "not declared by the code: " + Describe(g) + "\n";
  }
  return out;
}

TEST_F(DeployManifests, RbacRulesEqualTheDeclaredPermissionsExactly) {
  const ControllerConfig cfg = Config();
  std::set<Grant> manifest;
  std::vector<std::string> bad;
  AddGrants(One("ClusterRole", "kinema").node["rules"], "cluster", &manifest, &bad);
  YAML::Node role = One("Role", "kinema-leader-election").node;
  EXPECT_EQ(role["metadata"]["namespace"].as<std::string>(), cfg.leader_election.namespace_)
      << "the Lease Role must live in leaderElection.namespace";
  AddGrants(role["rules"], "lease-namespace", &manifest, &bad);
  EXPECT_TRUE(bad.empty()) << Join(bad);
  const std::set<Grant> declared = GrantsOf(testing_support::DeclaredPermissions(cfg.leader_election.name));
  EXPECT_EQ(DiffGrants(declared, manifest), "");
}

TEST_F(DeployManifests, RbacComparisonDetectsAnExtraOrMissingVerb) {
  // The comparison above must be able to fail: a manifest with one verb more
  // (patch deployments) and one less (delete nodes) is reported both ways.
  auto perms = testing_support::DeclaredPermissions();
  std::set<Grant> declared = GrantsOf(perms);
  std::set<Grant> manifest = declared;
  manifest.insert({"cluster", "apps", "deployments", "", "patch"});
  manifest.erase({"cluster", "", "nodes", "", "delete"});
  const std::string diff = DiffGrants(declared, manifest);
  EXPECT_NE(diff.find("missing in manifest: cluster: delete nodes"), std::string::npos) << diff;
  EXPECT_NE(diff.find("not declared by the code: cluster: patch deployments.apps"),
            std::string::npos)
      << diff;
}

// ---- the declaration itself ------------------------------------------------

TEST(DeclaredPermissions, HaveNoWildcardsAndNoNameRestrictionRbacCannotEnforce) {
  const std::set<std::string> rbac_verbs = {"get", "list", "watch", "create", "update", "patch", "delete",
                                            "deletecollection"};
  for (const auto& p : testing_support::DeclaredPermissions()) {
    SCOPED_TRACE(p.api_group + "/" + p.resource);
    EXPECT_FALSE(p.used_by.empty());
    EXPECT_EQ(p.resource.find('*'), std::string::npos);
    EXPECT_EQ(p.api_group.find('*'), std::string::npos);
    ASSERT_FALSE(p.verbs.empty());
    EXPECT_TRUE(std::is_sorted(p.verbs.begin(), p.verbs.end()));
    for (const auto& v : p.verbs) {
      EXPECT_TRUE(rbac_verbs.count(v)) << v;
      if (!p.resource_names.empty()) {
        EXPECT_TRUE(v != "create" && v != "list" && v != "watch" && v != "deletecollection")
            << v << " cannot be restricted by resourceNames";
      }
    }
  }
}

TEST(DeclaredPermissions, LeaseAccessIsLimitedToTheLeaseNamespaceAndName) {
  const auto perms = testing_support::DeclaredPermissions("kinema");
  const std::string ns = "kube-system";
  auto req = [](std::string verb, std::string ns, std::string name) {
    return kube::RequestAttributes{std::move(verb), "coordination.k8s.io", "leases", std::move(ns), std::move(name)};
  };
  EXPECT_TRUE(kube::CheckRequest(perms, req("get", ns, "kinema"), ns).ok());
  EXPECT_TRUE(kube::CheckRequest(perms, req("update", ns, "kinema"), ns).ok());
  EXPECT_TRUE(kube::CheckRequest(perms, req("create", ns, ""), ns).ok());
  EXPECT_FALSE(kube::CheckRequest(perms, req("get", ns, "other-controller"), ns).ok());
  EXPECT_FALSE(kube::CheckRequest(perms, req("update", "default", "kinema"), ns).ok());
  EXPECT_FALSE(kube::CheckRequest(perms, req("delete", ns, "kinema"), ns).ok());
  // Room holds: pods created and deleted in the controller's namespace only.
  auto pod = [](std::string verb, std::string ns) {
    return kube::RequestAttributes{std::move(verb), "", "pods", std::move(ns), "kinema-hold-0123456789"};
  };
  EXPECT_TRUE(kube::CheckRequest(perms, pod("delete", ns), ns).ok());
  EXPECT_FALSE(kube::CheckRequest(perms, pod("delete", "shop"), ns).ok()) << "no pod deletes outside it";
  EXPECT_FALSE(kube::CheckRequest(perms, pod("create", "shop"), ns).ok());
  Status denied = kube::CheckRequest(perms, req("get", ns, "other-controller"), ns);
  EXPECT_EQ(denied.code(), Status::Code::kPermissionDenied);
  EXPECT_NE(denied.message().find("get leases.coordination.k8s.io"), std::string::npos) << denied.message();
}

TEST(DeclaredPermissions, CheckPermissionAllowsDeclaredAndRefusesUndeclaredVerbs) {
  const auto perms = testing_support::DeclaredPermissions();
  EXPECT_TRUE(kube::CheckPermission(perms, "", "pods/eviction", "create").ok());
  EXPECT_TRUE(kube::CheckPermission(perms, "apps", "deployments", "update").ok());
  EXPECT_TRUE(kube::CheckPermission(perms, "", "nodes", "delete").ok());
  Status s = kube::CheckPermission(perms, "", "pods", "deletecollection");
  EXPECT_EQ(s.code(), Status::Code::kPermissionDenied);
  EXPECT_NE(s.message().find("deletecollection pods"), std::string::npos) << s.message();
  EXPECT_FALSE(kube::CheckPermission(perms, "apps", "deployments", "patch").ok());
  EXPECT_FALSE(kube::CheckPermission(perms, "", "secrets", "get").ok());
  EXPECT_FALSE(kube::CheckPermission(perms, "apps", "pods", "list").ok()) << "the group matters";
}

TEST(DeclaredPermissions, RequestPathsMapToTheVerbsTheApiServerAuthorizes) {
  using namespace kube::resources;
  struct Case {
    std::string method, path, query;
    kube::RequestAttributes want;
  };
  const std::vector<Case> cases = {
      {"GET", kPods.Path(""), "labelSelector=a%3Db", {"list", "", "pods", "", ""}},
      {"GET", kPods.Path("shop"), "watch=true&resourceVersion=5", {"watch", "", "pods", "shop", ""}},
      {"GET", kNodes.Path("", "n1"), "", {"get", "", "nodes", "", "n1"}},
      {"PUT", kNodes.Path("", "n1"), "", {"update", "", "nodes", "", "n1"}},
      {"DELETE", kNodes.Path("", "n1"), "", {"delete", "", "nodes", "", "n1"}},
      {"POST", kPods.Path("shop", "cart-1", "eviction"), "", {"create", "", "pods/eviction", "shop", "cart-1"}},
      {"PATCH", kPods.Path("shop", "cart-1", "resize"), "", {"patch", "", "pods/resize", "shop", "cart-1"}},
      {"PUT", kDeployments.Path("shop", "cart"), "", {"update", "apps", "deployments", "shop", "cart"}},
      {"DELETE", kPods.Path("shop"), "", {"deletecollection", "", "pods", "shop", ""}},
      {"POST", kLeases.Path("kube-system"), "", {"create", "coordination.k8s.io", "leases", "kube-system", ""}},
      {"GET", kHorizontalPodAutoscalers.Path(""), "", {"list", "autoscaling", "horizontalpodautoscalers", "", ""}},
      {"GET", "/api/v1/namespaces", "", {"list", "", "namespaces", "", ""}},
      {"GET", "/api/v1/namespaces/shop", "", {"get", "", "namespaces", "", "shop"}},
      {"POST", "/api/v1/namespaces/default/events?fieldManager=kinema", "", {"create", "", "events", "default", ""}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.method + " " + c.path);
    auto got = kube::RequestAttributesOf(c.method, c.path, c.query);
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    EXPECT_EQ(got->verb, c.want.verb);
    EXPECT_EQ(got->api_group, c.want.api_group);
    EXPECT_EQ(got->resource, c.want.resource);
    EXPECT_EQ(got->ns, c.want.ns);
    EXPECT_EQ(got->name, c.want.name);
  }
  EXPECT_FALSE(kube::RequestAttributesOf("GET", "/version").ok());
  EXPECT_FALSE(kube::RequestAttributesOf("GET", "/healthz").ok());
}

TEST(DeclaredPermissions, EveryRequestShapeTheControllerSendsIsDeclared) {
  // The requests engine/kube, engine/snapshot and steps/rescheduling build,
  // as paths (the lead's recording test checks the real traffic as well).
  using namespace kube::resources;
  const auto perms = testing_support::DeclaredPermissions("kinema");
  const std::vector<std::pair<std::string, std::string>> sent = {
      {"GET", kNodes.Path("")},           {"GET", kPods.Path("")},
      {"GET", kDeployments.Path("")},     {"GET", kReplicaSets.Path("")},
      {"GET", kStatefulSets.Path("")},    {"GET", kDaemonSets.Path("")},
      {"GET", kPodDisruptionBudgets.Path("")}, {"GET", kHorizontalPodAutoscalers.Path("")},
      {"GET", kNodes.Path("", "n1")},     {"PUT", kNodes.Path("", "n1")},
      {"DELETE", kNodes.Path("", "n1")},  {"GET", kDeployments.Path("shop", "cart")},
      {"PUT", kDeployments.Path("shop", "cart")},
      {"POST", kPods.Path("shop", "cart-1", "eviction")},
      {"POST", kEvents.Path("shop")},     {"POST", kEvents.Path("default")},
      {"GET", kLeases.Path("kube-system", "kinema")}, {"PUT", kLeases.Path("kube-system", "kinema")},
      {"POST", kLeases.Path("kube-system")},
  };
  for (const auto& [method, path] : sent) {
    auto a = kube::RequestAttributesOf(method, path);
    ASSERT_TRUE(a.ok()) << a.status().ToString();
    Status s = kube::CheckRequest(perms, *a, "kube-system");
    EXPECT_TRUE(s.ok()) << method << " " << path << ": " << s.ToString();
  }
}

// ---- Dockerfile ------------------------------------------------------------

TEST_F(DeployManifests, DockerfileBuildsInADebianStageAndRunsNonRootFromASlimStage) {
  const std::string text = ReadFile(DeployDir() / "Dockerfile");
  ASSERT_FALSE(text.empty());
  std::vector<std::string> froms;
  std::string user, entrypoint;
  std::istringstream in(text);
  std::string line;
  const std::regex from_re(R"(^\s*FROM\s+(\S+))", std::regex::icase);
  const std::regex user_re(R"(^\s*USER\s+(\S+))", std::regex::icase);
  const std::regex entry_re(R"(^\s*ENTRYPOINT\s+(.*)$)", std::regex::icase);
  const std::regex arg_re(R"(^\s*ARG\s+([A-Za-z_][A-Za-z0-9_]*)=(\S+))", std::regex::icase);
  std::map<std::string, std::string> args;  // global ARG defaults, for ${NAME} in FROM
  std::smatch m;
  while (std::getline(in, line)) {
    if (froms.empty() && std::regex_search(line, m, arg_re)) args[m[1]] = m[2];
    if (std::regex_search(line, m, from_re)) {
      std::string image = m[1];
      if (image.size() > 3 && image.rfind("${", 0) == 0 && image.back() == '}') {
        image = args[image.substr(2, image.size() - 3)];
      }
      froms.push_back(image);
      user.clear();
    }
    if (std::regex_search(line, m, user_re)) user = m[1];
    if (std::regex_search(line, m, entry_re)) entrypoint = m[1];
  }
  ASSERT_EQ(froms.size(), 2u) << "multi-stage: a build stage and a runtime stage";
  EXPECT_EQ(froms[0].rfind("debian:bookworm", 0), 0u) << froms[0];
  EXPECT_EQ(froms[1].rfind("debian:bookworm-slim", 0), 0u) << froms[1];
  // Pinned by digest: a tag can be re-pointed to other bytes, a digest cannot.
  const std::regex pinned(R"(^[^@\s]+@sha256:[0-9a-f]{64}$)");
  for (const auto& f : froms) EXPECT_TRUE(std::regex_match(f, pinned)) << "not pinned by digest: " << f;
  // USER of the final stage: not root, numeric so runAsNonRoot can verify it.
  ASSERT_FALSE(user.empty()) << "the runtime stage must set USER";
  const std::string uid = user.substr(0, user.find(':'));
  EXPECT_TRUE(std::all_of(uid.begin(), uid.end(), ::isdigit)) << user;
  EXPECT_NE(uid, "0");
  EXPECT_EQ(std::stoi(uid), PodSpec()["securityContext"]["runAsUser"].as<int>()) << "image USER and pod runAsUser agree";
  EXPECT_NE(entrypoint.find("\"kinema\""), std::string::npos) << entrypoint;
  EXPECT_NE(entrypoint.find("/etc/kinema/kinema.yaml"), std::string::npos) << entrypoint;
  // Nothing fetched from the internet and executed.
  const std::regex pipe_to_shell(R"((curl|wget)[^\n|]*\|\s*(sudo\s+)?(ba|z|da)?sh\b)");
  EXPECT_FALSE(std::regex_search(text, pipe_to_shell)) << "curl|sh download in the Dockerfile";
  EXPECT_EQ(text.find("ADD http"), std::string::npos);
  // Both binaries end up in the runtime image.
  EXPECT_NE(text.find("build/bin/kinema "), std::string::npos);
  EXPECT_NE(text.find("build/bin/kinemactl"), std::string::npos);
}

// ---- NetworkPolicy ---------------------------------------------------------

TEST_F(DeployManifests, NetworkPolicyAdmitsOnlyMonitoringOnTheServerPortAndNamedEgress) {
  YAML::Node np = One("NetworkPolicy", "kinema").node;
  EXPECT_EQ(np["spec"]["podSelector"]["matchLabels"]["app.kubernetes.io/name"].as<std::string>(), "kinema");
  std::set<std::string> types;
  for (const auto& t : np["spec"]["policyTypes"]) types.insert(t.as<std::string>());
  EXPECT_EQ(types, (std::set<std::string>{"Ingress", "Egress"})) << "both directions default-deny";
  // Ingress: exactly one rule, from the monitoring namespace, to the server port.
  const std::string address = Config().server.address;
  const int port = std::stoi(address.substr(address.rfind(':') + 1));
  YAML::Node ingress = np["spec"]["ingress"];
  ASSERT_EQ(ingress.size(), 1u);
  ASSERT_EQ(ingress[0]["from"].size(), 1u);
  EXPECT_EQ(ingress[0]["from"][0]["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"].as<std::string>(),
            "monitoring");
  EXPECT_FALSE(ingress[0]["from"][0]["ipBlock"]) << "no address-based ingress";
  ASSERT_EQ(ingress[0]["ports"].size(), 1u);
  EXPECT_EQ(ingress[0]["ports"][0]["port"].as<int>(), port);
  // Egress: DNS, Prometheus (its port from prometheus.url), the metadata
  // servers, and TCP 443/6443 (API server, Google APIs); nothing else.
  std::set<std::string> allowed;
  for (const auto& rule : np["spec"]["egress"]) {
    for (const auto& p : rule["ports"]) {
      const std::string proto = p["protocol"].as<std::string>() + "/" + p["port"].as<std::string>();
      if (!rule["to"]) {
        allowed.insert("any " + proto);
        continue;
      }
      for (const auto& to : rule["to"]) {
        std::string peer = to["ipBlock"] ? to["ipBlock"]["cidr"].as<std::string>()
                           : to["podSelector"] ? "pods " + to["podSelector"]["matchLabels"].begin()->second.as<std::string>()
                                               : "ns " + to["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"].as<std::string>();
        allowed.insert(peer + " " + proto);
      }
    }
  }
  const std::string prom = Config().prometheus.url;
  const std::string prom_port = prom.substr(prom.rfind(':') + 1);
  const std::set<std::string> want = {"pods kube-dns UDP/53", "pods kube-dns TCP/53", "169.254.20.10/32 UDP/53",
                                      "169.254.20.10/32 TCP/53", "ns monitoring TCP/" + prom_port,
                                      "169.254.169.254/32 TCP/80", "169.254.169.252/32 TCP/988", "any TCP/443",
                                      "any TCP/6443"};
  EXPECT_EQ(allowed, want);
}

// ---- ValidatingAdmissionPolicy -----------------------------------------------

// The declared rules deploy/ grants: the engine's and every registered kind's.
std::vector<kube::Permission> Declared(const std::string& lease_name) {
  return testing_support::DeclaredPermissions(lease_name);
}

TEST_F(DeployManifests, AdmissionPolicyFileIsTheGeneratorsOutputForTheDeclarations) {
  auto rendered = kube::RenderAdmissionPolicy(Declared(Config().leader_election.name));
  ASSERT_TRUE(rendered.ok()) << rendered.status().ToString();
  const std::string file = ReadFile(DeployDir() / "admission-policy.yaml");
  EXPECT_EQ(file, *rendered) << "deploy/admission-policy.yaml is stale: regenerate it with\n"
                                "  build/bin/kinema-admission-policy > deploy/admission-policy.yaml";
}

TEST_F(DeployManifests, AdmissionPolicyBindsEveryWrittenKindToTheControllersServiceAccount) {
  std::map<std::string, YAML::Node> policies;
  for (const Object& o : *objects_) {
    if (o.kind() == "ValidatingAdmissionPolicy") policies[o.name()] = o.node;
  }
  for (const auto& p : Declared("kinema")) {
    const bool writes = std::count(p.verbs.begin(), p.verbs.end(), "update") ||
                        std::count(p.verbs.begin(), p.verbs.end(), "patch");
    if (!writes || p.scope == kube::PermissionScope::kLeaseNamespace) continue;
    SCOPED_TRACE(p.resource);
    EXPECT_FALSE(p.mutable_fields.empty()) << "a written kind must declare the fields it changes";
    const std::string name = "kinema-" + p.resource + (p.api_group.empty() ? "" : "." + p.api_group);
    ASSERT_TRUE(policies.count(name)) << name;
    YAML::Node spec = policies[name]["spec"];
    EXPECT_EQ(spec["failurePolicy"].as<std::string>(), "Fail");
    EXPECT_EQ(spec["matchConstraints"]["resourceRules"][0]["resources"][0].as<std::string>(), p.resource);
    EXPECT_EQ(spec["matchConstraints"]["resourceRules"][0]["operations"][0].as<std::string>(), "UPDATE");
    EXPECT_NE(spec["matchConditions"][0]["expression"].as<std::string>().find(
                  "'system:serviceaccount:kube-system:kinema'"),
              std::string::npos);
    ASSERT_GT(spec["validations"].size(), 3u);
    for (const auto& v : spec["validations"]) {
      const std::string e = v["expression"].as<std::string>();
      EXPECT_EQ(std::count(e.begin(), e.end(), '('), std::count(e.begin(), e.end(), ')')) << e;
      EXPECT_EQ(std::count(e.begin(), e.end(), '\'') % 2, 0) << e;
      // A freed field is never held fixed.
      for (const auto& f : p.mutable_fields) {
        if (f.find('[') != std::string::npos) continue;
        EXPECT_EQ(e.find("object." + f + " == oldObject." + f), std::string::npos) << f;
      }
    }
    bool bound = false;
    for (const Object& o : *objects_) {
      if (o.kind() != "ValidatingAdmissionPolicyBinding" || o.node["spec"]["policyName"].as<std::string>() != name) continue;
      bound = true;
      EXPECT_EQ(o.node["spec"]["validationActions"][0].as<std::string>(), "Deny");
    }
    EXPECT_TRUE(bound) << name << " has no binding";
  }
}

TEST(AdmissionPolicy, ResizeModeDeclarationsAllowPodsResizeAndTheAnnotationOnly) {
  // What the in-place resize mode will declare: pods/resize (the API server
  // lets it change container resources only) and its annotation on pods.
  std::vector<kube::Permission> declared = {
      {"", "pods/resize", {"patch"}, kube::PermissionScope::kCluster, {}, "resize", {"spec.containers"}},
      {"", "pods", {"list", "patch"}, kube::PermissionScope::kCluster, {}, "resize", {"metadata.annotations[kinema.io/]"}},
  };
  auto yaml = kube::RenderAdmissionPolicy(declared);
  ASSERT_TRUE(yaml.ok()) << yaml.status().ToString();
  auto docs = YAML::LoadAll(*yaml);
  std::map<std::string, YAML::Node> policies;
  for (const auto& d : docs) {
    if (d["kind"] && d["kind"].as<std::string>() == "ValidatingAdmissionPolicy") {
      policies[d["metadata"]["name"].as<std::string>()] = d;
    }
  }
  ASSERT_EQ(policies.size(), 2u);
  std::string pods, resize;
  for (const auto& v : policies["kinema-pods"]["spec"]["validations"]) pods += v["expression"].as<std::string>() + "\n";
  for (const auto& v : policies["kinema-pods-resize"]["spec"]["validations"]) resize += v["expression"].as<std::string>() + "\n";
  EXPECT_NE(pods.find("object.spec == oldObject.spec"), std::string::npos) << "nothing in a pod's spec: " << pods;
  EXPECT_NE(pods.find("object.metadata.labels == oldObject.metadata.labels"), std::string::npos);
  EXPECT_NE(pods.find("startsWith('kinema.io/')"), std::string::npos);
  EXPECT_EQ(resize.find("object.spec.containers =="), std::string::npos) << "containers (resources) may change";
  EXPECT_NE(resize.find("object.spec.nodeName == oldObject.spec.nodeName"), std::string::npos);
  EXPECT_EQ(policies["kinema-pods-resize"]["spec"]["matchConstraints"]["resourceRules"][0]["resources"][0].as<std::string>(),
            "pods/resize");
}

TEST(AdmissionPolicy, AWrittenKindWithoutAFieldSchemaIsAnError) {
  std::vector<kube::Permission> declared = {
      {"batch", "jobs", {"update"}, kube::PermissionScope::kCluster, {}, "x", {"spec.parallelism"}}};
  auto yaml = kube::RenderAdmissionPolicy(declared);
  ASSERT_FALSE(yaml.ok());
  EXPECT_NE(yaml.status().message().find("jobs.batch"), std::string::npos) << yaml.status().message();
  std::vector<kube::Permission> deep = {
      {"apps", "deployments", {"update"}, kube::PermissionScope::kCluster, {}, "x", {"spec.template.spec.containers.image"}}};
  auto bad = kube::RenderAdmissionPolicy(deep);
  ASSERT_FALSE(bad.ok()) << "a path the schema cannot reach";
}

// ---- Grafana ---------------------------------------------------------------

void CollectPanels(const nlohmann::json& panels, std::vector<nlohmann::json>* out) {
  for (const auto& p : panels) {
    if (p.value("type", "") == "row") {
      CollectPanels(p.value("panels", nlohmann::json::array()), out);
    } else {
      out->push_back(p);
    }
  }
}

nlohmann::json Dashboard() {
  return nlohmann::json::parse(ReadFile(DeployDir() / "grafana-dashboard.json"), nullptr, false);
}

TEST(GrafanaDashboard, ParsesAndEveryPanelQueriesAKinemaMetric) {
  const nlohmann::json d = Dashboard();
  ASSERT_FALSE(d.is_discarded()) << "grafana-dashboard.json is not JSON";
  EXPECT_FALSE(d.value("title", "").empty());
  EXPECT_FALSE(d.value("uid", "").empty());
  EXPECT_TRUE(d.contains("schemaVersion"));
  std::vector<nlohmann::json> panels;
  CollectPanels(d.value("panels", nlohmann::json::array()), &panels);
  ASSERT_GE(panels.size(), 10u);
  std::set<int> ids;
  const std::regex metric(R"(\bkinema_[a-z_]+)");
  for (const auto& p : panels) {
    SCOPED_TRACE(p.value("title", "(untitled)"));
    EXPECT_TRUE(ids.insert(p.value("id", -1)).second) << "duplicate panel id";
    ASSERT_TRUE(p.contains("gridPos"));
    const auto& targets = p.value("targets", nlohmann::json::array());
    ASSERT_FALSE(targets.empty());
    for (const auto& t : targets) {
      const std::string expr = t.value("expr", "");
      EXPECT_TRUE(std::regex_search(expr, metric)) << expr;
      EXPECT_EQ(std::count(expr.begin(), expr.end(), '('), std::count(expr.begin(), expr.end(), ')')) << expr;
    }
  }
}

TEST(GrafanaDashboard, ShowsEveryMetricTheControllerDescribes) {
  // The controller registers its metric families with Describe("kinema_...")
  // (tools/kinema, the engine and every workflow kind under steps/); a new
  // family without a panel fails here.
  const std::string dash = Dashboard().dump();
  const std::regex described(R"re(Describe\(\s*"(kinema_[a-z_]+)")re");
  std::set<std::string> names;
  for (const char* dir : {"tools/kinema", "engine", "steps"}) {
    for (const auto& e : fs::recursive_directory_iterator(SourceDir() / dir)) {
      if (e.path().extension() != ".cc") continue;
      const std::string text = ReadFile(e.path());
      for (auto it = std::sregex_iterator(text.begin(), text.end(), described); it != std::sregex_iterator(); ++it) {
        names.insert((*it)[1]);
      }
    }
  }
  ASSERT_FALSE(names.empty()) << "no Describe(\"kinema_...\") found under tools/kinema, engine or steps";
  for (const auto& name : names) {
    EXPECT_NE(dash.find(name), std::string::npos) << name << " has no panel in deploy/grafana-dashboard.json";
  }
}

}  // namespace
}  // namespace kinema
