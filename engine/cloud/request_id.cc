#include "engine/cloud/request_id.h"

#include <openssl/evp.h>

#include <array>
#include <cstdint>
#include <stdexcept>

namespace kinema::cloud {

namespace {

// Kinema's UUID namespace for request ids (a fixed random v4 UUID).
constexpr std::array<uint8_t, 16> kNamespace = {0x3d, 0x6b, 0x1f, 0x52, 0x9a, 0x4e, 0x4c, 0x07,
                                                0xb1, 0x38, 0x5e, 0x22, 0xc4, 0x90, 0x7d, 0x11};

std::string Digest(const EVP_MD* md, std::string_view prefix, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  if (ctx == nullptr) throw std::bad_alloc();
  EVP_DigestInit_ex(ctx, md, nullptr);
  if (!prefix.empty()) EVP_DigestUpdate(ctx, prefix.data(), prefix.size());
  EVP_DigestUpdate(ctx, data.data(), data.size());
  EVP_DigestFinal_ex(ctx, out, &len);
  EVP_MD_CTX_free(ctx);
  return std::string(reinterpret_cast<const char*>(out), len);
}

std::string Hex(std::string_view bytes) {
  static const char* kDigits = "0123456789abcdef";
  std::string s;
  s.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    s.push_back(kDigits[c >> 4]);
    s.push_back(kDigits[c & 0xf]);
  }
  return s;
}

}  // namespace

std::string RequestIdFor(std::string_view verb, std::string_view key) {
  std::string name(verb);
  name += '/';
  name += key;
  std::string ns(reinterpret_cast<const char*>(kNamespace.data()), kNamespace.size());
  std::string d = Digest(EVP_sha1(), ns, name);
  unsigned char u[16];
  for (int i = 0; i < 16; ++i) u[i] = static_cast<unsigned char>(d[i]);
  u[6] = static_cast<unsigned char>((u[6] & 0x0f) | 0x50);  // version 5
  u[8] = static_cast<unsigned char>((u[8] & 0x3f) | 0x80);  // RFC 4122 variant
  std::string hex = Hex(std::string_view(reinterpret_cast<const char*>(u), 16));
  return hex.substr(0, 8) + "-" + hex.substr(8, 4) + "-" + hex.substr(12, 4) + "-" + hex.substr(16, 4) + "-" +
         hex.substr(20, 12);
}

std::string Sha256Hex(std::string_view data) { return Hex(Digest(EVP_sha256(), {}, data)); }

}  // namespace kinema::cloud
