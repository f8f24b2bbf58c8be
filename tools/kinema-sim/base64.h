// Base64 (RFC 4648): standard alphabet for Secret data, URL-safe without
// padding for JWT segments. Thread-safety: pure functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace kinema::sim {

std::string Base64Encode(std::string_view data, bool url_safe = false);
// Accepts either alphabet, with or without padding; nullopt on other bytes.
std::optional<std::string> Base64Decode(std::string_view text);

}  // namespace kinema::sim
