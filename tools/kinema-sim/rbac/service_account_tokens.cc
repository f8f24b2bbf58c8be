#include "tools/kinema-sim/rbac/service_account_tokens.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "tools/kinema-sim/base64.h"
#include "tools/kinema-sim/resource_types.h"

namespace kinema::sim::rbac {

namespace {

using Json = nlohmann::json;

const ResourceType& Type(const char* plural) { return *ResourceRegistry::Default().Find("", "v1", plural); }

long long Unix(SimClock::TimePoint t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

SimClock::TimePoint FromUnix(long long s) { return SimClock::TimePoint(std::chrono::seconds(s)); }

std::string RandomHex(size_t bytes) {
  std::string raw(bytes, '\0');
  RAND_bytes(reinterpret_cast<unsigned char*>(raw.data()), static_cast<int>(bytes));
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : raw) {
    out += kHex[c >> 4];
    out += kHex[c & 15];
  }
  return out;
}

std::string UidOf(const ObjectPtr& o) { return o ? o->body["metadata"].value("uid", "") : ""; }

}  // namespace

ServiceAccountTokens::ServiceAccountTokens(const ObjectStore* store, const SimClock* clock)
    : store_(store), clock_(clock), key_(32, '\0') {
  RAND_bytes(reinterpret_cast<unsigned char*>(key_.data()), static_cast<int>(key_.size()));
}

std::string ServiceAccountTokens::Sign(const std::string& data) const {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key_.data(), static_cast<int>(key_.size()), reinterpret_cast<const unsigned char*>(data.data()),
       data.size(), mac, &len);
  return Base64Encode(std::string_view(reinterpret_cast<const char*>(mac), len), /*url_safe=*/true);
}

std::string ServiceAccountTokens::Issue(const TokenClaims& c) const {
  Json k8s = {{"namespace", c.ns}, {"serviceaccount", {{"name", c.service_account}, {"uid", c.service_account_uid}}}};
  if (!c.pod.empty()) k8s["pod"] = {{"name", c.pod}, {"uid", c.pod_uid}};
  if (!c.node.empty()) k8s["node"] = {{"name", c.node}};
  long long iat = Unix(c.issued_at), exp = Unix(c.expires_at);
  k8s["warnafter"] = iat + (exp - iat) * 8 / 10;
  Json payload = {{"aud", c.audiences.empty() ? std::vector<std::string>{kTokenIssuer} : c.audiences},
                  {"exp", exp},
                  {"iat", iat},
                  {"nbf", iat},
                  {"iss", kTokenIssuer},
                  {"jti", RandomHex(16)},
                  {"kubernetes.io", k8s},
                  {"sub", "system:serviceaccount:" + c.ns + ":" + c.service_account}};
  std::string head = Base64Encode(R"({"alg":"HS256","kid":"kinema-sim","typ":"JWT"})", true);
  std::string body = head + "." + Base64Encode(payload.dump(), true);
  return body + "." + Sign(body);
}

std::optional<TokenClaims> ServiceAccountTokens::Decode(const std::string& token) const {
  size_t a = token.find('.');
  size_t b = a == std::string::npos ? a : token.find('.', a + 1);
  if (b == std::string::npos || token.find('.', b + 1) != std::string::npos) return std::nullopt;
  std::string expected = Sign(token.substr(0, b));
  std::string got = token.substr(b + 1);
  if (got.size() != expected.size() || CRYPTO_memcmp(got.data(), expected.data(), got.size()) != 0) return std::nullopt;
  auto payload = Base64Decode(token.substr(a + 1, b - a - 1));
  if (!payload) return std::nullopt;
  Json p = Json::parse(*payload, nullptr, false);
  if (!p.is_object() || !p.contains("kubernetes.io") || !p["kubernetes.io"].is_object()) return std::nullopt;
  try {
    const Json& k = p["kubernetes.io"];
    TokenClaims c;
    c.ns = k.value("namespace", "");
    c.service_account = k.at("serviceaccount").value("name", "");
    c.service_account_uid = k.at("serviceaccount").value("uid", "");
    if (k.contains("pod")) {
      c.pod = k["pod"].value("name", "");
      c.pod_uid = k["pod"].value("uid", "");
    }
    if (k.contains("node")) c.node = k["node"].value("name", "");
    for (const auto& a2 : p.value("aud", Json::array())) c.audiences.push_back(a2.get<std::string>());
    c.issued_at = FromUnix(p.value("nbf", p.value("iat", 0LL)));
    c.expires_at = FromUnix(p.value("exp", 0LL));
    if (c.ns.empty() || c.service_account.empty()) return std::nullopt;
    return c;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

std::optional<UserInfo> ServiceAccountTokens::Authenticate(const std::string& token) const {
  auto c = Decode(token);
  if (!c) return std::nullopt;
  auto now = clock_->Now();
  if (now >= c->expires_at || now + std::chrono::seconds(60) < c->issued_at) return std::nullopt;  // 60 s leeway
  ObjectPtr sa = store_->Get(Type("serviceaccounts"), c->ns, c->service_account);
  if (!sa || UidOf(sa) != c->service_account_uid) return std::nullopt;
  if (!c->pod.empty()) {
    ObjectPtr pod = store_->Get(Type("pods"), c->ns, c->pod);
    if (!pod || (!c->pod_uid.empty() && UidOf(pod) != c->pod_uid)) return std::nullopt;
  }
  UserInfo u;
  u.name = "system:serviceaccount:" + c->ns + ":" + c->service_account;
  u.groups = {"system:serviceaccounts", "system:serviceaccounts:" + c->ns, "system:authenticated"};
  return u;
}

namespace {

// One protobuf field: number, wire type, and its varint or bytes.
struct ProtoField {
  int number = 0;
  int wire = 0;
  uint64_t varint = 0;
  std::string bytes;
};

bool ReadVarint(const std::string& b, size_t* i, uint64_t* out) {
  *out = 0;
  for (int shift = 0; shift < 64 && *i < b.size(); shift += 7) {
    unsigned char c = static_cast<unsigned char>(b[(*i)++]);
    *out |= static_cast<uint64_t>(c & 0x7f) << shift;
    if (!(c & 0x80)) return true;
  }
  return false;
}

std::optional<std::vector<ProtoField>> ParseProto(const std::string& b) {
  std::vector<ProtoField> out;
  size_t i = 0;
  while (i < b.size()) {
    uint64_t key;
    if (!ReadVarint(b, &i, &key)) return std::nullopt;
    ProtoField f;
    f.number = static_cast<int>(key >> 3);
    f.wire = static_cast<int>(key & 7);
    if (f.wire == 0) {
      if (!ReadVarint(b, &i, &f.varint)) return std::nullopt;
    } else if (f.wire == 2) {
      uint64_t len;
      if (!ReadVarint(b, &i, &len) || len > b.size() - i) return std::nullopt;
      f.bytes = b.substr(i, len);
      i += len;
    } else if (f.wire == 1 || f.wire == 5) {
      size_t n = f.wire == 1 ? 8 : 4;
      if (n > b.size() - i) return std::nullopt;
      i += n;
    } else {
      return std::nullopt;
    }
    out.push_back(std::move(f));
  }
  return out;
}

}  // namespace

ApiResult<Json> DecodeTokenRequestProtobuf(const std::string& body) {
  const ApiError bad = ApiError::BadRequest("error decoding request body: not a protobuf TokenRequest");
  if (body.size() < 4 || body.compare(0, 4, std::string("k8s\0", 4)) != 0) return bad;
  auto unknown = ParseProto(body.substr(4));
  if (!unknown) return bad;
  std::string raw;
  for (const auto& f : *unknown) {
    if (f.number == 2 && f.wire == 2) raw = f.bytes;  // runtime.Unknown.raw
  }
  auto request = ParseProto(raw);
  if (!request) return bad;
  Json spec = Json::object();
  for (const auto& f : *request) {
    if (f.number != 2 || f.wire != 2) continue;  // TokenRequest.spec
    auto fields = ParseProto(f.bytes);
    if (!fields) return bad;
    for (const auto& s : *fields) {
      if (s.number == 1 && s.wire == 2) spec["audiences"].push_back(s.bytes);
      if (s.number == 4 && s.wire == 0) spec["expirationSeconds"] = static_cast<long long>(s.varint);
      if (s.number == 3 && s.wire == 2) {
        auto ref = ParseProto(s.bytes);
        if (!ref) return bad;
        Json r = Json::object();
        static const char* kNames[] = {"", "kind", "apiVersion", "name", "uid"};
        for (const auto& x : *ref) {
          if (x.wire == 2 && x.number >= 1 && x.number <= 4) r[kNames[x.number]] = x.bytes;
        }
        spec["boundObjectRef"] = r;
      }
    }
  }
  return Json{{"apiVersion", "authentication.k8s.io/v1"}, {"kind", "TokenRequest"}, {"spec", spec}};
}

ApiResult<Json> CreateTokenRequest(const ServiceAccountTokens& tokens, const ObjectStore& store, const SimClock& clock,
                                   const std::string& ns, const std::string& name, const std::string& body) {
  Json req = Json::parse(body.empty() ? "{}" : body, nullptr, false);
  if (req.is_discarded() || !req.is_object()) return ApiError::BadRequest("error decoding request body: not a JSON object");
  ObjectPtr sa = store.Get(Type("serviceaccounts"), ns, name);
  if (!sa) return ApiError::NotFound(Type("serviceaccounts"), name);
  Json spec = req.value("spec", Json::object());
  if (!spec.is_object()) spec = Json::object();
  long long seconds = spec.value("expirationSeconds", 3600LL);
  const ResourceType& rt = Type("serviceaccounts");
  if (seconds < 600) {
    return ApiError::Invalid(rt, name, {{"FieldValueInvalid", "Invalid value: " + std::to_string(seconds) +
                                             ": may not specify a duration less than 10 minutes",
                                         "spec.expirationSeconds"}});
  }
  if (seconds > (1LL << 32)) {
    return ApiError::Invalid(rt, name, {{"FieldValueTooLong", "Too long: may not specify a duration larger than 2^32 seconds",
                                         "spec.expirationSeconds"}});
  }
  TokenClaims c;
  c.ns = ns;
  c.service_account = name;
  c.service_account_uid = UidOf(sa);
  for (const auto& a : spec.value("audiences", Json::array())) {
    if (a.is_string()) c.audiences.push_back(a.get<std::string>());
  }
  if (spec.contains("boundObjectRef") && spec["boundObjectRef"].is_object()) {
    const Json& ref = spec["boundObjectRef"];
    std::string kind = ref.value("kind", "");
    if (kind != "Pod") {
      return ApiError::Invalid(rt, name, {{"FieldValueNotSupported",
                                           "Unsupported value: \"" + kind + "\": supported values: \"Pod\"",
                                           "spec.boundObjectRef.kind"}});
    }
    ObjectPtr pod = store.Get(Type("pods"), ns, ref.value("name", ""));
    if (!pod) return ApiError::NotFound(Type("pods"), ref.value("name", ""));
    if (!ref.value("uid", "").empty() && ref.value("uid", "") != UidOf(pod)) {
      return ApiError::Conflict(Type("pods"), pod->name, "the UID in the bound object reference does not match");
    }
    c.pod = pod->name;
    c.pod_uid = UidOf(pod);
    c.node = pod->body.value("spec", Json::object()).value("nodeName", "");
  }
  c.issued_at = clock.Now();
  c.expires_at = c.issued_at + std::chrono::seconds(seconds);
  Json out = {{"kind", "TokenRequest"},
              {"apiVersion", "authentication.k8s.io/v1"},
              {"metadata", {{"name", name}, {"namespace", ns}, {"creationTimestamp", nullptr}}},
              {"spec", spec},
              {"status", {{"token", tokens.Issue(c)}, {"expirationTimestamp", SimClock::FormatTime(c.expires_at)}}}};
  out["spec"]["expirationSeconds"] = seconds;
  if (c.audiences.empty()) out["spec"]["audiences"] = Json::array({kTokenIssuer});
  return out;
}

}  // namespace kinema::sim::rbac
