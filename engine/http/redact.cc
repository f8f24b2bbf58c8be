#include "engine/http/redact.h"

#include <algorithm>
#include <array>
#include <cctype>

#include "engine/common/text.h"

namespace kinema::http {

namespace {

// Case-insensitive find of `needle` in `hay` starting at `from`.
size_t IFind(std::string_view hay, std::string_view needle, size_t from) {
  if (needle.empty() || hay.size() < needle.size()) return std::string_view::npos;
  for (size_t i = from; i + needle.size() <= hay.size(); ++i) {
    if (EqualsIgnoreCase(hay.substr(i, needle.size()), needle)) return i;
  }
  return std::string_view::npos;
}

bool IsTokenChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' || c == '~' ||
         c == '+' || c == '/' || c == '=' || c == ':';
}

// Masks the run of token characters that starts at `pos` (after skipping blanks).
void MaskTokenAt(std::string& s, size_t pos) {
  while (pos < s.size() && (s[pos] == ' ' || s[pos] == '\t')) ++pos;
  size_t end = pos;
  while (end < s.size() && IsTokenChar(s[end])) ++end;
  if (end > pos) s.replace(pos, end - pos, kRedacted);
}

// "Bearer <token>" and "Basic <creds>".
void MaskSchemes(std::string& s) {
  for (std::string_view scheme : {std::string_view("Bearer "), std::string_view("Basic ")}) {
    size_t from = 0;
    while (true) {
      size_t p = IFind(s, scheme, from);
      if (p == std::string::npos) break;
      size_t start = p + scheme.size();
      if (s.compare(start, kRedacted.size(), kRedacted) != 0) MaskTokenAt(s, start);
      from = start + 1;
    }
  }
}

// Field names whose values are secrets, in JSON ("name": "v"), YAML (name: v)
// or query (name=v) form.
constexpr std::array<std::string_view, 10> kSecretFields = {
    "token", "access_token", "id-token", "refresh-token", "client-key-data",
    "clientKeyData", "password", "client_secret", "key", "bearer_token"};

void MaskFields(std::string& s) {
  for (std::string_view field : kSecretFields) {
    size_t from = 0;
    while (true) {
      size_t p = IFind(s, field, from);
      if (p == std::string::npos) break;
      from = p + field.size();
      // Must be a whole word: not preceded/followed by an identifier char.
      if (p > 0 && (std::isalnum(static_cast<unsigned char>(s[p - 1])) || s[p - 1] == '_' || s[p - 1] == '-')) {
        continue;
      }
      size_t q = p + field.size();
      if (q < s.size() && (std::isalnum(static_cast<unsigned char>(s[q])) || s[q] == '_' || s[q] == '-')) continue;
      if (q < s.size() && s[q] == '"') ++q;  // closing quote of a JSON key
      while (q < s.size() && (s[q] == ' ' || s[q] == '\t')) ++q;
      if (q >= s.size() || (s[q] != ':' && s[q] != '=')) continue;
      ++q;
      while (q < s.size() && (s[q] == ' ' || s[q] == '\t')) ++q;
      if (q < s.size() && s[q] == '"') {
        size_t end = q + 1;
        while (end < s.size() && s[end] != '"') {
          if (s[end] == '\\') ++end;
          ++end;
        }
        end = std::min(end, s.size());
        s.replace(q + 1, end - (q + 1), kRedacted);
      } else {
        size_t end = q;
        while (end < s.size() && s[end] != '&' && s[end] != ',' && s[end] != '}' && s[end] != '\n' &&
               s[end] != ' ' && s[end] != '"') {
          ++end;
        }
        if (end > q) s.replace(q, end - q, kRedacted);
      }
    }
  }
}

// PEM blocks holding private keys.
void MaskPemKeys(std::string& s) {
  size_t from = 0;
  while (true) {
    size_t begin = s.find("-----BEGIN ", from);
    if (begin == std::string::npos) return;
    size_t label_end = s.find("-----", begin + 11);
    if (label_end == std::string::npos) return;
    std::string label = s.substr(begin + 11, label_end - (begin + 11));
    if (label.find("PRIVATE KEY") == std::string::npos) {
      from = label_end + 5;
      continue;
    }
    std::string end_marker = "-----END " + label + "-----";
    size_t end = s.find(end_marker, label_end);
    size_t stop = end == std::string::npos ? s.size() : end + end_marker.size();
    s.replace(begin, stop - begin, "<redacted private key>");
    from = begin + 1;
  }
}

// "scheme://user:pass@host" -> "scheme://<redacted>@host", wherever a URL
// appears in the text.
void MaskUrlUserinfo(std::string& s) {
  size_t from = 0;
  while (true) {
    size_t p = s.find("://", from);
    if (p == std::string::npos) return;
    size_t start = p + 3;
    size_t end = start;
    size_t at = std::string::npos;
    while (end < s.size()) {
      char c = s[end];
      if (c == '/' || c == '?' || c == '#' || c == '"' || c == '\'' || c == '<' || c == '>' ||
          std::isspace(static_cast<unsigned char>(c))) {
        break;
      }
      if (c == '@') at = end;
      ++end;
    }
    if (at != std::string::npos && s.compare(start, at - start, kRedacted) != 0) {
      s.replace(start, at - start, kRedacted);
      end = start + kRedacted.size() + 1;
    }
    from = std::max(end, start);
  }
}

}  // namespace

std::string RedactSecrets(std::string_view text) {
  std::string s(text);
  MaskUrlUserinfo(s);
  MaskPemKeys(s);
  MaskSchemes(s);
  MaskFields(s);
  return s;
}

std::string RedactUrl(std::string_view url) {
  std::string head(url.substr(0, url.find('?')));
  MaskUrlUserinfo(head);
  size_t q = url.find('?');
  if (q == std::string_view::npos) return head;
  std::string out = head + "?";
  std::string_view query = url.substr(q + 1);
  bool first = true;
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view part = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (!first) out += '&';
    first = false;
    size_t eq = part.find('=');
    std::string_view name = part.substr(0, eq);
    bool secret = false;
    for (std::string_view f : kSecretFields) secret = secret || EqualsIgnoreCase(name, f);
    if (secret && eq != std::string_view::npos) {
      out.append(name);
      out += '=';
      out.append(kRedacted);
    } else {
      out.append(part);
    }
  }
  return out;
}

}  // namespace kinema::http
