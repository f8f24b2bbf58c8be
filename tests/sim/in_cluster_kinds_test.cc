// Issue 20's pieces of kinema-sim in-process: the RBAC authorizer and its
// 403 text, ServiceAccount tokens, the in-cluster kinds' admission, the
// run-image kubelet's path mapping, image matching and environment.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "tests/support/test_support.h"
#include "tools/kinema-sim/admission.h"
#include "tools/kinema-sim/openapi.h"
#include "tools/kinema-sim/rbac/authorizer.h"
#include "tools/kinema-sim/rbac/bootstrap_policy.h"
#include "tools/kinema-sim/rbac/service_account_tokens.h"
#include "tools/kinema-sim/registry.h"
#include "tools/kinema-sim/runner/image_map.h"
#include "tools/kinema-sim/runner/pod_environment.h"
#include "tools/kinema-sim/runner/pod_files.h"

namespace kinema::sim {
namespace {

using Json = nlohmann::json;

const ResourceType& Rt(const std::string& group, const std::string& plural) {
  return *ResourceRegistry::Default().Find(group, "v1", plural);
}

class RbacTest : public ::testing::Test {
 protected:
  RbacTest() : store_(1000), clock_(1.0), reg_(&store_, &clock_), tokens_(&store_, &clock_), authz_(&store_) {
    for (const char* ns : {"kube-system", "shop"}) {
      EXPECT_TRUE(reg_.Create(*ResourceRegistry::Default().Find("", "v1", "namespaces"), "",
                              {{"metadata", {{"name", ns}}}}).ok());
    }
    EXPECT_TRUE(rbac::EnsureBootstrapPolicy(&reg_).ok());
    auto sa = reg_.Create(Rt("", "serviceaccounts"), "kube-system", {{"metadata", {{"name", "kinema"}}}});
    EXPECT_TRUE(sa.ok());
    sa_uid_ = sa.value()->body["metadata"]["uid"];
    Json role = {{"metadata", {{"name", "kinema"}}},
                 {"rules", {{{"apiGroups", {"apps"}}, {"resources", {"deployments"}}, {"verbs", {"get", "update"}}},
                            {{"apiGroups", {""}}, {"resources", {"pods/eviction"}}, {"verbs", {"create"}}},
                            {{"apiGroups", {"coordination.k8s.io"}}, {"resources", {"leases"}},
                             {"resourceNames", {"kinema"}}, {"verbs", {"get"}}}}}};
    EXPECT_TRUE(reg_.Create(Rt("rbac.authorization.k8s.io", "clusterroles"), "", role).ok());
    Json binding = {{"metadata", {{"name", "kinema"}}},
                    {"roleRef", {{"apiGroup", "rbac.authorization.k8s.io"}, {"kind", "ClusterRole"}, {"name", "kinema"}}},
                    {"subjects", {{{"kind", "ServiceAccount"}, {"name", "kinema"}, {"namespace", "kube-system"}}}}};
    EXPECT_TRUE(reg_.Create(Rt("rbac.authorization.k8s.io", "clusterrolebindings"), "", binding).ok());
  }
  rbac::UserInfo User() {
    rbac::TokenClaims c;
    c.ns = "kube-system";
    c.service_account = "kinema";
    c.service_account_uid = sa_uid_;
    c.issued_at = clock_.Now();
    c.expires_at = c.issued_at + std::chrono::hours(1);
    auto u = tokens_.Authenticate(tokens_.Issue(c));
    EXPECT_TRUE(u.has_value());
    return u ? *u : rbac::UserInfo{};
  }
  rbac::RequestAttributes Req(std::string verb, std::string group, std::string resource, std::string ns,
                              std::string name, std::string sub = "") {
    rbac::RequestAttributes a;
    a.verb = verb;
    a.api_group = group;
    a.resource = resource;
    a.ns = ns;
    a.name = name;
    a.subresource = sub;
    return a;
  }
  ObjectStore store_;
  SimClock clock_;
  Registry reg_;
  rbac::ServiceAccountTokens tokens_;
  rbac::Authorizer authz_;
  std::string sa_uid_;
};

TEST_F(RbacTest, ServiceAccountTokenAuthenticatesUntilItsServiceAccountIsGone) {
  rbac::UserInfo u = User();
  EXPECT_EQ(u.name, "system:serviceaccount:kube-system:kinema");
  EXPECT_EQ(u.groups, (std::vector<std::string>{"system:serviceaccounts", "system:serviceaccounts:kube-system",
                                                "system:authenticated"}));
  rbac::TokenClaims c;
  c.ns = "kube-system";
  c.service_account = "kinema";
  c.service_account_uid = sa_uid_;
  c.issued_at = clock_.Now() - std::chrono::hours(2);
  c.expires_at = clock_.Now() - std::chrono::hours(1);
  EXPECT_FALSE(tokens_.Authenticate(tokens_.Issue(c))) << "expired";
  std::string good = tokens_.Issue({"kube-system", "kinema", sa_uid_, "", "", "", {}, clock_.Now(),
                                    clock_.Now() + std::chrono::hours(1)});
  std::string forged = good;
  forged[forged.size() - 2] = forged[forged.size() - 2] == 'A' ? 'B' : 'A';
  EXPECT_FALSE(tokens_.Authenticate(forged)) << "bad signature";
  EXPECT_FALSE(tokens_.Authenticate("not-a-jwt"));
  ASSERT_TRUE(reg_.Delete(Rt("", "serviceaccounts"), "kube-system", "kinema", DeleteOptions{}).ok());
  EXPECT_FALSE(tokens_.Authenticate(good)) << "its ServiceAccount is gone";
}

TEST_F(RbacTest, RulesMatchVerbsGroupsSubresourcesAndResourceNames) {
  rbac::UserInfo u = User();
  EXPECT_TRUE(authz_.Authorize(u, Req("update", "apps", "deployments", "shop", "cart")).allowed);
  EXPECT_FALSE(authz_.Authorize(u, Req("patch", "apps", "deployments", "shop", "cart")).allowed);
  EXPECT_FALSE(authz_.Authorize(u, Req("update", "extensions", "deployments", "shop", "cart")).allowed);
  EXPECT_TRUE(authz_.Authorize(u, Req("create", "", "pods", "shop", "web-1", "eviction")).allowed);
  EXPECT_FALSE(authz_.Authorize(u, Req("create", "", "pods", "shop", "web-1")).allowed) << "pods/eviction is not pods";
  EXPECT_TRUE(authz_.Authorize(u, Req("get", "coordination.k8s.io", "leases", "kube-system", "kinema")).allowed);
  EXPECT_FALSE(authz_.Authorize(u, Req("get", "coordination.k8s.io", "leases", "kube-system", "other")).allowed);
  rbac::RequestAttributes discovery;
  discovery.resource_request = false;
  discovery.verb = "get";
  discovery.path = "/apis/apps/v1";
  EXPECT_TRUE(authz_.Authorize(u, discovery).allowed) << "system:discovery via system:authenticated";
  rbac::UserInfo admin{"kinema-sim-admin", {"system:masters"}, true};
  EXPECT_TRUE(authz_.Authorize(admin, Req("delete", "", "nodes", "", "n1")).allowed);
}

TEST_F(RbacTest, DenialHasTheApiServersForbiddenText) {
  rbac::UserInfo u = User();
  auto a = Req("patch", "apps", "deployments", "shop", "cart");
  ApiError e = rbac::Authorizer::Forbidden(u, a, authz_.Authorize(u, a).reason);
  EXPECT_EQ(e.code, 403);
  EXPECT_EQ(e.reason, "Forbidden");
  EXPECT_EQ(e.message,
            "deployments.apps \"cart\" is forbidden: User \"system:serviceaccount:kube-system:kinema\" cannot patch "
            "resource \"deployments\" in API group \"apps\" in the namespace \"shop\"");
  Json st = e.ToStatusJson();
  EXPECT_EQ(st["details"]["kind"], "deployments");
  EXPECT_EQ(st["details"]["group"], "apps");
  auto list = Req("list", "", "nodes", "", "");
  EXPECT_EQ(rbac::Authorizer::Forbidden(u, list, "").message,
            "nodes is forbidden: User \"system:serviceaccount:kube-system:kinema\" cannot list resource \"nodes\" in "
            "API group \"\" at the cluster scope");
  // A binding to a missing role: RBAC's reason is appended.
  Json binding = {{"metadata", {{"name", "ghost"}, {"namespace", "shop"}}},
                  {"roleRef", {{"apiGroup", "rbac.authorization.k8s.io"}, {"kind", "Role"}, {"name", "ghost"}}},
                  {"subjects", {{{"kind", "ServiceAccount"}, {"name", "kinema"}, {"namespace", "kube-system"}}}}};
  ASSERT_TRUE(reg_.Create(Rt("rbac.authorization.k8s.io", "rolebindings"), "shop", binding).ok());
  auto get = Req("get", "", "pods", "shop", "web-1");
  auto d = authz_.Authorize(u, get);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.reason, "RBAC: role.rbac.authorization.k8s.io \"ghost\" not found");
}

TEST_F(RbacTest, InClusterKindsAreDefaultedAndValidated) {
  auto secret = reg_.Create(Rt("", "secrets"), "shop", {{"metadata", {{"name", "s"}}}, {"stringData", {{"token", "abc"}}}});
  ASSERT_TRUE(secret.ok());
  EXPECT_EQ(secret.value()->body["data"]["token"], "YWJj");
  EXPECT_EQ(secret.value()->body["type"], "Opaque");
  EXPECT_FALSE(secret.value()->body.contains("stringData"));
  auto bad_role = reg_.Create(Rt("rbac.authorization.k8s.io", "roles"), "shop",
                              {{"metadata", {{"name", "r"}}}, {"rules", {{{"resources", {"pods"}}, {"verbs", {"get"}}}}}});
  ASSERT_FALSE(bad_role.ok());
  EXPECT_EQ(bad_role.error().code, 422);
  auto pvc = reg_.Create(Rt("", "persistentvolumeclaims"), "shop",
                         {{"metadata", {{"name", "data"}}},
                          {"spec", {{"accessModes", {"ReadWriteOncePod", "ReadWriteOnce"}},
                                    {"resources", {{"requests", {{"storage", "1Gi"}}}}}}}});
  EXPECT_FALSE(pvc.ok()) << "ReadWriteOncePod with another mode";
  auto svc = reg_.Create(Rt("", "services"), "shop",
                         Json{{"metadata", {{"name", "web"}}}, {"spec", {{"ports", Json::array({{{"port", 80}}})}}}});
  ASSERT_TRUE(svc.ok());
  EXPECT_EQ(svc.value()->body["spec"]["ports"][0]["targetPort"], 80);
  EXPECT_EQ(svc.value()->body["spec"]["clusterIP"].get<std::string>().rfind("10.", 0), 0u);
}

TEST(OpenApiTest, EveryServedKindHasATaggedDefinition) {
  Json doc = Json::parse(OpenApiV2());
  for (const auto& t : ResourceRegistry::Default().All()) {
    bool found = false;
    for (auto it = doc["definitions"].begin(); it != doc["definitions"].end(); ++it) {
      for (const auto& gvk : it.value().value("x-kubernetes-group-version-kind", Json::array())) {
        found = found || (gvk["kind"] == t.kind && gvk["group"] == t.group && gvk["version"] == t.version);
      }
    }
    EXPECT_TRUE(found) << t.kind;
  }
  EXPECT_TRUE(doc["definitions"]["io.k8s.api.rbac.v1.ClusterRole"]["properties"].contains("rules"));
  auto v3 = OpenApiV3GroupVersion("apis/rbac.authorization.k8s.io/v1");
  ASSERT_TRUE(v3.has_value());
  EXPECT_TRUE(Json::parse(*v3)["components"]["schemas"].contains("io.k8s.api.rbac.v1.RoleBinding"));
}

TEST(RunnerTest, MountPathsMapToThePodRootAtPathBoundariesOnly) {
  testing::TempDir dir;
  runner::PodFiles files(dir.path(), "kube-system", "kinema-0", "0123456789abcdef");
  std::filesystem::create_directories(dir.File("pvc"));
  ASSERT_TRUE(files.AddMount({"/var/lib/kinema", dir.File("pvc")}).ok());
  ASSERT_TRUE(files.AddMount({"/etc/kinema", dir.File("pvc")}).ok());
  const std::string& root = files.root();
  EXPECT_EQ(files.MapText("journal: /var/lib/kinema/kinema.db\ncatalog: /etc/kinema/catalog.json\n"),
            "journal: " + root + "/var/lib/kinema/kinema.db\ncatalog: " + root + "/etc/kinema/catalog.json\n");
  EXPECT_EQ(files.MapText("--config=/etc/kinema"), "--config=" + root + "/etc/kinema");
  EXPECT_EQ(files.MapText("/etc/kinemax/a /usr/etc/kinema /etc/kinem"), "/etc/kinemax/a /usr/etc/kinema /etc/kinem");
  EXPECT_EQ(files.root().rfind(dir.path() + "/pods/kinema-0-01234567/", 0), 0u);
  // root + P resolves through the mount's symlink.
  std::ofstream(dir.File("pvc") + "/x") << "1";
  EXPECT_TRUE(std::filesystem::exists(root + "/var/lib/kinema/x"));
}

TEST(RunnerTest, ProjectedVolumesSwapDataAtomicallyAndDropVanishedKeys) {
  testing::TempDir dir;
  runner::PodFiles files(dir.path(), "ns", "p", "uid12345");
  auto v = files.WriteProjected("config", {{"a", "1"}, {"b", "2"}}, Json::array(), 0644);
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(testing::ReadFile(*v + "/a"), "1");
  ASSERT_TRUE(files.WriteProjected("config", {{"a", "3"}}, Json::array(), 0644).ok());
  EXPECT_EQ(testing::ReadFile(*v + "/a"), "3");
  EXPECT_FALSE(std::filesystem::exists(*v + "/b"));
  EXPECT_TRUE(std::filesystem::is_symlink(*v + "/..data"));
}

TEST(RunnerTest, ImagesMatchByRepositoryWithAnyTagAndArgvFollowsKubernetesRules) {
  testing::TempDir dir;
  std::string exe = dir.File("kinema"), ctl = dir.File("kinemactl");
  for (const auto& f : {exe, ctl}) {
    std::ofstream(f) << "#!/bin/sh\n";
    std::filesystem::permissions(f, std::filesystem::perms::owner_all);
  }
  auto m = runner::ImageMap::Parse({{"kinema", exe + " --config /etc/kinema/kinema.yaml"}});
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_NE(m->Match("kinema:latest"), nullptr);
  EXPECT_NE(m->Match("reg.example:5000/team/kinema@sha256:00"), nullptr);
  EXPECT_EQ(m->Match("kinemax:1"), nullptr);
  const runner::RunImage& img = *m->Match("kinema");
  EXPECT_EQ(*m->Argv(img, {}, {}), (std::vector<std::string>{exe, "--config", "/etc/kinema/kinema.yaml"}));
  EXPECT_EQ(*m->Argv(img, {}, {"--once"}), (std::vector<std::string>{exe, "--once"}));
  EXPECT_EQ(*m->Argv(img, {"kinemactl", "list"}, {}), (std::vector<std::string>{ctl, "list"}));
  EXPECT_FALSE(m->Argv(img, {"sh"}, {}).ok());
  EXPECT_FALSE(runner::ImageMap::Parse({{"x", dir.File("missing")}}).ok());
}

TEST(RunnerTest, EnvironmentHasServiceVariablesDownwardApiAndExpansion) {
  Json pod = {{"metadata", {{"name", "kinema-0"}, {"namespace", "kube-system"}, {"uid", "u1"}, {"labels", {{"app", "k"}}}}},
              {"spec", {{"nodeName", "n1"}}},
              {"status", {{"podIP", "127.0.0.1"}}}};
  Json c = {{"env",
             {{{"name", "POD_NAME"}, {"valueFrom", {{"fieldRef", {{"fieldPath", "metadata.name"}}}}}},
              {{"name", "APP"}, {"valueFrom", {{"fieldRef", {{"fieldPath", "metadata.labels['app']"}}}}}},
              {{"name", "DB"}, {"value", "/var/lib/kinema/$(POD_NAME).db"}},
              {{"name", "LEVEL"}, {"valueFrom", {{"configMapKeyRef", {{"name", "cfg"}, {"key", "level"}}}}}}}}};
  runner::EnvContext ctx;
  ctx.pod = &pod;
  ctx.container = &c;
  ctx.api_host = "127.0.0.1";
  ctx.api_port = 6443;
  ctx.service_account_dir = "/x/sa";
  ctx.lookup = [](const std::string& kind, const std::string& name) -> std::optional<std::map<std::string, std::string>> {
    if (kind == "ConfigMap" && name == "cfg") return std::map<std::string, std::string>{{"level", "debug"}};
    return std::nullopt;
  };
  ctx.map_text = [](const std::string& s) { return s; };
  auto env = runner::BuildEnvironment(ctx);
  ASSERT_TRUE(env.ok()) << env.status().ToString();
  std::map<std::string, std::string> m(env->begin(), env->end());
  EXPECT_EQ(m["KUBERNETES_SERVICE_HOST"], "127.0.0.1");
  EXPECT_EQ(m["KUBERNETES_SERVICE_PORT"], "6443");
  EXPECT_EQ(m["POD_NAME"], "kinema-0");
  EXPECT_EQ(m["APP"], "k");
  EXPECT_EQ(m["DB"], "/var/lib/kinema/kinema-0.db");
  EXPECT_EQ(m["LEVEL"], "debug");
  EXPECT_EQ(m["KINEMA_TEST_SERVICE_ACCOUNT_DIR"], "/x/sa");
  c["env"].push_back({{"name", "X"}, {"valueFrom", {{"secretKeyRef", {{"name", "missing"}, {"key", "k"}}}}}});
  EXPECT_FALSE(runner::BuildEnvironment(ctx).ok()) << "a missing non-optional secret";
}

}  // namespace
}  // namespace kinema::sim
