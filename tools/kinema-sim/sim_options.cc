#include "tools/kinema-sim/sim_options.h"

#include <cstdlib>
#include <functional>
#include <map>

namespace kinema::sim {

const char* SimUsage() {
  return "Usage: kinema-sim --snapshot FILE --catalog FILE --listen HOST:PORT --write-kubeconfig PATH\n"
         "                  [--time-scale X] [--faults FILE] [--seed N] [--tls] [--scenario FILE]\n"
         "\n"
         "An in-memory Kubernetes API server (a simulated cluster) for Kinema's tests.\n"
         "\n"
         "  --snapshot FILE          initial cluster: a v1 List as printed by kubectl get -A -o json\n"
         "  --catalog FILE           machine-type catalog (prices for /sim/v1/report)\n"
         "  --listen HOST:PORT       address to serve on (port 0 picks a free port)\n"
         "  --write-kubeconfig PATH  write a kubeconfig for this server (after it listens)\n"
         "  --time-scale X           simulated seconds per wall-clock second (default 1)\n"
         "  --faults FILE            fault-injection rules (JSON; see tools/kinema-sim/README.md)\n"
         "  --seed N                 seed for fault injection and the simulated world (default 1)\n"
         "  --scenario FILE          usage profiles, cloud settings, timed events (JSON; tools/scenarios/README.md)\n"
         "  --tls                    serve HTTPS with a self-signed CA written beside the kubeconfig\n"
         "  --api-only               serve the Kubernetes API alone: no controllers, scheduler, kubelet,\n"
         "                           fake GCE or usage model (API conformance tests)\n"
         "  --audit-log FILE         append one JSON line per API request (verb, resource, user agent, code)\n"
         "  --token TOKEN            bearer token to require (default: random)\n"
         "  --watch-history N        events kept for watch resumption before 410 Gone (default 20000)\n"
         "  --threads N              io threads (default 2)\n"
         "  --log-level LEVEL        trace|debug|info|warn|error (default info)\n"
         "  --run-image NAME=CMD     run pods whose container image is NAME (any tag) as real processes:\n"
         "                           CMD is the image's ENTRYPOINT here (an executable path, then its\n"
         "                           default arguments); repeatable; needs --tls (runner/README.md)\n"
         "  --state-dir DIR          PersistentVolume directories and run-image pods' files\n"
         "                           (default: <kubeconfig>.state)\n"
         "  --help                   print this help\n";
}

ParseOutcome ParseSimOptions(int argc, char** argv, SimOptions* out, std::string* error) {
  using Setter = std::function<bool(const std::string&)>;
  auto parse_double = [](const std::string& v, double* d) {
    char* end = nullptr;
    *d = std::strtod(v.c_str(), &end);
    return !v.empty() && end && *end == '\0';
  };
  auto parse_u64 = [](const std::string& v, uint64_t* u) {
    if (v.empty() || v.find_first_not_of("0123456789") != std::string::npos || v.size() > 19) return false;
    *u = std::strtoull(v.c_str(), nullptr, 10);
    return true;
  };
  std::map<std::string, Setter> with_value = {
      {"--snapshot", [&](const std::string& v) { out->snapshot = v; return !v.empty(); }},
      {"--catalog", [&](const std::string& v) { out->catalog = v; return !v.empty(); }},
      {"--write-kubeconfig", [&](const std::string& v) { out->kubeconfig = v; return !v.empty(); }},
      {"--faults", [&](const std::string& v) { out->faults = v; return !v.empty(); }},
      {"--scenario", [&](const std::string& v) { out->scenario = v; return !v.empty(); }},
      {"--audit-log", [&](const std::string& v) { out->audit_log = v; return !v.empty(); }},
      {"--token", [&](const std::string& v) { out->token = v; return !v.empty(); }},
      {"--log-level", [&](const std::string& v) { out->log_level = v; return !v.empty(); }},
      {"--state-dir", [&](const std::string& v) { out->state_dir = v; return !v.empty(); }},
      {"--run-image",
       [&](const std::string& v) {
         size_t eq = v.find('=');
         if (eq == 0 || eq == std::string::npos || eq + 1 >= v.size() || v[eq + 1] == ' ') return false;
         out->run_images.emplace_back(v.substr(0, eq), v.substr(eq + 1));
         return true;
       }},
      {"--listen",
       [&](const std::string& v) {
         size_t colon = v.rfind(':');
         if (colon == std::string::npos || colon == 0) return false;
         uint64_t port;
         if (!parse_u64(v.substr(colon + 1), &port) || port > 65535) return false;
         out->listen_host = v.substr(0, colon);
         if (out->listen_host.size() > 2 && out->listen_host.front() == '[') {
           out->listen_host = out->listen_host.substr(1, out->listen_host.size() - 2);
         }
         out->listen_port = static_cast<int>(port);
         return true;
       }},
      {"--time-scale", [&](const std::string& v) { return parse_double(v, &out->time_scale) && out->time_scale > 0; }},
      {"--seed", [&](const std::string& v) { return parse_u64(v, &out->seed); }},
      {"--watch-history",
       [&](const std::string& v) {
         uint64_t n;
         if (!parse_u64(v, &n) || n == 0) return false;
         out->watch_history = n;
         return true;
       }},
      {"--threads",
       [&](const std::string& v) {
         uint64_t n;
         if (!parse_u64(v, &n) || n == 0 || n > 64) return false;
         out->threads = static_cast<int>(n);
         return true;
       }},
  };
  bool seen_listen = false;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") return ParseOutcome::kHelp;
    if (arg == "--tls") {
      out->tls = true;
      continue;
    }
    if (arg == "--api-only") {
      out->api_only = true;
      continue;
    }
    std::string name = arg, value;
    bool inline_value = false;
    size_t eq = arg.find('=');
    if (arg.rfind("--", 0) == 0 && eq != std::string::npos) {
      name = arg.substr(0, eq);
      value = arg.substr(eq + 1);
      inline_value = true;
    }
    auto it = with_value.find(name);
    if (it == with_value.end()) {
      *error = "unknown flag " + name + " (see --help)";
      return ParseOutcome::kError;
    }
    if (!inline_value) {
      if (i + 1 >= argc) {
        *error = "flag " + name + " needs a value";
        return ParseOutcome::kError;
      }
      value = argv[++i];
    }
    if (!it->second(value)) {
      *error = "invalid value '" + value + "' for " + name;
      return ParseOutcome::kError;
    }
    if (name == "--listen") seen_listen = true;
  }
  if (out->snapshot.empty()) *error = "missing required flag --snapshot FILE";
  else if (out->catalog.empty()) *error = "missing required flag --catalog FILE";
  else if (!seen_listen) *error = "missing required flag --listen HOST:PORT";
  else if (out->kubeconfig.empty()) *error = "missing required flag --write-kubeconfig PATH";
  else if (!out->run_images.empty() && !out->tls) *error = "--run-image needs --tls (in-cluster clients speak HTTPS)";
  else if (!out->run_images.empty() && out->api_only) *error = "--run-image needs the kubelet (not --api-only)";
  if (out->state_dir.empty() && !out->kubeconfig.empty()) out->state_dir = out->kubeconfig + ".state";
  return error->empty() ? ParseOutcome::kRun : ParseOutcome::kError;
}

}  // namespace kinema::sim
