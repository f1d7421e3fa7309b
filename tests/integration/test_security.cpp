// TLS and authentication against a real mosquitto (issue 7): a TLS listener that requires a
// client certificate and a password, and the real errbridge binary in front of it. The
// PKI (two CAs, server certificates for the right host, the wrong host and from the wrong
// CA, a client certificate) is made with the openssl CLI as the test runs; no key is
// committed. Refused connections must be logged clearly, retried with backoff and never
// fall back to plaintext; the broker password must show up nowhere.

#include <rapidjson/document.h>
#include <signal.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <iostream>
#include <random>
#include <set>
#include <thread>

#include "fixtures.h"
#include "http_client.h"

using namespace errbridge::it;
namespace fs = std::filesystem;

namespace {

const std::string alink_topic = "/sys/a1X2/pump-7/thing/event/property/post_reply";
const std::string event_topic = "errors/lab/aliyun/a1X2/pump-7";
const std::string daemon_user = "errbridge";
const std::string tester_user = "tester";

std::string alink_reply(std::size_t id) {
    return R"({"code":6207,"data":{},"id":")" + std::to_string(id) +
           R"(","message":"request parameter error","method":"thing.event.property.post"})";
}

std::string random_hex() {
    std::random_device random;
    std::uniform_int_distribution<std::uint64_t> any;
    char text[17];
    std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(any(random)));
    return text;
}

bool contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

std::size_t occurrences(const std::string& text, const std::string& part) {
    std::size_t n = 0;
    for (auto at = text.find(part); at != std::string::npos; at = text.find(part, at + 1))
        ++n;
    return n;
}

// A site: its PKI, the broker's password file (hashed) and the daemon's (the password in
// clear, in a credentials directory as systemd's LoadCredential= would make it).
struct Site {
    explicit Site(const std::string& name)
        : dir(name),
          tls(dir.path() / "pki"),
          password("s3cr3t-Pa55-" + random_hex()),
          tester_password("tester-" + random_hex()),
          credentials(dir.path() / "credentials") {
        write_mosquitto_passwords(dir.path() / "passwd",
                                  {{daemon_user, password}, {tester_user, tester_password}});
        fs::create_directories(credentials);
        write_file(credentials / "broker-password", password + "\n");
    }

    TlsListener listener(const fs::path& cert, const fs::path& key) const {
        return {tls.ca_cert, cert, key, dir.path() / "passwd"};
    }

    // The test's own clients trust whatever CA signed the broker's certificate: they are
    // not under test.
    ClientSecurity tester(const fs::path& ca, bool verify_host = true) const {
        return {ca, tls.client_cert, tls.client_key, tester_user, tester_password, verify_host};
    }

    // The daemon's config with absolute file names; `password_file` may be a name relative
    // to $CREDENTIALS_DIRECTORY instead.
    std::string config(const std::string& uri, const std::string& password_file,
                       int metrics_port = 0) const {
        auto quoted = [](const fs::path& p) { return "\"" + p.string() + "\""; };
        return "site = \"lab\"\n[broker]\nuri = \"" + uri +
               "\"\nstate_dir = " + quoted(dir.path() / "state") +
               "\nkeepalive_s = 5\nreconnect_min_s = 1\nreconnect_max_s = 4\nusername = \"" +
               daemon_user + "\"\npassword_file = \"" + password_file +
               "\"\nca_file = " + quoted(tls.ca_cert) + "\ncert_file = " + quoted(tls.client_cert) +
               "\nkey_file = " + quoted(tls.client_key) + "\n[suppress]\nwindow_s = 0\n" +
               "[metrics]\nlisten = \"" +
               (metrics_port ? "127.0.0.1:" + std::to_string(metrics_port) : "") + "\"\n";
    }

    std::string absolute_password_file() const {
        return (credentials / "broker-password").string();
    }

    TempDir dir;
    TlsMaterial tls;
    std::string password;
    std::string tester_password;
    fs::path credentials;
};

// Prints `sent / delivered / lost / duplicated` over the events for request ids 0..sent-1
// and returns how many distinct ones arrived.
std::size_t tally(std::size_t sent, const std::vector<Received>& got) {
    std::set<std::string> ids;
    std::size_t events = 0;
    for (const auto& r : got) {
        if (r.topic != event_topic) continue;
        rapidjson::Document d;
        d.Parse(r.payload.c_str());
        if (d.HasParseError() || !d.IsObject() || !d.HasMember("context")) continue;
        ++events;
        ids.insert(d["context"]["request_id"].GetString());
    }
    std::cout << "sent " << sent << " / delivered " << ids.size() << " / lost "
              << (sent > ids.size() ? sent - ids.size() : 0) << " / duplicated "
              << events - ids.size() << "\n";
    return ids.size();
}

// Connections the broker accepted on its plain listener besides its start-up probes.
std::size_t plain_connections(const Mosquitto& broker) {
    const std::string log = broker.log();
    const std::string on_port = " on port " + std::to_string(broker.port()) + ".";
    std::size_t all = 0;
    std::size_t begin = 0;
    while (begin < log.size()) {
        std::size_t end = log.find('\n', begin);
        if (end == std::string::npos) end = log.size();
        std::string_view line(log.data() + begin, end - begin);
        if (line.find("New connection from ") != std::string_view::npos && line.ends_with(on_port))
            ++all;
        begin = end + 1;
    }
    std::size_t probes = static_cast<std::size_t>(broker.probe_connections(broker.port()));
    return all > probes ? all - probes : 0;
}

// Watches the daemon for up to `window`, until it has logged `wanted` failed connects, and
// returns when it logged each.
std::vector<std::chrono::steady_clock::time_point> failed_connects(Daemon& daemon,
                                                                   std::chrono::milliseconds window,
                                                                   std::size_t wanted) {
    std::vector<std::chrono::steady_clock::time_point> at;
    const auto deadline = std::chrono::steady_clock::now() + window;
    while (std::chrono::steady_clock::now() < deadline && at.size() < wanted) {
        std::size_t seen = occurrences(daemon.log(), "warning session: cannot connect");
        while (at.size() < seen)
            at.push_back(std::chrono::steady_clock::now());
        std::this_thread::sleep_for(20ms);
    }
    return at;
}

// A refused broker: no connection, three attempts spaced by the backoff (1-4 s here),
// each seen by the broker (`broker_says` in its log), nothing on the plaintext listener, no
// crash. Returns the daemon's log.
std::string check_refused_and_retried(Daemon& daemon, Mosquitto& broker, TestClient& sink,
                                      TestClient& device, const std::string& broker_says) {
    const std::size_t sent = 5;
    for (std::size_t i = 0; i < sent; ++i)
        device.publish(alink_topic, alink_reply(i));
    // Generous: each refusal also runs a diagnostic handshake (up to 3 s) on a loaded machine.
    auto at = failed_connects(daemon, 25s, 3);
    INFO("failed connects seen: " << at.size());
    CHECK(at.size() >= 3);
    for (std::size_t i = 1; i < at.size(); ++i) {
        auto gap = std::chrono::duration_cast<std::chrono::milliseconds>(at[i] - at[i - 1]);
        INFO("gap " << i << ": " << gap.count() << " ms");
        CHECK(gap >= 900ms);  // the backoff's floor is 1 s; the log is polled every 20 ms
    }
    CHECK(daemon.process().running());
    const std::string log = daemon.log();
    CHECK_FALSE(contains(log, "session: subscribed"));
    CHECK(contains(log, "info session: reconnecting in_ms="));
    CHECK(tally(sent, sink.received()) == 0);
    // Every attempt went to the TLS port; the plain listener (anonymous, same broker) never
    // saw a connection: no fallback to plaintext.
    const std::string broker_log = broker.log();
    CHECK(occurrences(broker_log, broker_says) >= 2);
    CHECK(plain_connections(broker) == 0);
    CHECK_FALSE(contains(broker_log, "u'" + daemon_user + "'"));  // never connected at all

    daemon.process().signal(SIGTERM);
    CHECK(daemon.process().wait(10s) == 0);
    return daemon.log();
}

}  // namespace

TEST_CASE("tls: client certificate and password over TLS deliver events",
          "[integration][security]") {
    Site site("tls-ok");
    Mosquitto broker(site.dir.path(), false, "",
                     site.listener(site.tls.server_cert, site.tls.server_key));
    TestClient sink(broker.tls_uri(), "sink", 5, false, site.tester(site.tls.ca_cert));
    REQUIRE(sink.connected());
    sink.subscribe("errors/#");
    Daemon daemon(site.dir.path(), site.config(broker.tls_uri(), site.absolute_password_file()));
    REQUIRE(daemon.wait_subscribed(15s));

    TestClient device(broker.tls_uri(), "device", 5, false, site.tester(site.tls.ca_cert));
    REQUIRE(device.connected());
    const std::size_t sent = 20;
    for (std::size_t i = 0; i < sent; ++i)
        device.publish(alink_topic, alink_reply(i));
    auto got = sink.wait_for(sent, 15s);
    CHECK(tally(sent, got) == sent);
    CHECK(got.size() == sent);

    // The daemon's connection is the TLS one, as `errbridge` with a certificate.
    const std::string broker_log = broker.log();
    CHECK(contains(broker_log, "u'" + daemon_user + "'"));
    CHECK(plain_connections(broker) == 0);
    CHECK_FALSE(contains(daemon.log(), "TLS error"));

    daemon.process().signal(SIGTERM);
    CHECK(daemon.process().wait(10s) == 0);
}

TEST_CASE("tls: a broker certificate from another CA is refused, retried, never plaintext",
          "[integration][security]") {
    Site site("tls-rogue");
    Mosquitto broker(site.dir.path(), false, "",
                     site.listener(site.tls.rogue_server_cert, site.tls.rogue_server_key));
    TestClient sink(broker.tls_uri(), "sink", 5, false, site.tester(site.tls.rogue_ca_cert));
    REQUIRE(sink.connected());
    sink.subscribe("errors/#");
    TestClient device(broker.tls_uri(), "device", 5, false, site.tester(site.tls.rogue_ca_cert));
    REQUIRE(device.connected());
    Daemon daemon(site.dir.path(), site.config(broker.tls_uri(), site.absolute_password_file()));

    std::string log = check_refused_and_retried(daemon, broker, sink, device, "alert unknown ca");
    // Named: the broker, and OpenSSL's reason.
    CHECK(contains(log, "warning session: cannot connect broker=" + broker.tls_uri() +
                            " reason=\"TLS: certificate verify failed: unable to get local "
                            "issuer certificate"));
    std::cout << "--- daemon log (first lines)\n" << log.substr(0, 2000) << "\n";
}

TEST_CASE("tls: a broker certificate for another host name is refused and retried",
          "[integration][security]") {
    Site site("tls-host");
    Mosquitto broker(site.dir.path(), false, "",
                     site.listener(site.tls.wrong_host_cert, site.tls.wrong_host_key));
    TestClient sink(broker.tls_uri(), "sink", 5, false, site.tester(site.tls.ca_cert, false));
    REQUIRE(sink.connected());
    sink.subscribe("errors/#");
    TestClient device(broker.tls_uri(), "device", 5, false, site.tester(site.tls.ca_cert, false));
    REQUIRE(device.connected());
    Daemon daemon(site.dir.path(), site.config(broker.tls_uri(), site.absolute_password_file()));

    std::string log = check_refused_and_retried(daemon, broker, sink, device,
                                                "Client <unknown> closed its connection.");
    CHECK(contains(log, "warning session: cannot connect broker=" + broker.tls_uri() +
                            " reason=\"TLS: certificate verify failed: IP address mismatch"));
    std::cout << "--- daemon log (first lines)\n" << log.substr(0, 2000) << "\n";
}

TEST_CASE("tls: a wrong password is refused by the broker, logged, retried",
          "[integration][security]") {
    Site site("tls-password");
    write_file(site.credentials / "wrong-password", "not-" + site.password + "\n");
    Mosquitto broker(site.dir.path(), false, "",
                     site.listener(site.tls.server_cert, site.tls.server_key));
    TestClient sink(broker.tls_uri(), "sink", 5, false, site.tester(site.tls.ca_cert));
    REQUIRE(sink.connected());
    sink.subscribe("errors/#");
    TestClient device(broker.tls_uri(), "device", 5, false, site.tester(site.tls.ca_cert));
    REQUIRE(device.connected());
    Daemon daemon(site.dir.path(),
                  site.config(broker.tls_uri(), (site.credentials / "wrong-password").string()));

    std::string log =
        check_refused_and_retried(daemon, broker, sink, device, "disconnected, not authorised");
    CHECK(contains(log, "warning session: cannot connect broker=" + broker.tls_uri() +
                            " reason=\"Not authorized (reason code 135)\""));
    CHECK_FALSE(contains(log, site.password));
    std::cout << "--- daemon log (first lines)\n" << log.substr(0, 2000) << "\n";
}

TEST_CASE("tls: the broker password is in no log, metric, command line or environment",
          "[integration][security]") {
    Site site("tls-secret");
    Mosquitto broker(site.dir.path(), false, "",
                     site.listener(site.tls.server_cert, site.tls.server_key));
    TestClient sink(broker.tls_uri(), "sink", 5, false, site.tester(site.tls.ca_cert));
    REQUIRE(sink.connected());
    sink.subscribe("errors/#");
    const int metrics_port = free_loopback_port();
    // As systemd would run it: the password file named relative to $CREDENTIALS_DIRECTORY.
    Daemon daemon(site.dir.path(), site.config(broker.tls_uri(), "broker-password", metrics_port),
                  {{"CREDENTIALS_DIRECTORY", site.credentials.string()}}, {"--log-level", "debug"});
    REQUIRE(daemon.wait_subscribed(15s));

    TestClient device(broker.tls_uri(), "device", 5, false, site.tester(site.tls.ca_cert));
    REQUIRE(device.connected());
    const std::size_t sent = 5;
    for (std::size_t i = 0; i < sent; ++i)
        device.publish(alink_topic, alink_reply(i));
    CHECK(tally(sent, sink.wait_for(sent, 15s)) == sent);

    HttpReply metrics = http_request(metrics_port, "GET", "/metrics");
    HttpReply health = http_request(metrics_port, "GET", "/healthz");
    CHECK(metrics.status == 200);
    CHECK(health.status == 200);
    CHECK_FALSE(contains(metrics.body, site.password));
    CHECK_FALSE(contains(health.body, site.password));
    for (const auto& [name, value] : metrics.headers)
        CHECK_FALSE(contains(value, site.password));

    const std::string proc = "/proc/" + std::to_string(daemon.process().pid());
    const std::string cmdline = read_file(proc + "/cmdline");
    const std::string environ_text = read_file(proc + "/environ");
    REQUIRE_FALSE(cmdline.empty());
    REQUIRE(contains(environ_text, "CREDENTIALS_DIRECTORY="));  // we can read it
    CHECK_FALSE(contains(cmdline, site.password));
    CHECK_FALSE(contains(environ_text, site.password));

    // A reload (SIGHUP) must not print it either.
    daemon.process().signal(SIGHUP);
    std::this_thread::sleep_for(1s);
    daemon.process().signal(SIGTERM);
    CHECK(daemon.process().wait(10s) == 0);
    const std::string log = daemon.log();
    CHECK(contains(log, "debug "));  // debug lines were written
    CHECK_FALSE(contains(log, site.password));
    CHECK_FALSE(contains(log, "s3cr3t-Pa55-"));
}
