#include "tools/kinema-sim/usage/prometheus_standin.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdlib>
#include <map>
#include <string>

#include "tools/kinema-sim/sim_server.h"
#include "tools/kinema-sim/usage/usage_component.h"

namespace kinema::sim::usage {

namespace {

using nlohmann::json;

int Hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string FormDecode(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out += ' ';
    } else if (s[i] == '%' && i + 2 < s.size() && Hex(s[i + 1]) >= 0 && Hex(s[i + 2]) >= 0) {
      out += static_cast<char>(Hex(s[i + 1]) * 16 + Hex(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

// Query-string parameters, overridden by a form body.
std::map<std::string, std::string> Params(const HttpRequest& req) {
  std::map<std::string, std::string> p(req.query.begin(), req.query.end());
  size_t start = 0;
  const std::string& b = req.body;
  while (start < b.size()) {
    size_t amp = b.find('&', start);
    std::string kv = b.substr(start, amp == std::string::npos ? std::string::npos : amp - start);
    size_t eq = kv.find('=');
    if (eq != std::string::npos) p[FormDecode(kv.substr(0, eq))] = FormDecode(kv.substr(eq + 1));
    if (amp == std::string::npos) break;
    start = amp + 1;
  }
  return p;
}

double Num(const std::map<std::string, std::string>& p, const char* k, double def) {
  auto it = p.find(k);
  if (it == p.end()) return def;
  char* end = nullptr;
  double v = std::strtod(it->second.c_str(), &end);
  return end != it->second.c_str() && std::isfinite(v) ? v : def;
}

HttpResponse Answer(int status, const json& body) {
  HttpResponse r;
  r.status = status;
  r.content_type = "application/json";
  r.body = body.dump();
  return r;
}

std::string Value(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

}  // namespace

void RegisterPrometheusStandIn(SimServer* server, UsageComponent* usage) {
  auto classify = [](const HttpRequest& req) -> std::optional<FaultTarget> {
    if (req.path == "/prometheus/api/v1/query_range") return FaultTarget{"query_range", kPrometheusResource};
    if (req.path == "/prometheus/api/v1/query") return FaultTarget{"query", kPrometheusResource};
    return std::nullopt;
  };
  server->AddRoute(
      "/prometheus/", /*require_auth=*/false,
      [usage, server](const HttpRequest& req) -> HttpResponse {
        const bool range = req.path == "/prometheus/api/v1/query_range";
        if (!range && req.path != "/prometheus/api/v1/query") {
          return Answer(404, {{"status", "error"}, {"errorType", "not_found"}, {"error", "not found"}});
        }
        auto p = Params(req);
        auto q = p.find("query");
        if (q == p.end() || q->second.empty()) {
          return Answer(400, {{"status", "error"}, {"errorType", "bad_data"}, {"error", "query is required"}});
        }
        const bool cpu = q->second.find("container_cpu_usage_seconds_total") != std::string::npos;
        const bool mem = q->second.find("container_memory_working_set_bytes") != std::string::npos;
        const double now = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
        double start = range ? Num(p, "start", now) : Num(p, "time", now);
        double end = range ? Num(p, "end", now) : start;
        double step = range ? Num(p, "step", 15) : 1;
        if (step <= 0 || end < start) {
          return Answer(400, {{"status", "error"}, {"errorType", "bad_data"}, {"error", "bad range"}});
        }
        const double points = std::min(11000.0, std::floor((end - start) / step) + 1);
        json result = json::array();
        if (cpu || mem) {
          for (const auto& pod : usage->SamplePods(/*running_only=*/true)) {
            for (const auto& c : pod.containers) {
              const double v = cpu ? c.cpu_cores : c.memory_bytes;
              json metric = {{"namespace", pod.ns}, {"pod", pod.name}, {"container", c.name}};
              if (range) {
                json values = json::array();
                for (int i = 0; i < static_cast<int>(points); ++i) values.push_back({start + i * step, Value(v)});
                result.push_back({{"metric", metric}, {"values", values}});
              } else {
                result.push_back({{"metric", metric}, {"value", {start, Value(v)}}});
              }
            }
          }
        }
        (void)server;
        return Answer(200, {{"status", "success"},
                            {"data", {{"resultType", range ? "matrix" : "vector"}, {"result", result}}}});
      },
      classify);
}

}  // namespace kinema::sim::usage
