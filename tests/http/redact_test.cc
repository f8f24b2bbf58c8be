#include "engine/http/redact.h"

#include <gtest/gtest.h>

namespace kinema::http {
namespace {

TEST(Redact, MasksBearerAndBasicCredentials) {
  std::string out = RedactSecrets("Authorization: Bearer abc.DEF-123_x and Basic dXNlcjpwYXNz");
  EXPECT_EQ(out.find("abc.DEF-123_x"), std::string::npos);
  EXPECT_EQ(out.find("dXNlcjpwYXNz"), std::string::npos);
  EXPECT_NE(out.find("Bearer <redacted>"), std::string::npos);
}

TEST(Redact, MasksTokenFieldsInJsonAndYaml) {
  std::string json = R"({"status":{"token":"tok-123","expirationTimestamp":"2030-01-01T00:00:00Z"}})";
  std::string out = RedactSecrets(json);
  EXPECT_EQ(out.find("tok-123"), std::string::npos);
  EXPECT_NE(out.find("expirationTimestamp"), std::string::npos);
  std::string yaml = "user:\n  token: yamlsecret\n  client-key-data: QUJD\n";
  out = RedactSecrets(yaml);
  EXPECT_EQ(out.find("yamlsecret"), std::string::npos);
  EXPECT_EQ(out.find("QUJD"), std::string::npos);
}

TEST(Redact, LeavesOrdinaryWordsAlone) {
  std::string text = "tokens are fine; tokenFile: /var/run/token; keyboard=1";
  EXPECT_EQ(RedactSecrets(text), text);
}

TEST(Redact, MasksPemPrivateKeysButNotCertificates) {
  std::string text =
      "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
      "-----BEGIN EC PRIVATE KEY-----\nSECRETKEYBYTES\n-----END EC PRIVATE KEY-----\n";
  std::string out = RedactSecrets(text);
  EXPECT_EQ(out.find("SECRETKEYBYTES"), std::string::npos);
  EXPECT_NE(out.find("MIIB"), std::string::npos);
}

TEST(Redact, UrlKeepsPathAndMasksSecretQueryParameters) {
  EXPECT_EQ(RedactUrl("https://h/v1/skus?key=AIza123&currencyCode=USD"),
            "https://h/v1/skus?key=<redacted>&currencyCode=USD");
  EXPECT_EQ(RedactUrl("https://h/api/v1/pods?limit=5"), "https://h/api/v1/pods?limit=5");
}

}  // namespace
}  // namespace kinema::http

namespace kinema::http {
namespace {

TEST(Redact, UserinfoInUrlsNeverReachesALogLine) {
  EXPECT_EQ(RedactUrl("http://user:pass@prometheus:9090/api/v1/query"),
            "http://<redacted>@prometheus:9090/api/v1/query");
  EXPECT_EQ(RedactUrl("https://admin@h/x?token=t&a=b"), "https://<redacted>@h/x?token=<redacted>&a=b");
  EXPECT_EQ(RedactUrl("https://h:443/path@notuserinfo"), "https://h:443/path@notuserinfo");
  std::string text = "prometheus query: POST http://alice:s3cr3t@prom.monitoring:9090/api/v1/query_range: refused";
  std::string out = RedactSecrets(text);
  EXPECT_EQ(out.find("s3cr3t"), std::string::npos) << out;
  EXPECT_EQ(out.find("alice"), std::string::npos) << out;
  EXPECT_NE(out.find("http://<redacted>@prom.monitoring:9090/api/v1/query_range"), std::string::npos) << out;
  EXPECT_EQ(RedactSecrets(out), out) << "idempotent";
}

}  // namespace
}  // namespace kinema::http
