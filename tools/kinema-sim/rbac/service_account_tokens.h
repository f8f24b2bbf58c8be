// ServiceAccountTokens: issues and verifies ServiceAccount tokens the way
// the TokenRequest API (POST .../serviceaccounts/NAME/token) and the
// kubelet's projected token volume do — JWTs whose claims are those of a
// real bound token:
//   iss/aud "https://kubernetes.default.svc.cluster.local", sub
//   "system:serviceaccount:<ns>:<name>", iat/nbf/exp, jti, and
//   "kubernetes.io": {namespace, serviceaccount{name,uid}, pod{name,uid}
//   (bound tokens), node{name}, warnafter}.
// Signed HS256 with a key drawn at start (the real apiserver signs RS256/
// ES256 with --service-account-key-file; nobody but this server verifies
// here, so a symmetric key keeps it short). Times are simulated time
// (SimClock), like everything else the server judges.
//
// Authenticate() resolves a bearer token to a user exactly as the
// apiserver's service-account authenticator does: valid signature, not
// expired (and not before nbf), the ServiceAccount still exists with the
// same uid, and a bound pod still exists with the same uid (a token
// outlives neither). The user is system:serviceaccount:<ns>:<name> in
// groups system:serviceaccounts, system:serviceaccounts:<ns>,
// system:authenticated.
// Thread-safety: thread-safe (immutable key; the store is thread-safe).
#pragma once

#include <nlohmann/json.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "tools/kinema-sim/api_error.h"
#include "tools/kinema-sim/object_store.h"
#include "tools/kinema-sim/sim_clock.h"

namespace kinema::sim::rbac {

struct UserInfo {
  std::string name;
  std::vector<std::string> groups;
  bool superuser = false;  // system:masters (the kubeconfig the sim writes): every request allowed
};

inline constexpr char kTokenIssuer[] = "https://kubernetes.default.svc.cluster.local";

struct TokenClaims {
  std::string ns, service_account, service_account_uid;
  std::string pod, pod_uid, node;  // empty when not bound to a pod
  std::vector<std::string> audiences;
  SimClock::TimePoint issued_at, expires_at;
};

class ServiceAccountTokens {
 public:
  ServiceAccountTokens(const ObjectStore* store, const SimClock* clock);

  std::string Issue(const TokenClaims& claims) const;
  // The user a token stands for; nullopt when it is not a valid, live token.
  std::optional<UserInfo> Authenticate(const std::string& token) const;
  // Signature and claims only (no liveness checks): for tests and the kubelet.
  std::optional<TokenClaims> Decode(const std::string& token) const;

 private:
  std::string Sign(const std::string& data) const;
  const ObjectStore* store_;
  const SimClock* clock_;
  std::string key_;
};

// POST /api/v1/namespaces/NS/serviceaccounts/NAME/token: a TokenRequest
// (spec.audiences, spec.expirationSeconds >= 600, default 3600;
// spec.boundObjectRef kind Pod with name and optional uid) answered with its
// status {token, expirationTimestamp}; 404 for a missing ServiceAccount or
// bound pod, 422 for a bad expiration or bound object.
// kubectl's typed client (`kubectl create token`) posts the TokenRequest as
// Kubernetes protobuf (application/vnd.kubernetes.protobuf: "k8s\0" +
// runtime.Unknown{raw}); this reads its spec into the JSON form.
// BadRequest when it is not such a message.
ApiResult<nlohmann::json> DecodeTokenRequestProtobuf(const std::string& body);

ApiResult<nlohmann::json> CreateTokenRequest(const ServiceAccountTokens& tokens, const ObjectStore& store,
                                             const SimClock& clock, const std::string& ns, const std::string& name,
                                             const std::string& body);

}  // namespace kinema::sim::rbac
