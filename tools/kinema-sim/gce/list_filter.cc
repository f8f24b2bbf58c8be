#include "tools/kinema-sim/gce/list_filter.h"

#include <cctype>

namespace kinema::sim::gce {

namespace {

struct Lexer {
  const std::string& s;
  size_t i = 0;
  void Skip() {
    while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
  }
  bool AtEnd() {
    Skip();
    return i >= s.size();
  }
  // A token: "(", ")", "=", "!=", a quoted string (unescaped) or a bare word.
  StatusOr<std::string> Next(bool* quoted) {
    Skip();
    *quoted = false;
    if (i >= s.size()) return Status::InvalidArgument("unexpected end of filter");
    char c = s[i];
    if (c == '(' || c == ')' || c == '=') return std::string(1, s[i++]);
    if (c == '!' && i + 1 < s.size() && s[i + 1] == '=') {
      i += 2;
      return std::string("!=");
    }
    if (c == '"' || c == '\'') {
      char q = c;
      std::string out;
      ++i;
      while (i < s.size() && s[i] != q) {
        if (s[i] == '\\' && i + 1 < s.size()) ++i;
        out.push_back(s[i++]);
      }
      if (i >= s.size()) return Status::InvalidArgument("unterminated string in filter");
      ++i;
      *quoted = true;
      return out;
    }
    std::string out;
    while (i < s.size() && !std::isspace(static_cast<unsigned char>(s[i])) && s[i] != '(' && s[i] != ')' &&
           s[i] != '=' && !(s[i] == '!' && i + 1 < s.size() && s[i + 1] == '=')) {
      out.push_back(s[i++]);
    }
    return out;
  }
};

}  // namespace

StatusOr<ListFilter> ListFilter::Parse(const std::string& text) {
  ListFilter f;
  Lexer lx{text};
  int depth = 0;
  bool expect_term = true;
  while (!lx.AtEnd()) {
    bool quoted = false;
    auto tok = lx.Next(&quoted);
    if (!tok.ok()) return tok.status();
    if (!quoted && *tok == "(") {
      ++depth;
      continue;
    }
    if (!quoted && *tok == ")") {
      if (--depth < 0) return Status::InvalidArgument("unbalanced ')' in filter");
      continue;
    }
    if (!quoted && *tok == "AND") {
      if (expect_term) return Status::InvalidArgument("AND without a left-hand term");
      expect_term = true;
      continue;
    }
    if (!quoted && (*tok == "OR" || *tok == "NOT")) {
      return Status::InvalidArgument(*tok + " is not supported by this server's filter");
    }
    Term t;
    t.field = *tok;
    if (quoted || !(t.field == "name" || t.field == "status" || t.field == "zone" || t.field == "machineType" ||
                    (t.field.rfind("labels.", 0) == 0 && t.field.size() > 7))) {
      return Status::InvalidArgument("unsupported field '" + t.field + "' in filter");
    }
    auto op = lx.Next(&quoted);
    if (!op.ok()) return op.status();
    if (*op == "=" || *op == "eq") {
      t.regex = *op == "eq";
    } else if (*op == "!=" || *op == "ne") {
      t.negate = true;
      t.regex = *op == "ne";
    } else {
      return Status::InvalidArgument("unsupported operator '" + *op + "' in filter");
    }
    auto v = lx.Next(&quoted);
    if (!v.ok()) return v.status();
    t.value = *v;
    if (t.regex) {
      try {
        t.re = std::regex(t.value, std::regex::ECMAScript);
      } catch (const std::regex_error&) {
        return Status::InvalidArgument("invalid regular expression '" + t.value + "' in filter");
      }
    }
    f.terms_.push_back(std::move(t));
    expect_term = false;
  }
  if (depth != 0) return Status::InvalidArgument("unbalanced '(' in filter");
  if (expect_term && !f.terms_.empty()) return Status::InvalidArgument("filter ends with AND");
  return f;
}

bool ListFilter::Matches(const std::map<std::string, std::string>& fields,
                         const std::map<std::string, std::string>& labels) const {
  for (const Term& t : terms_) {
    const std::string* actual = nullptr;
    if (t.field.rfind("labels.", 0) == 0) {
      auto it = labels.find(t.field.substr(7));
      if (it != labels.end()) actual = &it->second;
    } else {
      auto it = fields.find(t.field);
      if (it != fields.end()) actual = &it->second;
    }
    bool hit = actual != nullptr && (t.regex ? std::regex_match(*actual, t.re) : *actual == t.value);
    if (hit == t.negate) return false;
  }
  return true;
}

}  // namespace kinema::sim::gce
