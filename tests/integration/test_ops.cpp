// Operations (SPEC §11) against the real binary: /metrics and /healthz scraped over HTTP
// while connected and while the broker is down, the listener's bounds, a metrics address
// that cannot be bound, and sd_notify (READY without waiting for the broker, STATUS,
// WATCHDOG, STOPPING) on a NOTIFY_SOCKET the test owns.

#include <signal.h>

#include <catch2/catch.hpp>
#include <iostream>

#include "fixtures.h"
#include "http_client.h"
#include "notify_socket.h"

using namespace errbridge::it;

namespace {

const std::string alink_topic = "/sys/a1X2/pump-7/thing/event/property/post_reply";
const std::string alink_reply =
    R"({"code":6207,"data":{},"id":"1","message":"request parameter error",)"
    R"("method":"thing.event.property.post"})";

std::string config(const std::string& broker_uri, const TempDir& dir, int metrics_port) {
    return "site = \"lab\"\n[broker]\nuri = \"" + broker_uri + "\"\nstate_dir = \"" +
           (dir.path() / "state").string() +
           "\"\nkeepalive_s = 5\nreconnect_min_s = 1\nreconnect_max_s = 2\n"
           "[metrics]\nlisten = \"127.0.0.1:" +
           std::to_string(metrics_port) +
           "\"\n[[route]]\nname = \"pumps\"\nvendor = \"aliyun\"\n"
           "topic = \"/sys/{product_key}/{device_name}/thing/**/*_reply\"\n";
}

bool contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

const char* prometheus_type = "text/plain; version=0.0.4; charset=utf-8";

}  // namespace

TEST_CASE("/metrics and /healthz over HTTP, connected and with the broker down",
          "[integration][metrics]") {
    TempDir dir("metrics");
    Mosquitto broker(dir.path());
    TestClient sink(broker.uri(), "sink");
    sink.subscribe("errors/#");
    NotifySocket notify(dir.path() / "notify.sock");
    const int port = free_loopback_port();
    Daemon daemon(dir.path(), config(broker.uri(), dir, port),
                  {{"NOTIFY_SOCKET", notify.path().string()}});
    REQUIRE(daemon.wait_subscribed());
    CHECK(daemon.log().find("info metrics: listening address=127.0.0.1:" + std::to_string(port)) !=
          std::string::npos);

    HttpReply health = http_request(port, "GET", "/healthz");
    CHECK(health.status == 200);
    CHECK(health.body == "ok\n");
    HttpReply before = http_request(port, "GET", "/metrics");
    CHECK(before.status == 200);
    CHECK(before.headers["content-type"] == prometheus_type);
    CHECK(contains(before.body, "\nerrbridge_broker_connected 1\n"));
    CHECK(contains(before.body, "\nerrbridge_decode_seconds_count 0\n"));
    CHECK_FALSE(contains(before.body, "errbridge_messages_received_total{"));
    CHECK(notify.wait_for("STATUS=connected to " + broker.uri(), 5s));

    TestClient device(broker.uri(), "device");
    device.publish(alink_topic, alink_reply);
    REQUIRE(sink.wait_for(1, 10s).size() == 1);
    // The event is published inside the message callback, after the counters moved.
    HttpReply after = http_request(port, "GET", "/metrics");
    CHECK(after.status == 200);
    CHECK(contains(after.body, "\nerrbridge_messages_received_total{route=\"pumps\"} 1\n"));
    CHECK(contains(after.body,
                   "\nerrbridge_events_published_total{vendor=\"aliyun\","
                   "category=\"payload-format\"} 1\n"));
    CHECK(contains(after.body, "\nerrbridge_decode_seconds_count 1\n"));
    CHECK(contains(after.body, "\nerrbridge_decode_seconds_bucket{le=\"+Inf\"} 1\n"));
    std::cout << "--- /metrics after one published sample\n" << after.body;

    CHECK(http_request(port, "POST", "/metrics").status == 405);
    CHECK(http_request(port, "POST", "/metrics").headers["allow"] == "GET");
    CHECK(http_request(port, "GET", "/").status == 404);

    broker.stop(SIGTERM);
    CHECK(eventually([&] { return http_request(port, "GET", "/healthz").status == 503; }, 10s));
    HttpReply down = http_request(port, "GET", "/metrics");
    CHECK(down.status == 200);  // metrics keep answering without the broker
    CHECK(contains(down.body, "\nerrbridge_broker_connected 0\n"));
    CHECK(contains(down.body, "\nerrbridge_messages_received_total{route=\"pumps\"} 1\n"));
    CHECK(notify.wait_for("STATUS=not connected to " + broker.uri() + " (retrying)", 5s));

    broker.start();
    CHECK(eventually([&] { return http_request(port, "GET", "/healthz").status == 200; }, 15s));
    CHECK(contains(http_request(port, "GET", "/metrics").body, "\nerrbridge_reconnects_total 1\n"));

    daemon.process().signal(SIGTERM);
    CHECK(daemon.process().wait(5s) == 0);
    CHECK(daemon.wait_log("messages_received=1 events_published=1", 1s));
}

TEST_CASE(
    "metrics listener: a silent client times out, an oversized request is refused, "
    "neither blocks a scrape",
    "[integration][metrics]") {
    TempDir dir("metrics-bounds");
    SilentListener nobody;  // no broker: these requests must not depend on one
    const int port = free_loopback_port();
    Daemon daemon(dir.path(),
                  config("tcp://127.0.0.1:" + std::to_string(nobody.port()), dir, port));
    REQUIRE(daemon.wait_log("metrics: listening", 5s));

    RawConnection slow(port);
    slow.send("GET /metrics HTTP/1.1\r\nHost: x\r\n");  // and never the blank line
    // Single-threaded and asynchronous: the half-sent request does not hold up others.
    HttpReply health = http_request(port, "GET", "/healthz");
    CHECK(health.status == 503);
    CHECK(health.body == "not connected to the broker\n");

    std::string huge =
        "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(20000, 'a') + "\r\n\r\n";
    HttpReply refused = parse_http_reply(http_raw(port, huge));
    CHECK(refused.status == 400);
    CHECK(contains(refused.body, "header limit"));
    CHECK(http_request(port, "GET", "/metrics").status == 200);

    // The 5 s read timeout closes the silent connection.
    CHECK(slow.closed_by_peer(8s));
    CHECK(daemon.process().running());
}

TEST_CASE("metrics.listen on a port in use: exit 2 naming the address", "[integration][metrics]") {
    TempDir dir("metrics-in-use");
    SilentListener taken;
    Daemon daemon(dir.path(), config("tcp://127.0.0.1:1", dir, taken.port()));
    CHECK(daemon.process().wait(10s) == 2);
    std::string log = daemon.log();
    CHECK(contains(log, "error main: not starting: cannot listen for /metrics listen=127.0.0.1:" +
                            std::to_string(taken.port())));
    CHECK(contains(log, "Address already in use"));
    CHECK_FALSE(contains(log, "info main: running"));
}

TEST_CASE(
    "sd_notify: READY at once with a broker that never answers, STATUS, WATCHDOG, "
    "STOPPING",
    "[integration][systemd]") {
    TempDir dir("notify");
    SilentListener black_hole;  // takes the TCP connection, never sends CONNACK
    const std::string uri = "tcp://127.0.0.1:" + std::to_string(black_hole.port());
    NotifySocket notify(dir.path() / "notify.sock");
    const auto started = std::chrono::steady_clock::now();
    Daemon daemon(dir.path(), config(uri, dir, free_loopback_port()),
                  {{"NOTIFY_SOCKET", notify.path().string()}, {"WATCHDOG_USEC", "400000"}});

    // Paho waits 10 s for a CONNACK: READY long before that proves it does not wait.
    const Notification* ready = notify.wait_for("READY=1", 5s);
    REQUIRE(ready);
    auto to_ready = std::chrono::duration_cast<std::chrono::milliseconds>(ready->at - started);
    std::cout << "exec to READY=1: " << to_ready.count() << " ms (broker silent)\n";
    CHECK(to_ready < 3s);
    CHECK(contains(ready->text, "STATUS=not connected to " + uri + " (retrying); received 0"));
    CHECK(contains(daemon.log(), "info systemd: notify socket found"));
    CHECK(contains(daemon.log(), "watchdog_ms=400"));

    // Watchdog at half the interval (200 ms): several pings in a second.
    notify.wait_until(
        [](const auto& all) {
            std::size_t pings = 0;
            for (const auto& n : all)
                pings += n.text == "WATCHDOG=1";
            return pings >= 4;
        },
        3s);
    CHECK(notify.count("WATCHDOG=1") >= 4);

    daemon.process().signal(SIGTERM);
    CHECK(notify.wait_for("STOPPING=1", 5s));
    CHECK(daemon.process().wait(15s) == 0);
}
