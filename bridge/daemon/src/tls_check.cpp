#include "errbridge/daemon/tls_check.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

namespace errbridge::daemon {

namespace {

struct Fd {
    int fd = -1;
    ~Fd() {
        if (fd >= 0) ::close(fd);
    }
};

// A blocking TCP connection with send and receive timeouts, or why there is none.
std::string tcp_connect(const BrokerEndpoint& endpoint, std::chrono::milliseconds timeout,
                        Fd& out) {
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    const std::string port = std::to_string(endpoint.port);
    if (int rc = ::getaddrinfo(endpoint.host.c_str(), port.c_str(), &hints, &found); rc != 0)
        return "TCP: cannot resolve " + endpoint.host + ": " + ::gai_strerror(rc);
    std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> list(found, ::freeaddrinfo);
    std::string problem = "TCP: no address for " + endpoint.host;
    for (addrinfo* a = found; a; a = a->ai_next) {
        Fd fd{::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)};
        if (fd.fd < 0) continue;
        if (::connect(fd.fd, a->ai_addr, a->ai_addrlen) != 0) {
            if (errno != EINPROGRESS) {
                problem = std::string("TCP connect: ") + std::strerror(errno);
                continue;
            }
            pollfd p{fd.fd, POLLOUT, 0};
            if (::poll(&p, 1, static_cast<int>(timeout.count())) != 1) {
                problem = "TCP connect: timed out";
                continue;
            }
            int error = 0;
            socklen_t length = sizeof error;
            ::getsockopt(fd.fd, SOL_SOCKET, SO_ERROR, &error, &length);
            if (error != 0) {
                problem = std::string("TCP connect: ") + std::strerror(error);
                continue;
            }
        }
        ::fcntl(fd.fd, F_SETFL, ::fcntl(fd.fd, F_GETFL) & ~O_NONBLOCK);
        timeval tv{static_cast<time_t>(timeout.count() / 1000),
                   static_cast<suseconds_t>(timeout.count() % 1000 * 1000)};
        ::setsockopt(fd.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        ::setsockopt(fd.fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        std::swap(out.fd, fd.fd);
        return "";
    }
    return problem;
}

// OpenSSL's queued errors on this thread, most recent last, as one line.
std::string openssl_errors() {
    std::string all;
    while (unsigned long e = ::ERR_get_error()) {
        char text[256];
        ::ERR_error_string_n(e, text, sizeof text);
        // "error:0A000086:SSL routines::certificate verify failed": keep the reason.
        std::string_view s(text);
        if (auto colon = s.rfind(':'); colon != std::string_view::npos) s.remove_prefix(colon + 1);
        if (!all.empty()) all += "; ";
        all += s;
    }
    return all;
}

}  // namespace

std::string tls_handshake_problem(const BrokerEndpoint& endpoint, const TlsFiles& files,
                                  std::chrono::milliseconds timeout) {
    ::ERR_clear_error();
    std::unique_ptr<SSL_CTX, decltype(&::SSL_CTX_free)> ctx(::SSL_CTX_new(::TLS_client_method()),
                                                            ::SSL_CTX_free);
    if (!ctx) return "TLS: cannot create a context: " + openssl_errors();
    ::SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
    int loaded = files.ca_file.empty()
                     ? ::SSL_CTX_set_default_verify_paths(ctx.get())
                     : ::SSL_CTX_load_verify_locations(ctx.get(), files.ca_file.c_str(), nullptr);
    if (loaded != 1)
        return "TLS: cannot load the CA file " + files.ca_file + ": " + openssl_errors();
    if (!files.cert_file.empty() &&
        ::SSL_CTX_use_certificate_chain_file(ctx.get(), files.cert_file.c_str()) != 1)
        return "TLS: cannot load the client certificate " + files.cert_file + ": " +
               openssl_errors();
    const std::string& key = files.key_file.empty() ? files.cert_file : files.key_file;
    if (!key.empty() &&
        ::SSL_CTX_use_PrivateKey_file(ctx.get(), key.c_str(), SSL_FILETYPE_PEM) != 1)
        return "TLS: cannot load the client key " + key + ": " + openssl_errors();

    Fd fd;
    if (std::string problem = tcp_connect(endpoint, timeout, fd); !problem.empty()) return problem;
    std::unique_ptr<SSL, decltype(&::SSL_free)> ssl(::SSL_new(ctx.get()), ::SSL_free);
    if (!ssl) return "TLS: cannot create a session: " + openssl_errors();
    ::SSL_set_fd(ssl.get(), fd.fd);
    // The host name check Paho makes with verify on: the certificate must name the host
    // (DNS) or its address (IP) as written in the uri.
    X509_VERIFY_PARAM* param = ::SSL_get0_param(ssl.get());
    in6_addr address{};
    const bool is_ip = ::inet_pton(AF_INET, endpoint.host.c_str(), &address) == 1 ||
                       ::inet_pton(AF_INET6, endpoint.host.c_str(), &address) == 1;
    if (is_ip) {
        ::X509_VERIFY_PARAM_set1_ip_asc(param, endpoint.host.c_str());
    } else {
        ::SSL_set_tlsext_host_name(ssl.get(), endpoint.host.c_str());
        ::X509_VERIFY_PARAM_set1_host(param, endpoint.host.c_str(), 0);
    }
    const int rc = ::SSL_connect(ssl.get());
    if (rc == 1) {
        ::SSL_shutdown(ssl.get());
        return "";
    }
    if (long verify = ::SSL_get_verify_result(ssl.get()); verify != X509_V_OK) {
        return std::string("TLS: certificate verify failed: ") +
               ::X509_verify_cert_error_string(verify) + " (broker " + endpoint.host + ")";
    }
    std::string errors = openssl_errors();
    if (!errors.empty()) return "TLS: handshake failed: " + errors;
    return std::string("TLS: handshake failed: ") +
           (errno ? std::strerror(errno) : "the broker closed the connection");
}

}  // namespace errbridge::daemon
