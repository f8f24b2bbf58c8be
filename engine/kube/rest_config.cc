#include "engine/kube/rest_config.h"

#include <yaml-cpp/yaml.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "engine/http/redact.h"
#include "engine/kube/base64.h"

namespace kinema::kube {

namespace {

namespace fs = std::filesystem;

StatusOr<std::string> ReadFile(const std::string& path, const std::string& what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    if (!fs::exists(path)) return Status::NotFound(what + ": file " + path + " does not exist");
    return Status::IOError(what + ": cannot read " + path);
  }
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string Resolve(const std::string& base_dir, const std::string& p) {
  if (p.empty() || fs::path(p).is_absolute() || base_dir.empty()) return p;
  return (fs::path(base_dir) / p).lexically_normal().string();
}

std::string Str(const YAML::Node& n, const char* key) {
  if (!n || !n.IsMap()) return "";
  YAML::Node v = n[key];
  if (!v || v.IsNull() || !v.IsScalar()) return "";
  return v.as<std::string>();
}

bool Bool(const YAML::Node& n, const char* key) {
  if (!n || !n.IsMap()) return false;
  YAML::Node v = n[key];
  if (!v || !v.IsScalar()) return false;
  return v.as<bool>(false);
}

// Finds `name` in a kubeconfig list ("clusters", "users", "contexts") and
// returns its inner map (e.g. the "cluster" field).
YAML::Node FindNamed(const YAML::Node& root, const char* list, const char* inner, const std::string& name) {
  YAML::Node items = root[list];
  if (!items || !items.IsSequence()) return YAML::Node(YAML::NodeType::Undefined);
  for (const auto& item : items) {
    if (Str(item, "name") == name) return item[inner];
  }
  return YAML::Node(YAML::NodeType::Undefined);
}

Status DecodeData(const std::string& b64, const std::string& field, std::string* out) {
  auto decoded = Base64Decode(b64);
  if (!decoded) return Status::InvalidArgument(field + " is not valid base64");
  *out = std::move(*decoded);
  return Status::OK();
}

std::string TrimServer(std::string s) {
  while (!s.empty() && s.back() == '/') s.pop_back();
  return s;
}

}  // namespace

std::string RestConfig::DebugString() const {
  std::string auth;
  if (exec) auth = "exec " + exec->command + " (" + exec->api_version + ")";
  else if (!token_file.empty()) auth = "token file " + token_file;
  else if (!token.empty()) auth = "static token";
  else if (!tls.client_cert_pem.empty() || !tls.client_cert_file.empty()) auth = "client certificate";
  else auth = "none";
  std::string trust = tls.insecure_skip_verify ? "INSECURE (verification off)"
                      : !tls.ca_pem.empty()    ? "CA data"
                      : !tls.ca_file.empty()   ? "CA " + tls.ca_file
                                               : "system CAs";
  return "server=" + http::RedactUrl(server) + " auth=" + auth + " tls=" + trust + " namespace=" + default_namespace +
         " source=" + source;
}

StatusOr<RestConfig> LoadKubeconfig(const std::string& path, const std::string& context) {
  auto text = ReadFile(path, "kubeconfig");
  if (!text.ok()) return text.status();
  std::string base = fs::absolute(fs::path(path)).parent_path().string();
  return LoadKubeconfigFromString(*text, base, context, path);
}

StatusOr<RestConfig> LoadKubeconfigFromString(const std::string& yaml, const std::string& base_dir,
                                              const std::string& context_override, const std::string& origin) {
  const std::string where = "kubeconfig" + (origin.empty() ? std::string() : " " + origin);
  YAML::Node root;
  try {
    root = YAML::Load(yaml);
  } catch (const YAML::Exception& e) {
    // yaml-cpp messages carry line/column only, never file content.
    return Status::InvalidArgument(where + ": not valid YAML: " + std::string(e.what()));
  }
  if (!root || !root.IsMap()) return Status::InvalidArgument(where + ": not a kubeconfig (expected a map)");

  RestConfig cfg;
  try {
    std::string context_name = context_override.empty() ? Str(root, "current-context") : context_override;
    if (context_name.empty()) return Status::InvalidArgument(where + ": no current-context and no context given");
    cfg.source = where + " (context " + context_name + ")";
    YAML::Node ctx = FindNamed(root, "contexts", "context", context_name);
    if (!ctx || !ctx.IsMap()) return Status::NotFound(where + ": context \"" + context_name + "\" not found");
    std::string cluster_name = Str(ctx, "cluster");
    std::string user_name = Str(ctx, "user");
    if (!Str(ctx, "namespace").empty()) cfg.default_namespace = Str(ctx, "namespace");

    YAML::Node cluster = FindNamed(root, "clusters", "cluster", cluster_name);
    if (!cluster || !cluster.IsMap()) {
      return Status::NotFound(where + ": cluster \"" + cluster_name + "\" of context \"" + context_name +
                              "\" not found");
    }
    cfg.server = TrimServer(Str(cluster, "server"));
    if (cfg.server.empty()) return Status::InvalidArgument(where + ": cluster \"" + cluster_name + "\" has no server");
    if (cfg.server.rfind("http://", 0) != 0 && cfg.server.rfind("https://", 0) != 0) {
      return Status::InvalidArgument(where + ": cluster \"" + cluster_name + "\" server \"" + http::RedactUrl(cfg.server) +
                                     "\" must start with https:// or http://");
    }
    cfg.tls.insecure_skip_verify = Bool(cluster, "insecure-skip-tls-verify");
    std::string ca_data = Str(cluster, "certificate-authority-data");
    std::string ca_file = Str(cluster, "certificate-authority");
    if (!ca_data.empty()) {
      KINEMA_RETURN_IF_ERROR(DecodeData(ca_data, where + ": certificate-authority-data", &cfg.tls.ca_pem));
    } else if (!ca_file.empty()) {
      cfg.tls.ca_file = Resolve(base_dir, ca_file);
      if (!fs::exists(cfg.tls.ca_file)) {
        return Status::NotFound(where + ": certificate-authority " + cfg.tls.ca_file + " does not exist");
      }
    }
    if (cfg.tls.insecure_skip_verify && (!ca_data.empty() || !ca_file.empty())) {
      return Status::InvalidArgument(where + ": cluster \"" + cluster_name +
                                     "\": certificate-authority together with insecure-skip-tls-verify is not allowed");
    }

    YAML::Node user = FindNamed(root, "users", "user", user_name);
    if (!user_name.empty() && (!user || !user.IsMap())) {
      // An absent user entry means "no credentials", like client-go; a named
      // user that is missing is almost certainly a typo.
      YAML::Node users = root["users"];
      bool listed = false;
      if (users && users.IsSequence()) {
        for (const auto& u : users) listed = listed || Str(u, "name") == user_name;
      }
      if (!listed) return Status::NotFound(where + ": user \"" + user_name + "\" not found");
    }
    if (user && user.IsMap()) {
      if (user["auth-provider"]) {
        return Status::InvalidArgument(where + ": user \"" + user_name +
                                       "\": auth-provider is not supported; use an exec credential plugin");
      }
      if (!Str(user, "username").empty() || !Str(user, "password").empty()) {
        return Status::InvalidArgument(where + ": user \"" + user_name + "\": basic auth is not supported");
      }
      cfg.token = Str(user, "token");
      if (!Str(user, "tokenFile").empty()) cfg.token_file = Resolve(base_dir, Str(user, "tokenFile"));
      std::string cert_data = Str(user, "client-certificate-data");
      std::string key_data = Str(user, "client-key-data");
      if (!cert_data.empty()) {
        KINEMA_RETURN_IF_ERROR(DecodeData(cert_data, where + ": client-certificate-data", &cfg.tls.client_cert_pem));
      } else if (!Str(user, "client-certificate").empty()) {
        cfg.tls.client_cert_file = Resolve(base_dir, Str(user, "client-certificate"));
      }
      if (!key_data.empty()) {
        KINEMA_RETURN_IF_ERROR(DecodeData(key_data, where + ": client-key-data", &cfg.tls.client_key_pem));
      } else if (!Str(user, "client-key").empty()) {
        cfg.tls.client_key_file = Resolve(base_dir, Str(user, "client-key"));
      }
      bool has_cert = !cfg.tls.client_cert_pem.empty() || !cfg.tls.client_cert_file.empty();
      bool has_key = !cfg.tls.client_key_pem.empty() || !cfg.tls.client_key_file.empty();
      if (has_cert != has_key) {
        return Status::InvalidArgument(where + ": user \"" + user_name +
                                       "\": client-certificate and client-key must be given together");
      }
      YAML::Node exec = user["exec"];
      if (exec && exec.IsMap()) {
        ExecConfig e;
        e.api_version = Str(exec, "apiVersion");
        e.command = Str(exec, "command");
        if (e.command.empty()) return Status::InvalidArgument(where + ": user \"" + user_name + "\": exec.command is empty");
        if (e.api_version != "client.authentication.k8s.io/v1" &&
            e.api_version != "client.authentication.k8s.io/v1beta1") {
          return Status::InvalidArgument(where + ": user \"" + user_name + "\": exec.apiVersion \"" + e.api_version +
                                         "\" is not supported (want client.authentication.k8s.io/v1 or v1beta1)");
        }
        if (YAML::Node args = exec["args"]; args && args.IsSequence()) {
          for (const auto& a : args) e.args.push_back(a.as<std::string>());
        }
        if (YAML::Node env = exec["env"]; env && env.IsSequence()) {
          for (const auto& kv : env) e.env.emplace_back(Str(kv, "name"), Str(kv, "value"));
        }
        e.provide_cluster_info = Bool(exec, "provideClusterInfo");
        if (!Str(exec, "interactiveMode").empty()) e.interactive_mode = Str(exec, "interactiveMode");
        e.base_dir = base_dir;
        cfg.exec = std::move(e);
      }
    }
  } catch (const YAML::Exception& e) {
    return Status::InvalidArgument(where + ": malformed field: " + std::string(e.what()));
  }
  return cfg;
}

std::string DefaultServiceAccountDir() {
  const char* test_dir = std::getenv("KINEMA_TEST_SERVICE_ACCOUNT_DIR");
  return test_dir && *test_dir ? test_dir : "/var/run/secrets/kubernetes.io/serviceaccount";
}

StatusOr<RestConfig> LoadInClusterConfig(const InClusterOptions& options) {
  const char* host = std::getenv("KUBERNETES_SERVICE_HOST");
  const char* port = std::getenv("KUBERNETES_SERVICE_PORT");
  if (host == nullptr || port == nullptr || *host == '\0' || *port == '\0') {
    return Status::FailedPrecondition(
        "in-cluster config: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be set (not running in a pod?)");
  }
  RestConfig cfg;
  std::string h = host;
  if (h.find(':') != std::string::npos && h.front() != '[') h = "[" + h + "]";  // IPv6
  cfg.server = "https://" + h + ":" + port;
  cfg.source = "in-cluster (" + options.service_account_dir + ")";
  fs::path dir(options.service_account_dir);
  cfg.token_file = (dir / "token").string();
  if (!fs::exists(cfg.token_file)) {
    return Status::NotFound("in-cluster config: service account token " + cfg.token_file + " does not exist");
  }
  std::string ca = (dir / "ca.crt").string();
  if (!fs::exists(ca)) return Status::NotFound("in-cluster config: CA bundle " + ca + " does not exist");
  cfg.tls.ca_file = ca;
  auto ns = ReadFile((dir / "namespace").string(), "in-cluster namespace");
  if (ns.ok()) {
    std::string n = *ns;
    while (!n.empty() && (n.back() == '\n' || n.back() == ' ')) n.pop_back();
    if (!n.empty()) cfg.default_namespace = n;
  }
  return cfg;
}

}  // namespace kinema::kube
