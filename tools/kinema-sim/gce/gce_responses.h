// Response helpers shared by the fake Google APIs (Compute, GKE container,
// Cloud Billing): JSON bodies, the two error formats Google uses, and the
// small validators every fake needs.
//
// Contract:
//   - GceError: Compute's body {"error":{"code","message","errors":[{message,
//     domain:"global",reason}]}}.
//   - RpcError: the newer google.rpc.Status body the GKE and Billing APIs
//     send: {"error":{"code","message","status"[, "details"]}}.
//   - ValidName: an RFC 1035 resource name (1-63 chars); ValidRequestId: a
//     UUID other than the zero UUID (GCE's requestId rule).
// Thread-safety: pure functions.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "tools/kinema-sim/http_types.h"

namespace kinema::sim::gce {

HttpResponse JsonResponse(int status, const nlohmann::json& body);
HttpResponse GceError(int code, const std::string& reason, const std::string& message);
HttpResponse GceInvalid(const std::string& message);
HttpResponse GceNotFound(const std::string& resource_path);
HttpResponse RpcError(int code, const std::string& status, const std::string& message,
                      const nlohmann::json& details = nullptr);

std::vector<std::string> SplitPath(const std::string& path);
bool ValidName(const std::string& name);
bool ValidRequestId(const std::string& id);
std::string Fingerprint(uint64_t v);
std::string LastSegment(const std::string& url);

}  // namespace kinema::sim::gce
