#pragma once

// Why a TLS connection to the broker fails. Paho reports a failed handshake as a bare
// "Failure", and its OpenSSL error callback cannot be used safely with Paho C++ 1.2 (see
// session.cpp), so after such a failure the session repeats the handshake itself, with the
// same trust store, client certificate and host name check as Paho, and logs OpenSSL's
// reason: "TLS: certificate verify failed: unable to get local issuer certificate", say
// ("TCP connect: Connection refused" when it is not TLS that fails).

#include <chrono>
#include <string>

#include "errbridge/daemon/tcp_nodelay.h"

namespace errbridge::daemon {

struct TlsFiles {
    std::string ca_file;  // empty: the system's trust store
    std::string cert_file;
    std::string key_file;
};

// Connects to `endpoint`, performs a TLS handshake verifying the broker's certificate chain
// and that it is for endpoint.host (a name or an IP address), then closes. Returns why it
// failed, or an empty string when the handshake succeeds. Blocks up to about `timeout`.
std::string tls_handshake_problem(const BrokerEndpoint& endpoint, const TlsFiles& files,
                                  std::chrono::milliseconds timeout);

}  // namespace errbridge::daemon
