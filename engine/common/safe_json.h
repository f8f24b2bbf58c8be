// safe_json: reading JSON that comes from outside the process — API answers,
// files, admin-socket messages, journal rows — without exceptions.
//
// Why: nlohmann::json's own accessors throw (json::value("k", "") throws
// when "k" is present but not a string; operator[] on a const object with a
// missing key is undefined behaviour; dump() throws on invalid UTF-8), and
// an escaped exception ends the process. Every read of outside JSON goes
// through these functions instead.
//
// Contract:
//   - Parse() never throws. It returns a `discarded` value (is_discarded())
//     for text that is not JSON, and for documents nested deeper than
//     max_depth (deep nesting would make later recursive copies, compares
//     and dumps overflow the stack).
//   - Field accessors take any value: when `o` is not an object, the key is
//     absent, or the value has another type, they return the default (or
//     nullopt / nullptr). Numbers: Int() accepts integers that fit int64 and
//     integral floating values within ±2^53; Number() accepts only finite
//     values. Strings are never converted from numbers or vice versa.
//   - Dump() never throws: invalid UTF-8 in strings is replaced by U+FFFD.
// Thread-safety: pure functions.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace kinema::safe_json {

using Json = nlohmann::json;

inline constexpr int kMaxDepth = 256;

// The deepest nesting of arrays/objects in `text` (strings are skipped);
// stops counting at limit + 1.
int NestingDepth(std::string_view text, int limit = kMaxDepth);

// Parses `text`; a discarded value on any error or nesting beyond max_depth.
Json Parse(std::string_view text, int max_depth = kMaxDepth);

// Serialises; invalid UTF-8 is replaced, never thrown on.
std::string Dump(const Json& j, int indent = -1);

// Replaces invalid UTF-8 in every string and key of `j` (in place) with
// U+FFFD, as Dump() would: afterwards Parse(Dump(j)) == j. True when
// something was replaced.
bool MakeValidUtf8(Json* j);

// Value-level conversions (nullopt when the type does not fit).
std::optional<std::string> AsString(const Json& v);
std::optional<int64_t> AsInt(const Json& v);
std::optional<double> AsNumber(const Json& v);  // finite only
std::optional<bool> AsBool(const Json& v);

// Field lookup: nullptr unless `o` is an object holding `key` (of the kind asked).
const Json* Find(const Json& o, std::string_view key);
const Json* FindObject(const Json& o, std::string_view key);
const Json* FindArray(const Json& o, std::string_view key);
// Dotted path ("spec.template.spec"); nullptr when any hop is missing or not an object.
const Json* FindPath(const Json& o, std::string_view dotted_path);

std::optional<std::string> OptString(const Json& o, std::string_view key);
std::optional<int64_t> OptInt(const Json& o, std::string_view key);
std::optional<double> OptNumber(const Json& o, std::string_view key);
std::optional<bool> OptBool(const Json& o, std::string_view key);

std::string String(const Json& o, std::string_view key, std::string_view def = "");
int64_t Int(const Json& o, std::string_view key, int64_t def = 0);
double Number(const Json& o, std::string_view key, double def = 0);
bool Bool(const Json& o, std::string_view key, bool def = false);

}  // namespace kinema::safe_json
