// Process-wide logging setup (spdlog): human-readable by default, one JSON
// object per line with --log-format=json (for log pipelines).
#pragma once

#include <string>

namespace kinema {

// format: "text" or "json"; level: trace|debug|info|warn|error.
// Logs go to stderr so stdout stays machine-readable.
void SetupLogging(const std::string& format, const std::string& level);

}  // namespace kinema
