#include "steps/optimize/label_selector_string.h"

#include <cctype>

namespace kinema {

namespace {

std::string Trim(const std::string& s) {
  size_t a = 0, b = s.size();
  while (a < b && std::isspace(static_cast<unsigned char>(s[a]))) ++a;
  while (b > a && std::isspace(static_cast<unsigned char>(s[b - 1]))) --b;
  return s.substr(a, b - a);
}

// Label keys and values: [A-Za-z0-9._/-] (prefix/name), non-empty keys.
bool ValidToken(const std::string& s, bool allow_empty) {
  if (s.empty()) return allow_empty;
  for (char c : s) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '-' && c != '/') return false;
  }
  return true;
}

// Splits on commas that are not inside parentheses.
StatusOr<std::vector<std::string>> SplitTopLevel(const std::string& text) {
  std::vector<std::string> parts;
  std::string cur;
  int depth = 0;
  for (char c : text) {
    if (c == '(') ++depth;
    if (c == ')' && --depth < 0) return Status::InvalidArgument("unbalanced ')' in selector '" + text + "'");
    if (c == ',' && depth == 0) {
      parts.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  if (depth != 0) return Status::InvalidArgument("unbalanced '(' in selector '" + text + "'");
  parts.push_back(cur);
  return parts;
}

StatusOr<SelectorRequirement> ParseRequirement(const std::string& raw) {
  std::string part = Trim(raw);
  auto bad = [&](const std::string& what) {
    return Status::InvalidArgument("selector requirement '" + part + "': " + what);
  };
  if (part.empty()) return bad("empty requirement");
  SelectorRequirement r;
  if (part[0] == '!') {
    r.key = Trim(part.substr(1));
    r.op = "DoesNotExist";
    if (!ValidToken(r.key, false)) return bad("invalid label key");
    return r;
  }
  for (const char* op : {"!=", "==", "="}) {
    size_t at = part.find(op);
    if (at == std::string::npos) continue;
    r.key = Trim(part.substr(0, at));
    std::string value = Trim(part.substr(at + std::string(op).size()));
    if (!ValidToken(r.key, false)) return bad("invalid label key");
    if (!ValidToken(value, true)) return bad("invalid label value '" + value + "'");
    r.op = std::string(op) == "!=" ? "NotIn" : "In";
    r.values = {value};
    return r;
  }
  size_t open = part.find('(');
  if (open != std::string::npos) {
    if (part.back() != ')') return bad("expected ')' at the end");
    std::string head = Trim(part.substr(0, open));
    size_t sp = head.find_last_of(" \t");
    if (sp == std::string::npos) return bad("expected 'key in (...)' or 'key notin (...)'");
    r.key = Trim(head.substr(0, sp));
    std::string op = Trim(head.substr(sp + 1));
    if (op == "in") r.op = "In";
    else if (op == "notin") r.op = "NotIn";
    else return bad("unknown operator '" + op + "' (in, notin)");
    if (!ValidToken(r.key, false)) return bad("invalid label key");
    std::string inner = part.substr(open + 1, part.size() - open - 2);
    size_t from = 0;
    for (;;) {
      size_t comma = inner.find(',', from);
      std::string v = Trim(inner.substr(from, comma == std::string::npos ? std::string::npos : comma - from));
      if (!ValidToken(v, true)) return bad("invalid label value '" + v + "'");
      r.values.push_back(v);
      if (comma == std::string::npos) break;
      from = comma + 1;
    }
    return r;
  }
  r.key = part;
  r.op = "Exists";
  if (!ValidToken(r.key, false)) return bad("invalid label key");
  return r;
}

}  // namespace

bool LabelSelectorString::Matches(const Labels& labels) const {
  for (const auto& r : requirements) {
    if (!MatchesRequirement(r, labels)) return false;
  }
  return true;
}

StatusOr<LabelSelectorString> ParseLabelSelectorString(const std::string& text) {
  LabelSelectorString s;
  s.text = text;
  if (Trim(text).empty()) return Status::InvalidArgument("empty selector");
  auto parts = SplitTopLevel(text);
  if (!parts.ok()) return parts.status();
  for (const auto& p : *parts) {
    auto r = ParseRequirement(p);
    if (!r.ok()) return r.status();
    s.requirements.push_back(std::move(*r));
  }
  return s;
}

}  // namespace kinema
