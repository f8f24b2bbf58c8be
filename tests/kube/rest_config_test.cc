// Unit tests: kubeconfig / in-cluster parsing and credential sources.
#include "engine/kube/rest_config.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include "engine/kube/base64.h"
#include "engine/kube/credentials.h"

namespace kinema::kube {
namespace {

namespace fs = std::filesystem;

class TempDir {
 public:
  TempDir() {
    path_ = fs::temp_directory_path() / ("kinema-kube-test-" + std::to_string(::getpid()) + "-" +
                                         std::to_string(counter_++));
    fs::create_directories(path_);
  }
  ~TempDir() { fs::remove_all(path_); }
  std::string Write(const std::string& name, const std::string& content, bool executable = false) {
    fs::path p = path_ / name;
    std::ofstream(p) << content;
    if (executable) ::chmod(p.c_str(), 0755);
    return p.string();
  }
  std::string path() const { return path_.string(); }

 private:
  static inline int counter_ = 0;
  fs::path path_;
};

constexpr char kTwoContexts[] = R"(apiVersion: v1
kind: Config
current-context: prod
clusters:
- name: prod-cluster
  cluster:
    server: https://10.0.0.1:6443/
    certificate-authority: ca.pem
- name: dev-cluster
  cluster:
    server: http://127.0.0.1:8080
    insecure-skip-tls-verify: true
contexts:
- name: prod
  context: {cluster: prod-cluster, user: prod-user, namespace: shop}
- name: dev
  context: {cluster: dev-cluster, user: dev-user}
users:
- name: prod-user
  user:
    token: prod-secret-token
- name: dev-user
  user:
    tokenFile: tok.txt
)";

TEST(Kubeconfig, UsesCurrentContextAndResolvesRelativePaths) {
  TempDir dir;
  dir.Write("ca.pem", "-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n");
  std::string path = dir.Write("config", kTwoContexts);
  auto cfg = LoadKubeconfig(path);
  ASSERT_TRUE(cfg.ok()) << cfg.status().ToString();
  EXPECT_EQ(cfg->server, "https://10.0.0.1:6443");
  EXPECT_EQ(cfg->tls.ca_file, dir.path() + "/ca.pem");
  EXPECT_FALSE(cfg->tls.insecure_skip_verify);
  EXPECT_EQ(cfg->token, "prod-secret-token");
  EXPECT_EQ(cfg->default_namespace, "shop");
  EXPECT_EQ(cfg->DebugString().find("prod-secret-token"), std::string::npos);
}

TEST(Kubeconfig, ExplicitContextOverridesCurrentContext) {
  TempDir dir;
  dir.Write("ca.pem", "x");
  std::string path = dir.Write("config", kTwoContexts);
  auto cfg = LoadKubeconfig(path, "dev");
  ASSERT_TRUE(cfg.ok()) << cfg.status().ToString();
  EXPECT_EQ(cfg->server, "http://127.0.0.1:8080");
  EXPECT_TRUE(cfg->tls.insecure_skip_verify);
  EXPECT_EQ(cfg->token_file, dir.path() + "/tok.txt");
  EXPECT_EQ(cfg->default_namespace, "default");
}

TEST(Kubeconfig, DecodesInlineCertificateData) {
  std::string yaml = std::string(R"(current-context: c
clusters:
- name: k
  cluster:
    server: https://k:443
    certificate-authority-data: )") +
                     Base64Encode("CA-PEM") + R"(
contexts:
- name: c
  context: {cluster: k, user: u}
users:
- name: u
  user:
    client-certificate-data: )" + Base64Encode("CERT-PEM") + R"(
    client-key-data: )" + Base64Encode("KEY-PEM") + "\n";
  auto cfg = LoadKubeconfigFromString(yaml, "/tmp");
  ASSERT_TRUE(cfg.ok()) << cfg.status().ToString();
  EXPECT_EQ(cfg->tls.ca_pem, "CA-PEM");
  EXPECT_EQ(cfg->tls.client_cert_pem, "CERT-PEM");
  EXPECT_EQ(cfg->tls.client_key_pem, "KEY-PEM");
  EXPECT_EQ(cfg->DebugString().find("KEY-PEM"), std::string::npos);
}

TEST(Kubeconfig, RejectsInconsistentOrUnsupportedSettingsNamingTheField) {
  auto base = [](const std::string& cluster_extra, const std::string& user) {
    return "current-context: c\nclusters:\n- name: k\n  cluster:\n    server: https://k\n" + cluster_extra +
           "contexts:\n- name: c\n  context: {cluster: k, user: u}\nusers:\n- name: u\n  user:\n" + user;
  };
  auto s1 = LoadKubeconfigFromString(
      base("    insecure-skip-tls-verify: true\n    certificate-authority-data: " + Base64Encode("x") + "\n",
           "    token: t\n"),
      "/tmp");
  EXPECT_EQ(s1.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(s1.status().message().find("insecure-skip-tls-verify"), std::string::npos);

  auto s2 = LoadKubeconfigFromString(base("", "    client-certificate-data: " + Base64Encode("c") + "\n"), "/tmp");
  EXPECT_EQ(s2.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(s2.status().message().find("client-key"), std::string::npos);

  auto s3 = LoadKubeconfigFromString(base("", "    auth-provider: {name: gcp}\n"), "/tmp");
  EXPECT_EQ(s3.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(s3.status().message().find("auth-provider"), std::string::npos);

  auto s4 = LoadKubeconfigFromString(base("", "    exec: {apiVersion: client.authentication.k8s.io/v1alpha1, command: x}\n"),
                                     "/tmp");
  EXPECT_EQ(s4.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(s4.status().message().find("v1alpha1"), std::string::npos);

  auto s5 = LoadKubeconfigFromString(base("", "    token: t\n"), "/tmp", "missing-context");
  EXPECT_EQ(s5.status().code(), Status::Code::kNotFound);
  EXPECT_NE(s5.status().message().find("missing-context"), std::string::npos);

  auto s6 = LoadKubeconfigFromString("current-context: [unclosed", "/tmp");
  EXPECT_EQ(s6.status().code(), Status::Code::kInvalidArgument);

  EXPECT_EQ(LoadKubeconfig("/nonexistent/kubeconfig").status().code(), Status::Code::kNotFound);
}

TEST(Kubeconfig, SecretsNeverAppearInErrors) {
  // A malformed file containing a token: the error must not echo it.
  std::string yaml = "current-context: c\nusers:\n- name: u\n  user:\n    token: hunter2-token\n  bad: [\n";
  auto cfg = LoadKubeconfigFromString(yaml, "/tmp");
  ASSERT_FALSE(cfg.ok());
  EXPECT_EQ(cfg.status().message().find("hunter2-token"), std::string::npos);
}

TEST(InClusterConfig, ReadsServiceAccountAndEnvironment) {
  TempDir dir;
  dir.Write("token", "sa-token-1\n");
  dir.Write("ca.crt", "ca");
  dir.Write("namespace", "kinema-system\n");
  ::setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1", 1);
  ::setenv("KUBERNETES_SERVICE_PORT", "443", 1);
  auto cfg = LoadInClusterConfig({dir.path()});
  ::unsetenv("KUBERNETES_SERVICE_HOST");
  ::unsetenv("KUBERNETES_SERVICE_PORT");
  ASSERT_TRUE(cfg.ok()) << cfg.status().ToString();
  EXPECT_EQ(cfg->server, "https://10.96.0.1:443");
  EXPECT_EQ(cfg->tls.ca_file, dir.path() + "/ca.crt");
  EXPECT_EQ(cfg->token_file, dir.path() + "/token");
  EXPECT_EQ(cfg->default_namespace, "kinema-system");
  EXPECT_EQ(LoadInClusterConfig({dir.path()}).status().code(), Status::Code::kFailedPrecondition);
}

TEST(InClusterConfig, TestOnlyVariableMovesTheServiceAccountDirectory) {
  ::unsetenv("KINEMA_TEST_SERVICE_ACCOUNT_DIR");
  EXPECT_EQ(DefaultServiceAccountDir(), "/var/run/secrets/kubernetes.io/serviceaccount");
  TempDir dir;
  dir.Write("token", "t");
  dir.Write("ca.crt", "ca");
  ::setenv("KINEMA_TEST_SERVICE_ACCOUNT_DIR", dir.path().c_str(), 1);
  ::setenv("KUBERNETES_SERVICE_HOST", "127.0.0.1", 1);
  ::setenv("KUBERNETES_SERVICE_PORT", "6443", 1);
  auto cfg = LoadInClusterConfig();  // default options: from the variable
  ::unsetenv("KINEMA_TEST_SERVICE_ACCOUNT_DIR");
  ::unsetenv("KUBERNETES_SERVICE_HOST");
  ::unsetenv("KUBERNETES_SERVICE_PORT");
  ASSERT_TRUE(cfg.ok()) << cfg.status().ToString();
  EXPECT_EQ(cfg->token_file, dir.path() + "/token");
  EXPECT_NE(cfg->source.find(dir.path()), std::string::npos) << "the log names the directory used";
}

TEST(Credentials, TokenFileIsReReadWhenRotated) {
  TempDir dir;
  std::string file = dir.Write("token", "first-token\n");
  RestConfig cfg;
  cfg.token_file = file;
  CredentialProvider creds(cfg);
  EXPECT_EQ(*creds.Token(), "first-token");
  EXPECT_EQ(*creds.Token(), "first-token");
  EXPECT_EQ(creds.file_reads(), 1);  // unchanged file: cached
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  // The kubelet writes a new file and renames it over the old one.
  std::string tmp = dir.Write("token.new", "second-token-longer\n");
  fs::rename(tmp, file);
  EXPECT_EQ(*creds.Token(), "second-token-longer");
  EXPECT_EQ(creds.file_reads(), 2);
}

TEST(Credentials, ExecPluginTokenIsCachedUntilExpiryOrInvalidation) {
  TempDir dir;
  // The plugin counts its runs, checks KUBERNETES_EXEC_INFO and an env var
  // from the kubeconfig, and prints an ExecCredential.
  std::string script = dir.Write("plugin.sh", R"(#!/bin/sh
n=$(cat "$COUNTER" 2>/dev/null || echo 0); n=$((n+1)); echo $n > "$COUNTER"
case "$KUBERNETES_EXEC_INFO" in *'"kind":"ExecCredential"'*) ;; *) echo "no exec info" >&2; exit 3;; esac
echo '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"exec-token-'$n'","expirationTimestamp":"2999-01-01T00:00:00Z"}}'
)",
                                 true);
  std::string yaml = "current-context: c\nclusters:\n- name: k\n  cluster: {server: 'https://k'}\n"
                     "contexts:\n- name: c\n  context: {cluster: k, user: u}\nusers:\n- name: u\n  user:\n"
                     "    exec:\n      apiVersion: client.authentication.k8s.io/v1\n      command: ./plugin.sh\n"
                     "      interactiveMode: Never\n      provideClusterInfo: true\n"
                     "      env:\n      - {name: COUNTER, value: '" + dir.path() + "/count'}\n";
  auto cfg = LoadKubeconfigFromString(yaml, dir.path());
  ASSERT_TRUE(cfg.ok()) << cfg.status().ToString();
  ASSERT_TRUE(cfg->exec.has_value());
  CredentialProvider creds(*cfg);
  auto t1 = creds.Token();
  ASSERT_TRUE(t1.ok()) << t1.status().ToString();
  EXPECT_EQ(*t1, "exec-token-1");
  EXPECT_EQ(*creds.Token(), "exec-token-1");
  EXPECT_EQ(creds.exec_runs(), 1);
  creds.Invalidate();  // as after a 401
  EXPECT_EQ(*creds.Token(), "exec-token-2");
  EXPECT_EQ(creds.exec_runs(), 2);
}

TEST(Credentials, ExpiredExecTokenIsRefreshed) {
  TempDir dir;
  dir.Write("plugin.sh", R"(#!/bin/sh
echo '{"apiVersion":"client.authentication.k8s.io/v1beta1","kind":"ExecCredential","status":{"token":"short-lived","expirationTimestamp":"2000-01-01T00:00:00Z"}}'
)",
            true);
  RestConfig cfg;
  cfg.exec = ExecConfig{"client.authentication.k8s.io/v1beta1", "./plugin.sh", {}, {}, false, "Never", dir.path()};
  CredentialProvider creds(cfg);
  EXPECT_EQ(*creds.Token(), "short-lived");
  EXPECT_EQ(*creds.Token(), "short-lived");
  EXPECT_EQ(creds.exec_runs(), 2);  // already expired: every call re-runs
}

TEST(Credentials, FailingPluginGivesUsefulRedactedError) {
  TempDir dir;
  dir.Write("fail.sh", "#!/bin/sh\necho 'login failed, token: leaked-secret' >&2\nexit 7\n", true);
  dir.Write("wrongver.sh",
            "#!/bin/sh\necho '{\"apiVersion\":\"client.authentication.k8s.io/v1beta1\",\"kind\":\"ExecCredential\","
            "\"status\":{\"token\":\"x\"}}'\n",
            true);
  RestConfig cfg;
  cfg.exec = ExecConfig{"client.authentication.k8s.io/v1", "./fail.sh", {}, {}, false, "Never", dir.path()};
  auto t = CredentialProvider(cfg).Token();
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().code(), Status::Code::kUnavailable);
  EXPECT_NE(t.status().message().find("exited with code 7"), std::string::npos);
  EXPECT_NE(t.status().message().find("login failed"), std::string::npos);
  EXPECT_EQ(t.status().message().find("leaked-secret"), std::string::npos);

  cfg.exec->command = "./wrongver.sh";
  t = CredentialProvider(cfg).Token();
  EXPECT_EQ(t.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(t.status().message().find("does not match"), std::string::npos);

  cfg.exec->command = "/nonexistent/plugin";
  t = CredentialProvider(cfg).Token();
  EXPECT_EQ(t.status().code(), Status::Code::kUnavailable);
}

TEST(Base64, RoundTripsAndRejectsGarbage) {
  for (std::string s : {"", "a", "ab", "abc", "abcd", "hello world\n\x01\xff"}) {
    EXPECT_EQ(*Base64Decode(Base64Encode(s)), s);
  }
  EXPECT_EQ(*Base64Decode("aGVs\nbG8="), "hello");
  EXPECT_FALSE(Base64Decode("a$b=").has_value());
}

}  // namespace
}  // namespace kinema::kube
