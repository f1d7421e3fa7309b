#pragma once

// The metrics listener's pure parts (SPEC §11): what `metrics.listen` means, and what a
// request gets: GET /metrics -> 200 Prometheus text, GET /healthz -> 200 while connected
// else 503, other paths 404, other methods on them 405. The Beast server (src/http_server.h)
// only moves bytes.

#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace errbridge::daemon {

struct ListenAddress {
    std::string host;  // without the brackets of an IPv6 literal
    std::string port;
};

// "127.0.0.1:9102", "[::1]:9102", "localhost:9102"; nullopt when it is not host:port.
std::optional<ListenAddress> parse_listen_address(std::string_view text);

struct HttpAnswer {
    unsigned status = 200;
    std::string content_type;
    std::string body;
    std::string allow;  // the Allow header of a 405, else empty
};

struct HttpEndpoints {
    std::function<std::string()> metrics;  // the /metrics body
    std::function<bool()> healthy;         // connected to the broker
};

// `target` is the request target as sent; a query string is ignored.
HttpAnswer answer_http(std::string_view method, std::string_view target,
                       const HttpEndpoints& endpoints);

}  // namespace errbridge::daemon
