#include "tools/kinema-sim/tls_certs.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>

namespace kinema::sim {

namespace {

struct Deleter {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
  void operator()(X509* p) const { X509_free(p); }
  void operator()(BIO* p) const { BIO_free(p); }
};
using KeyPtr = std::unique_ptr<EVP_PKEY, Deleter>;
using CertPtr = std::unique_ptr<X509, Deleter>;
using BioPtr = std::unique_ptr<BIO, Deleter>;

bool AddExt(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  if (ext == nullptr) return false;
  bool ok = X509_add_ext(cert, ext, -1) == 1;
  X509_EXTENSION_free(ext);
  return ok;
}

CertPtr NewCert(EVP_PKEY* key, const std::string& cn, long serial_seed) {
  CertPtr cert(X509_new());
  X509_set_version(cert.get(), 2);
  unsigned char serial[16];
  RAND_bytes(serial, sizeof(serial));
  serial[0] &= 0x7f;
  BIGNUM* bn = BN_bin2bn(serial, sizeof(serial), nullptr);
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert.get()));
  BN_free(bn);
  (void)serial_seed;
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 10L * 365 * 24 * 3600);
  X509_set_pubkey(cert.get(), key);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("kinema-sim"), -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  return cert;
}

std::string CertPem(X509* cert) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509(bio.get(), cert);
  char* data;
  long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(len));
}

std::string KeyPem(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr);
  char* data;
  long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(len));
}

bool LooksLikeIp(const std::string& h) {
  return !h.empty() && h.find_first_not_of("0123456789.") == std::string::npos;
}

}  // namespace

StatusOr<TlsMaterial> GenerateTlsMaterial(const std::string& host) {
  KeyPtr ca_key(EVP_EC_gen("P-256"));
  KeyPtr server_key(EVP_EC_gen("P-256"));
  if (!ca_key || !server_key) return Status::Internal("tls: EC key generation failed");

  CertPtr ca = NewCert(ca_key.get(), "kinema-sim-ca", 1);
  X509_set_issuer_name(ca.get(), X509_get_subject_name(ca.get()));
  bool ok = AddExt(ca.get(), ca.get(), NID_basic_constraints, "critical,CA:TRUE") &&
            AddExt(ca.get(), ca.get(), NID_key_usage, "critical,keyCertSign,cRLSign,digitalSignature") &&
            AddExt(ca.get(), ca.get(), NID_subject_key_identifier, "hash") &&
            AddExt(ca.get(), ca.get(), NID_authority_key_identifier, "keyid:always");
  if (!ok || X509_sign(ca.get(), ca_key.get(), EVP_sha256()) == 0) return Status::Internal("tls: signing the CA failed");

  CertPtr server = NewCert(server_key.get(), "kinema-sim", 2);
  X509_set_issuer_name(server.get(), X509_get_subject_name(ca.get()));
  std::string san = "IP:127.0.0.1,DNS:localhost";
  if (!host.empty() && host != "127.0.0.1" && host != "0.0.0.0") {
    san += LooksLikeIp(host) ? ",IP:" + host : ",DNS:" + host;
  }
  ok = AddExt(server.get(), ca.get(), NID_basic_constraints, "critical,CA:FALSE") &&
       AddExt(server.get(), ca.get(), NID_key_usage, "critical,digitalSignature,keyEncipherment") &&
       AddExt(server.get(), ca.get(), NID_ext_key_usage, "serverAuth") &&
       AddExt(server.get(), ca.get(), NID_subject_key_identifier, "hash") &&
       AddExt(server.get(), ca.get(), NID_authority_key_identifier, "keyid:always") &&
       AddExt(server.get(), ca.get(), NID_subject_alt_name, san);
  if (!ok || X509_sign(server.get(), ca_key.get(), EVP_sha256()) == 0) {
    return Status::Internal("tls: signing the server certificate failed");
  }
  TlsMaterial m;
  m.ca_cert_pem = CertPem(ca.get());
  m.server_cert_pem = CertPem(server.get());
  m.server_key_pem = KeyPem(server_key.get());
  return m;
}

}  // namespace kinema::sim
