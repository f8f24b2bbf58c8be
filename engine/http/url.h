// URL helpers shared by every adapter that builds request URLs (Kubernetes,
// Compute/GKE, Prometheus, Billing).
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>

namespace kinema::http {

// Percent-encodes a path segment, query parameter or form value: RFC 3986
// unreserved characters (A-Z a-z 0-9 - _ . ~) are kept, every other byte is
// %XX (upper-case hex). Also correct for application/x-www-form-urlencoded.
std::string UrlEncode(std::string_view s);

}  // namespace kinema::http
