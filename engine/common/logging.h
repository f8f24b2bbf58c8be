// Process-wide logging setup (spdlog): human-readable by default, one JSON
// object per line with --log-format=json (for log pipelines).
//
// Contract: a log line is one line, whatever the message holds. In JSON
// format the message is a JSON string (quotes, backslashes and control
// characters escaped, invalid UTF-8 replaced by U+FFFD), so text from
// outside — an operator's --reason, an API server's error message — can
// never forge or break a record; in text format CR, LF and other control
// characters are written as \r, \n, \xNN.
#pragma once

#include <string>
#include <string_view>

namespace kinema {

// format: "text" or "json"; level: trace|debug|info|warn|error.
// Logs go to stderr so stdout stays machine-readable. Calling it again
// replaces the previous setup.
void SetupLogging(const std::string& format, const std::string& level);

// The message as it appears inside a JSON log record (without quotes).
std::string JsonLogEscape(std::string_view message);
// The message as it appears in a text log record.
std::string TextLogEscape(std::string_view message);

}  // namespace kinema
