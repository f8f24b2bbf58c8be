#include "tools/kinema-sim/hostile_answers.h"

#include <nlohmann/json.hpp>
#include <zlib.h>

#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <vector>

namespace kinema::sim {

namespace {

using nlohmann::json;

// A value of another type for `v`.
json OtherType(const json& v) {
  switch (v.type()) {
    case json::value_t::string: return 12345;
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
    case json::value_t::number_float: return "not-a-number";
    case json::value_t::boolean: return "true";
    case json::value_t::object: return json::array({1, "two"});
    case json::value_t::array: return json::object({{"unexpected", true}});
    default: return json::object();
  }
}

bool WrongType(std::mt19937_64& rng, HttpResponse* r) {
  json doc = json::parse(r->body, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_structured()) return false;
  std::vector<json*> nodes;
  std::vector<json*> stack = {&doc};
  while (!stack.empty() && nodes.size() < 100000) {
    json* n = stack.back();
    stack.pop_back();
    if (n != &doc) nodes.push_back(n);
    if (n->is_object()) {
      for (auto& [k, v] : n->items()) stack.push_back(&v);
    } else if (n->is_array()) {
      for (auto& v : *n) stack.push_back(&v);
    }
  }
  if (nodes.empty()) return false;
  json* victim = nodes[rng() % nodes.size()];
  *victim = OtherType(*victim);
  r->body = doc.dump(-1, ' ', false, json::error_handler_t::replace);
  return true;
}

void InvalidUtf8(std::mt19937_64& rng, HttpResponse* r) {
  static const std::string kBad = "\xff\xc3(";
  std::vector<size_t> string_starts;
  bool in_string = false;
  for (size_t i = 0; i < r->body.size(); ++i) {
    char c = r->body[i];
    if (in_string) {
      if (c == '\\') ++i;
      else if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
      string_starts.push_back(i + 1);
    }
  }
  size_t at = string_starts.empty() ? (r->body.empty() ? 0 : rng() % r->body.size())
                                    : string_starts[rng() % string_starts.size()];
  r->body.insert(at, kBad);
}

// The deflate state after `n` spaces, kept to append any tail to it.
struct BombPrefix {
  z_stream state{};
  std::string out;  // compressed bytes produced so far (gzip header included)
  ~BombPrefix() { deflateEnd(&state); }
};

const BombPrefix& PrefixFor(size_t n) {
  static std::mutex mu;
  static std::map<size_t, std::unique_ptr<BombPrefix>> cache;
  std::lock_guard<std::mutex> l(mu);
  auto& slot = cache[n];
  if (slot) return *slot;
  slot = std::make_unique<BombPrefix>();
  z_stream& z = slot->state;
  deflateInit2(&z, Z_BEST_COMPRESSION, Z_DEFLATED, 15 + 16, 9, Z_DEFAULT_STRATEGY);
  const std::string chunk(1 << 20, ' ');
  std::vector<unsigned char> buf(1 << 16);
  size_t left = n;
  while (left > 0) {
    const size_t take = std::min(left, chunk.size());
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(chunk.data()));
    z.avail_in = static_cast<uInt>(take);
    do {
      z.next_out = buf.data();
      z.avail_out = static_cast<uInt>(buf.size());
      deflate(&z, Z_NO_FLUSH);
      slot->out.append(reinterpret_cast<char*>(buf.data()), buf.size() - z.avail_out);
    } while (z.avail_in > 0);
    left -= take;
  }
  return *slot;
}

}  // namespace

std::string GzipBomb(size_t whitespace, const std::string& tail) {
  const BombPrefix& prefix = PrefixFor(whitespace);
  z_stream z{};
  deflateCopy(&z, const_cast<z_stream*>(&prefix.state));
  std::string out = prefix.out;
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(tail.data()));
  z.avail_in = static_cast<uInt>(tail.size());
  std::vector<unsigned char> buf(1 << 16);
  int rc;
  do {
    z.next_out = buf.data();
    z.avail_out = static_cast<uInt>(buf.size());
    rc = deflate(&z, Z_FINISH);
    out.append(reinterpret_cast<char*>(buf.data()), buf.size() - z.avail_out);
  } while (rc == Z_OK);
  deflateEnd(&z);
  return out;
}

void SpoilAnswer(const HostileDecision& d, HttpResponse* r) {
  std::mt19937_64 rng(d.seed);
  switch (d.kind) {
    case HostileKind::kNone:
      return;
    case HostileKind::kWrongType:
      if (!WrongType(rng, r)) r->body = "12345";  // not JSON to begin with: a number instead
      return;
    case HostileKind::kTruncate:
      r->body.resize(r->body.empty() ? 0 : rng() % r->body.size());
      return;
    case HostileKind::kInvalidUtf8:
      InvalidUtf8(rng, r);
      return;
    case HostileKind::kHugeBody:
      r->body.insert(0, std::string(d.bytes, ' '));
      return;
    case HostileKind::kGzipBomb:
      r->body = GzipBomb(d.bytes, r->body);
      r->headers.push_back({"Content-Encoding", "gzip"});
      return;
    case HostileKind::kSlowBody:
      r->trickle = d.slow;
      return;
  }
}

}  // namespace kinema::sim
