// What the metrics listener answers, as a table over (method, target, connected), and what
// `metrics.listen` means; the Beast server itself is exercised by the integration tests.

#include <catch2/catch.hpp>

#include "errbridge/daemon/http_routes.h"

using namespace errbridge::daemon;

TEST_CASE("answer_http: /metrics, /healthz, 404, 405", "[metrics][http]") {
    struct Row {
        const char* method;
        const char* target;
        bool connected;
        unsigned status;
        const char* content_type;
        const char* body;
        const char* allow;
    };
    const char* prometheus = "text/plain; version=0.0.4; charset=utf-8";
    const char* text = "text/plain; charset=utf-8";
    const Row rows[] = {
        {"GET", "/metrics", true, 200, prometheus, "METRICS", ""},
        {"GET", "/metrics", false, 200, prometheus, "METRICS", ""},  // metrics never lie down
        {"GET", "/metrics?name[]=x", true, 200, prometheus, "METRICS", ""},
        {"GET", "/healthz", true, 200, text, "ok\n", ""},
        {"GET", "/healthz", false, 503, text, "not connected to the broker\n", ""},
        {"POST", "/metrics", true, 405, text, "method not allowed: use GET\n", "GET"},
        {"HEAD", "/healthz", true, 405, text, "method not allowed: use GET\n", "GET"},
        {"GET", "/", true, 404, text, "not found: try /metrics or /healthz\n", ""},
        {"GET", "/metrics/", true, 404, text, "not found: try /metrics or /healthz\n", ""},
        {"GET", "/METRICS", true, 404, text, "not found: try /metrics or /healthz\n", ""},
        {"DELETE", "/nope", true, 404, text, "not found: try /metrics or /healthz\n", ""},
        {"GET", "http://host/metrics", true, 404, text, "not found: try /metrics or /healthz\n",
         ""},
    };
    for (const auto& row : rows) {
        INFO(row.method << " " << row.target << (row.connected ? " connected" : " offline"));
        HttpEndpoints endpoints{[] { return std::string("METRICS"); },
                                [&] { return row.connected; }};
        HttpAnswer a = answer_http(row.method, row.target, endpoints);
        CHECK(a.status == row.status);
        CHECK(a.content_type == row.content_type);
        CHECK(a.body == row.body);
        CHECK(a.allow == row.allow);
    }
}

TEST_CASE("parse_listen_address: host:port, IPv6 in brackets", "[metrics][http]") {
    struct Row {
        const char* text;
        bool ok;
        const char* host;
        const char* port;
    };
    const Row rows[] = {
        {"127.0.0.1:9102", true, "127.0.0.1", "9102"},
        {"0.0.0.0:80", true, "0.0.0.0", "80"},
        {"localhost:9102", true, "localhost", "9102"},
        {"[::1]:9102", true, "::1", "9102"},
        {"[::]:9102", true, "::", "9102"},
        {"::1:9102", false, "", ""},  // ambiguous without brackets
        {"[::1:9102", false, "", ""},
        {"[]:9102", false, "", ""},
        {"9102", false, "", ""},
        {":9102", false, "", ""},
        {"127.0.0.1:", false, "", ""},
        {"127.0.0.1:http", false, "", ""},
        {"", false, "", ""},
    };
    for (const auto& row : rows) {
        INFO(row.text);
        auto parsed = parse_listen_address(row.text);
        REQUIRE(parsed.has_value() == row.ok);
        if (!parsed) continue;
        CHECK(parsed->host == row.host);
        CHECK(parsed->port == row.port);
    }
}
