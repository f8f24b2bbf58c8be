#include "tools/kinema-sim/gce/gce_responses.h"

#include <regex>

namespace kinema::sim::gce {

using nlohmann::json;

HttpResponse JsonResponse(int status, const json& body) {
  HttpResponse r;
  r.status = status;
  r.body = body.dump();
  return r;
}

HttpResponse GceError(int code, const std::string& reason, const std::string& message) {
  return JsonResponse(code, json{{"error",
                                  {{"code", code},
                                   {"message", message},
                                   {"errors", json::array({{{"message", message}, {"domain", "global"},
                                                            {"reason", reason}}})}}}});
}

HttpResponse GceInvalid(const std::string& message) { return GceError(400, "invalid", message); }

HttpResponse GceNotFound(const std::string& path) {
  return GceError(404, "notFound", "The resource '" + path + "' was not found");
}

HttpResponse RpcError(int code, const std::string& status, const std::string& message, const json& details) {
  json e{{"code", code}, {"message", message}, {"status", status}};
  if (!details.is_null()) e["details"] = details;
  return JsonResponse(code, json{{"error", e}});
}

std::vector<std::string> SplitPath(const std::string& s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    size_t slash = s.find('/', start);
    std::string part = s.substr(start, slash == std::string::npos ? std::string::npos : slash - start);
    if (!part.empty()) out.push_back(part);
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  return out;
}

bool ValidName(const std::string& n) {
  static const std::regex re("[a-z]([-a-z0-9]{0,61}[a-z0-9])?");
  return std::regex_match(n, re);
}

bool ValidRequestId(const std::string& id) {
  static const std::regex re("[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}");
  return std::regex_match(id, re) && id != "00000000-0000-0000-0000-000000000000";
}

std::string Fingerprint(uint64_t v) {
  static const char* kB64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  for (int i = 0; i < 10; ++i) {
    out.push_back(kB64[v & 63]);
    v = (v >> 6) | (v << 58);
  }
  return out + "=";
}

std::string LastSegment(const std::string& url) {
  size_t slash = url.rfind('/');
  return slash == std::string::npos ? url : url.substr(slash + 1);
}

}  // namespace kinema::sim::gce
