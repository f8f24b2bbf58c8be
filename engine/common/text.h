// Text from outside the process (response bodies, plugin output, operator
// input) on its way into error messages, logs and the journal.
//
// Contract:
//   - Utf8Prefix() never splits a UTF-8 sequence: the result is a prefix of
//     the input of at most max_bytes bytes ending on a character boundary.
//   - SanitizeUtf8() replaces every byte that does not start a well-formed
//     UTF-8 sequence (RFC 3629: no overlongs, no surrogates, nothing above
//     U+10FFFF) with U+FFFD, so the result is always valid UTF-8.
//   - Excerpt() = SanitizeUtf8, surrounding whitespace trimmed, then cut to
//     max_bytes (on a character boundary) with "..." appended when cut: the
//     one helper for "the first N bytes of a body" in messages.
//   - EqualsIgnoreCase() compares ASCII case-insensitively (header names,
//     URL schemes, field names); other bytes must match exactly.
// Thread-safety: pure functions.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace kinema {

bool IsValidUtf8(std::string_view s);
std::string SanitizeUtf8(std::string_view s);
std::string_view Utf8Prefix(std::string_view s, size_t max_bytes);
std::string Excerpt(std::string_view s, size_t max_bytes);
bool EqualsIgnoreCase(std::string_view a, std::string_view b);

}  // namespace kinema
