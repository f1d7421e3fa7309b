#include "errbridge/daemon/tcp_nodelay.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <charconv>
#include <cstring>
#include <filesystem>

namespace errbridge::daemon {

std::optional<BrokerEndpoint> parse_broker_endpoint(std::string_view uri) {
    auto sep = uri.find("://");
    if (sep == std::string_view::npos) return std::nullopt;
    std::string_view scheme = uri.substr(0, sep);
    int port = 0;
    if (scheme == "tcp" || scheme == "mqtt") {
        port = 1883;
    } else if (scheme == "ssl" || scheme == "mqtts") {
        port = 8883;
    } else if (scheme == "ws") {
        port = 80;
    } else if (scheme == "wss") {
        port = 443;
    } else {
        return std::nullopt;
    }
    std::string_view rest = uri.substr(sep + 3);
    rest = rest.substr(0, rest.find('/'));
    BrokerEndpoint endpoint;
    std::string_view port_text;
    if (!rest.empty() && rest.front() == '[') {
        auto close = rest.find(']');
        if (close == std::string_view::npos) return std::nullopt;
        endpoint.host = std::string(rest.substr(1, close - 1));
        std::string_view after = rest.substr(close + 1);
        if (!after.empty()) {
            if (after.front() != ':') return std::nullopt;
            port_text = after.substr(1);
        }
    } else {
        auto colon = rest.rfind(':');
        endpoint.host = std::string(rest.substr(0, colon));
        if (colon != std::string_view::npos) port_text = rest.substr(colon + 1);
    }
    if (!port_text.empty()) {
        auto [end, ec] =
            std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
        if (ec != std::errc() || end != port_text.data() + port_text.size() || port < 1 ||
            port > 65535) {
            return std::nullopt;
        }
    }
    if (endpoint.host.empty()) return std::nullopt;
    endpoint.port = port;
    return endpoint;
}

namespace {

bool same_peer(const sockaddr_storage& a, const sockaddr_storage& b) {
    if (a.ss_family != b.ss_family) return false;
    if (a.ss_family == AF_INET) {
        const auto& x = reinterpret_cast<const sockaddr_in&>(a);
        const auto& y = reinterpret_cast<const sockaddr_in&>(b);
        return x.sin_port == y.sin_port && x.sin_addr.s_addr == y.sin_addr.s_addr;
    }
    if (a.ss_family == AF_INET6) {
        const auto& x = reinterpret_cast<const sockaddr_in6&>(a);
        const auto& y = reinterpret_cast<const sockaddr_in6&>(b);
        return x.sin6_port == y.sin6_port &&
               std::memcmp(&x.sin6_addr, &y.sin6_addr, sizeof(x.sin6_addr)) == 0;
    }
    return false;
}

std::vector<sockaddr_storage> resolve(const BrokerEndpoint& endpoint, std::string& problem) {
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    std::string port = std::to_string(endpoint.port);
    int rc = ::getaddrinfo(endpoint.host.c_str(), port.c_str(), &hints, &found);
    std::vector<sockaddr_storage> out;
    if (rc != 0) {
        problem = "cannot resolve " + endpoint.host + ": " + ::gai_strerror(rc);
        return out;
    }
    for (addrinfo* ai = found; ai; ai = ai->ai_next) {
        sockaddr_storage s{};
        std::memcpy(&s, ai->ai_addr, ai->ai_addrlen);
        out.push_back(s);
    }
    ::freeaddrinfo(found);
    return out;
}

}  // namespace

NodelayResult set_nodelay_towards(const BrokerEndpoint& endpoint) {
    NodelayResult result;
    auto peers = resolve(endpoint, result.problem);
    if (peers.empty()) return result;
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd", ec)) {
        int fd = 0;
        std::string name = entry.path().filename().string();
        auto [end, parse_ec] = std::from_chars(name.data(), name.data() + name.size(), fd);
        if (parse_ec != std::errc() || end != name.data() + name.size()) continue;
        sockaddr_storage peer{};
        socklen_t length = sizeof(peer);
        if (::getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &length) != 0) continue;
        if (peer.ss_family != AF_INET && peer.ss_family != AF_INET6) continue;
        bool to_broker = false;
        for (const auto& p : peers)
            to_broker = to_broker || same_peer(peer, p);
        if (!to_broker) continue;
        int on = 1;
        if (::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on)) == 0) {
            ++result.sockets_set;
        } else {
            result.problem = std::string("setsockopt(TCP_NODELAY): ") + std::strerror(errno);
        }
    }
    if (ec) result.problem = "cannot list /proc/self/fd: " + ec.message();
    if (result.sockets_set == 0 && result.problem.empty()) {
        result.problem = "no socket connected to " + endpoint.host + ":" +
                         std::to_string(endpoint.port) + " found in /proc/self/fd";
    }
    return result;
}

bool has_nodelay(int fd) {
    int on = 0;
    socklen_t length = sizeof(on);
    return ::getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, &length) == 0 && on != 0;
}

}  // namespace errbridge::daemon
