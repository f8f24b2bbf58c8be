// AdmissionWebhooks: validating admission webhooks inside the simulator —
// how a simulated operator (the VM part's eviction interceptor, kubevirt/)
// vets API requests the way a ValidatingWebhookConfiguration would.
//
// Contract:
//   - A webhook names the requests it wants by (verb, resource,
//     subresource), e.g. ("create", "pods", "eviction"), and runs before the
//     request is carried out (after authentication, fault injection and
//     decoding of the URL).
//   - A webhook that denies returns the status it wants (code, message);
//     the client gets what the apiserver makes of a webhook denial: that
//     code (at least 400), reason as given, and the message
//     `admission webhook "<name>" denied the request: <message>`.
//   - Webhooks run in registration order; the first denial wins.
// Thread-safety: Add() before the server starts; Admit() from any thread
// (webhooks must be thread-safe).
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "tools/kinema-sim/api_error.h"

namespace kinema::sim {

struct AdmissionRequest {
  std::string verb;         // "create", "delete", ...
  std::string resource;     // "pods"
  std::string subresource;  // "eviction" or ""
  std::string ns, name;
  std::string body;         // the request body as sent
  bool dry_run = false;
};

struct ValidatingWebhook {
  std::string name;  // "virt-launcher-eviction-interceptor.kubevirt.io"
  std::string verb, resource, subresource;
  // nullopt = allowed; otherwise the denial (code, reason, message).
  std::function<std::optional<ApiError>(const AdmissionRequest&)> admit;
};

class AdmissionWebhooks {
 public:
  void Add(ValidatingWebhook webhook) { hooks_.push_back(std::move(webhook)); }
  // The apiserver's error for the first denial, or nullopt.
  std::optional<ApiError> Admit(const AdmissionRequest& req) const {
    for (const auto& h : hooks_) {
      if (h.verb != req.verb || h.resource != req.resource || h.subresource != req.subresource) continue;
      auto denial = h.admit(req);
      if (!denial) continue;
      ApiError e = *denial;
      if (e.code < 400) e.code = 400;
      e.message = "admission webhook \"" + h.name + "\" denied the request: " + e.message;
      return e;
    }
    return std::nullopt;
  }

 private:
  std::vector<ValidatingWebhook> hooks_;
};

}  // namespace kinema::sim
