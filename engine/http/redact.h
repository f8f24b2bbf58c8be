// Redaction of secrets in text that may reach a log line or an error message.
//
// Contract:
//   - RedactSecrets() masks bearer tokens ("Bearer xyz", "Authorization: ..."),
//     JSON/YAML token-like fields ("token", "access_token", "client-key-data",
//     "clientKeyData", "password", ...), PEM private-key blocks, and secret query
//     parameters (key=, access_token=, token=), and the userinfo of URLs
//     ("http://user:pass@host" -> "http://<redacted>@host"). What remains is
//     safe to log.
//   - RedactUrl() keeps scheme/host/path and masks userinfo and secret query
//     parameters. Every URL that reaches a log line, a Status message or the
//     journal passes through it.
//   - Both are pure functions; thread-safe.
// Callers must still avoid putting secrets into messages in the first place:
// redaction is the second line of defence, not the first.
#pragma once

#include <string>
#include <string_view>

namespace kinema::http {

inline constexpr std::string_view kRedacted = "<redacted>";

std::string RedactSecrets(std::string_view text);
std::string RedactUrl(std::string_view url);

}  // namespace kinema::http
