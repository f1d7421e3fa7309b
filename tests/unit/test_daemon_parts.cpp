// The daemon's pure parts and thin wrappers: backoff, log lines, log throttling, broker
// endpoints, TCP_NODELAY on a real loopback socket, the state directory, atomic files, the
// password.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "atomic_file.h"
#include "errbridge/daemon/backoff.h"
#include "errbridge/daemon/credentials.h"
#include "errbridge/daemon/log.h"
#include "errbridge/daemon/state_dir.h"
#include "errbridge/daemon/tcp_nodelay.h"
#include "test_env.h"

using namespace errbridge::daemon;
namespace fs = std::filesystem;

namespace {

fs::path fresh_dir(const std::string& name) {
    fs::path dir =
        fs::temp_directory_path() / ("errbridge-test-" + name + "-" + std::to_string(::getpid()));
    fs::remove_all(dir);
    fs::create_directories(dir);
    return dir;
}

}  // namespace

TEST_CASE("decorrelated jitter: drawn from [min, 3 x previous], capped", "[daemon][backoff]") {
    struct Row {
        double previous, min, max, unit, expected;
    };
    const Row rows[] = {
        {0, 1, 30, 0.0, 1},    // first attempt, lowest draw: min
        {0, 1, 30, 0.5, 2},    // first attempt: from [1, 3]
        {0, 1, 30, 1.0, 3},    // highest draw: 3 x min
        {4, 1, 30, 0.5, 6.5},  // [1, 12]
        {20, 1, 30, 0.5, 30},  // [1, 60] -> 30.5, capped
        {20, 1, 30, 0.0, 1},   // can fall back to min: the jitter is decorrelated
        {5, 2, 1, 0.7, 2},     // max below min: min wins
        {3, 1, 30, 2.0, 9},    // unit clamped to 1
    };
    for (const auto& r : rows) {
        CAPTURE(r.previous, r.min, r.max, r.unit);
        CHECK(next_backoff_s(r.previous, r.min, r.max, r.unit) == r.expected);
    }
}

TEST_CASE("backoff stays within bounds and resets", "[daemon][backoff]") {
    Backoff backoff(1, 30, 42);
    std::chrono::milliseconds longest{0};
    for (int i = 0; i < 200; ++i) {
        auto d = backoff.next();
        CHECK(d >= std::chrono::milliseconds(1000));
        CHECK(d <= std::chrono::milliseconds(30000));
        longest = std::max(longest, d);
    }
    CHECK(longest > std::chrono::milliseconds(20000));  // it does grow towards the cap
    backoff.reset();
    CHECK(backoff.next() <= std::chrono::milliseconds(3000));
}

TEST_CASE("log lines: level, component, message, quoted key=value", "[daemon][log]") {
    CHECK(format_log_line(LogLevel::info, "session", "connected",
                          {{"broker", "tcp://127.0.0.1:1883"}, {"session_present", "true"}}) ==
          "info session: connected broker=tcp://127.0.0.1:1883 session_present=true\n");
    CHECK(format_log_line(LogLevel::warning, "session", "dead letter",
                          {{"detail", "Invalid value. at byte 8"}, {"empty", ""}}) ==
          "warning session: dead letter detail=\"Invalid value. at byte 8\" empty=\"\"\n");
    // A hostile topic cannot forge a second line or break the quoting.
    CHECK(format_log_line(LogLevel::error, "session", "x",
                          {{"topic", "a\nerror main: forged \"q\"\x01"}}) ==
          "error session: x topic=\"a\\nerror main: forged \\\"q\\\"\\x01\"\n");
}

TEST_CASE("log levels parse and filter", "[daemon][log]") {
    CHECK(parse_log_level("debug") == LogLevel::debug);
    CHECK(parse_log_level("warn") == LogLevel::warning);
    CHECK(parse_log_level("loud") == std::nullopt);
    Logger log(stderr, LogLevel::warning);
    CHECK_FALSE(log.enabled(LogLevel::info));
    CHECK(log.enabled(LogLevel::error));
}

TEST_CASE("log throttle: a burst per window, then the count of dropped lines", "[daemon][log]") {
    LogThrottle throttle(2, std::chrono::seconds(60));
    auto t0 = LogThrottle::Clock::time_point{} + std::chrono::hours(1);
    CHECK(throttle.admit("dead_letter:not_json", t0).log);
    CHECK(throttle.admit("dead_letter:not_json", t0).log);
    CHECK_FALSE(throttle.admit("dead_letter:not_json", t0).log);
    CHECK_FALSE(throttle.admit("dead_letter:not_json", t0 + std::chrono::seconds(59)).log);
    CHECK(throttle.admit("overflow", t0).log);  // keys are independent
    auto next = throttle.admit("dead_letter:not_json", t0 + std::chrono::seconds(61));
    CHECK(next.log);
    CHECK(next.dropped_before == 2);
}

TEST_CASE("broker endpoints from URIs", "[daemon][nodelay]") {
    struct Row {
        const char* uri;
        const char* host;
        int port;
    };
    const Row good[] = {{"tcp://127.0.0.1:1883", "127.0.0.1", 1883},
                        {"tcp://broker", "broker", 1883},
                        {"mqtt://broker:1884", "broker", 1884},
                        {"ssl://broker.example", "broker.example", 8883},
                        {"mqtts://b:9999", "b", 9999},
                        {"ws://b/mqtt", "b", 80},
                        {"wss://b:8443/mqtt", "b", 8443},
                        {"tcp://[::1]:1883", "::1", 1883},
                        {"ws://[fe80::1]/mqtt", "fe80::1", 80}};
    for (const auto& r : good) {
        CAPTURE(r.uri);
        auto e = parse_broker_endpoint(r.uri);
        REQUIRE(e);
        CHECK(e->host == r.host);
        CHECK(e->port == r.port);
    }
    for (const char* bad : {"broker:1883", "http://b", "tcp://", "tcp://b:0", "tcp://b:70000",
                            "tcp://b:x", "tcp://[::1"}) {
        CAPTURE(bad);
        CHECK_FALSE(parse_broker_endpoint(bad));
    }
}

TEST_CASE("TCP_NODELAY is set on the socket connected to the broker, and only there",
          "[daemon][nodelay]") {
    int listener = ::socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(listener >= 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0);
    REQUIRE(::listen(listener, 4) == 0);
    socklen_t length = sizeof(address);
    REQUIRE(::getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length) == 0);
    int port = ntohs(address.sin_port);

    int to_broker = ::socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(::connect(to_broker, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0);
    int accepted = ::accept(listener, nullptr, nullptr);
    REQUIRE(accepted >= 0);
    REQUIRE_FALSE(has_nodelay(to_broker));

    auto result = set_nodelay_towards({"127.0.0.1", port});
    CHECK(result.sockets_set == 1);
    CHECK(has_nodelay(to_broker));
    CHECK_FALSE(has_nodelay(accepted));  // its peer is the client's port, not the broker's

    auto none = set_nodelay_towards({"127.0.0.1", port == 65535 ? 1 : port + 1});
    CHECK(none.sockets_set == 0);
    CHECK(none.problem.find("no socket connected to 127.0.0.1:") == 0);
    ::close(accepted);
    ::close(to_broker);
    ::close(listener);
}

TEST_CASE("state directory: created, probed, subscriptions stored atomically", "[daemon][state]") {
    fs::path root = fresh_dir("state");
    StateDir dir = StateDir::open(root, "errbridge-plant-a");
    CHECK(dir.path() == root / "errbridge-plant-a");
    CHECK((fs::status(dir.path()).permissions() & fs::perms::all) == fs::perms::owner_all);
    CHECK(dir.load_subscriptions().empty());
    dir.store_subscriptions({"/sys/+/+/thing/#", "errbridge/errbridge-plant-a/probe"});
    CHECK(dir.load_subscriptions() ==
          std::vector<std::string>{"/sys/+/+/thing/#", "errbridge/errbridge-plant-a/probe"});
    CHECK_FALSE(dir.session_expected());
    dir.mark_session(true);
    CHECK(dir.session_expected());
    CHECK_FALSE(dir.probe_write());
    CHECK_FALSE(fs::exists(dir.path() / ".probe"));
    fs::remove_all(root);
}

TEST_CASE("state directory: a regular file in the way is a clear error", "[daemon][state]") {
    fs::path root = fresh_dir("state-file");
    std::ofstream(root / "errbridge-x") << "not a directory";
    try {
        StateDir::open(root, "errbridge-x");
        FAIL("a file where the directory belongs was accepted");
    } catch (const StateDirError& e) {
        std::string what = e.what();
        CHECK(what.find((root / "errbridge-x").string()) != std::string::npos);
    }
    fs::remove_all(root);
}

// write_file_atomically takes any number of parts, but one writev takes at most IOV_MAX
// (1,024 on Linux) and refuses the whole call with EINVAL beyond it. Today's callers pass one
// part, the in-flight store's appends (the same write_all) a handful: the limit is kept in
// write_all so no caller has to know it.
TEST_CASE("atomic file: more parts than IOV_MAX, empty ones among them, all written",
          "[daemon][state]") {
    fs::path root = fresh_dir("atomic");
    std::vector<std::string> texts;
    std::string expected;
    for (int i = 0; i < 3000; ++i) {
        texts.push_back(i % 7 == 0 ? std::string() : std::to_string(i) + ",");
        expected += texts.back();
    }
    const std::vector<std::string_view> parts(texts.begin(), texts.end());
    const fs::path file = root / "batch";
    CHECK(write_file_atomically(file, parts, false) == std::nullopt);
    std::ifstream in(file, std::ios::binary);
    const std::string written((std::istreambuf_iterator<char>(in)), {});
    CHECK(written == expected);
    CHECK_FALSE(fs::exists(temporary_path(file)));
    fs::remove_all(root);
}

TEST_CASE("broker password: file (trailing newline dropped), credentials dir, environment",
          "[daemon][credentials]") {
    fs::path dir = fresh_dir("credentials");
    std::ofstream(dir / "mqtt-password") << "s3cret word\n";
    errbridge::config::BrokerConfig broker;
    CHECK(broker_password(broker, errbridge::test::environment()) == std::nullopt);
    CHECK(broker_password(broker, errbridge::test::environment({{"ERRBRIDGE_PASSWORD", "env"}})) ==
          "env");
    broker.password_file = (dir / "mqtt-password").string();
    CHECK(broker_password(broker, errbridge::test::environment({{"ERRBRIDGE_PASSWORD", "env"}})) ==
          "s3cret word");
    broker.password_file = "mqtt-password";
    CHECK(broker_password(broker, errbridge::test::environment(
                                      {{"CREDENTIALS_DIRECTORY", dir.string()}})) == "s3cret word");
    broker.password_file = (dir / "missing").string();
    CHECK_THROWS_AS(broker_password(broker, errbridge::test::environment()), CredentialError);
    fs::remove_all(dir);
}
