// Self-signed CA and server certificate for --tls (OpenSSL 3, ECDSA P-256).
// The CA (CA:TRUE, keyCertSign) signs a server certificate for the listen
// host with SANs IP:127.0.0.1, DNS:localhost and the host itself, valid for
// 10 years, accepted by Go's crypto/x509 (kubectl) and Python's ssl.
// Thread-safety: pure function.
#pragma once

#include <string>

#include "engine/common/status.h"

namespace kinema::sim {

struct TlsMaterial {
  std::string ca_cert_pem;
  std::string server_cert_pem;
  std::string server_key_pem;
};

StatusOr<TlsMaterial> GenerateTlsMaterial(const std::string& host);

}  // namespace kinema::sim
