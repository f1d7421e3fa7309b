#include "errbridge/daemon/http_routes.h"

#include "errbridge/daemon/metrics.h"

namespace errbridge::daemon {

namespace {

constexpr std::string_view text_plain = "text/plain; charset=utf-8";

HttpAnswer text(unsigned status, std::string body) {
    return {status, std::string(text_plain), std::move(body), {}};
}

}  // namespace

std::optional<ListenAddress> parse_listen_address(std::string_view text) {
    auto colon = text.rfind(':');
    if (colon == std::string_view::npos || colon == 0 || colon + 1 == text.size()) {
        return std::nullopt;
    }
    std::string_view host = text.substr(0, colon);
    std::string_view port = text.substr(colon + 1);
    for (char c : port) {
        if (c < '0' || c > '9') return std::nullopt;
    }
    if (host.front() == '[') {
        if (host.size() < 3 || host.back() != ']') return std::nullopt;
        host = host.substr(1, host.size() - 2);
    } else if (host.find(':') != std::string_view::npos) {
        return std::nullopt;  // an IPv6 literal needs brackets
    }
    return ListenAddress{std::string(host), std::string(port)};
}

HttpAnswer answer_http(std::string_view method, std::string_view target,
                       const HttpEndpoints& endpoints) {
    std::string_view path = target.substr(0, target.find('?'));
    const bool known = path == "/metrics" || path == "/healthz";
    if (!known) return text(404, "not found: try /metrics or /healthz\n");
    if (method != "GET") {
        HttpAnswer a = text(405, "method not allowed: use GET\n");
        a.allow = "GET";
        return a;
    }
    if (path == "/healthz") {
        return endpoints.healthy() ? text(200, "ok\n") : text(503, "not connected to the broker\n");
    }
    return {200, std::string(prometheus_content_type), endpoints.metrics(), {}};
}

}  // namespace errbridge::daemon
