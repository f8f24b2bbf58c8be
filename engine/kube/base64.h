// Standard base64 (RFC 4648 §4) for kubeconfig "*-data" fields.
// Decode skips whitespace/newlines and rejects any other non-alphabet byte.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace kinema::kube {

std::string Base64Encode(std::string_view data);
std::optional<std::string> Base64Decode(std::string_view text);

}  // namespace kinema::kube
