// Fault injection with counts (issue 7): the real daemon and real mosquitto processes, a
// QoS 1 stream in, and every event counted out by id. Each test prints
// `sent / delivered / lost / duplicated` and what it did to the daemon or the broker.
// Suppression is off in every run (delivery_config).

#include <signal.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <iostream>
#include <thread>

#include "delivery.h"
#include "fixtures.h"
#include "http_client.h"

using namespace errbridge::it;

namespace {

// Room for a whole run's events in the daemon's buffer: these tests are about faults, not
// overflow (100,000 events of ~1.2 KB are far beyond the 16 MiB default).
const std::string big_buffer = "max_buffered_bytes = 268435456\nmax_buffered = 1000000\n";

// The sum of every series of a Prometheus family (`name{...} v` and `name v` lines).
double metric(int port, const std::string& name) {
    std::string body = http_request(port, "GET", "/metrics").body;
    double sum = 0;
    for (std::size_t at = 0; at < body.size();) {
        std::size_t end = body.find('\n', at);
        if (end == std::string::npos) end = body.size();
        std::string_view line(body.data() + at, end - at);
        if (line.starts_with(name) && line.size() > name.size() &&
            (line[name.size()] == ' ' || line[name.size()] == '{')) {
            sum += std::stod(std::string(line.substr(line.rfind(' ') + 1)));
        }
        at = end + 1;
    }
    return sum;
}

std::string metrics_on(int port) {
    return "[metrics]\nlisten = \"127.0.0.1:" + std::to_string(port) + "\"\n";
}

// delivery_config with a metrics listener instead of none.
std::string with_metrics(std::string config, int port) {
    const std::string none = "[metrics]\nlisten = \"\"\n";
    config.replace(config.find(none), none.size(), metrics_on(port));
    return config;
}

// A counter from the daemon's exit line (`counters totals="messages_received=N ..."`).
std::size_t exit_counter(const std::string& log, const std::string& name) {
    auto line = log.rfind("counters totals=");
    if (line == std::string::npos) return 0;
    auto at = log.find(name + "=", line);
    return at == std::string::npos ? 0 : std::stoul(log.substr(at + name.size() + 1));
}

long ms_since(std::chrono::steady_clock::time_point t) {
    return static_cast<long>(
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t)
            .count());
}

}  // namespace

TEST_CASE("faults: 10 kill -9 of the daemon during 100,000 QoS 1 messages lose nothing",
          "[fault]") {
    TempDir dir("fault-kill");
    Mosquitto broker(dir.path());
    TestClient sink(broker.uri(), "sink");
    sink.subscribe("errors/#");
    auto daemon = std::make_unique<Daemon>(dir.path(), delivery_config(broker, dir, big_buffer));
    REQUIRE(daemon->wait_subscribed());

    const std::size_t total = 100000;
    const int kills = 10;
    std::atomic<std::size_t> published{0};
    std::thread publisher([&] {
        TestClient device(broker.uri(), "device");
        device.publish_stream(
            alink_topic, [](std::size_t i) { return alink_reply(i); }, total, 1000, published);
    });
    const auto started = std::chrono::steady_clock::now();
    // Kill k once k/11 of the stream has come out, and only while at least 500 messages
    // the broker acknowledged to the device have not come out as events yet: each kill
    // hits real work, spread over the whole run.
    for (int k = 1; k <= kills; ++k) {
        std::size_t outstanding = 0, out = 0;
        bool armed = eventually(
            [&] {
                std::size_t in = published.load();
                out = sink.count();
                if (out >= k * total / (kills + 1) && in >= out + 500) outstanding = in - out;
                return outstanding > 0;
            },
            180s);
        REQUIRE(armed);
        daemon->process().signal(SIGKILL);
        REQUIRE(daemon->process().wait(5s) == 128 + SIGKILL);
        std::cout << "kill " << k << " at " << ms_since(started) << " ms: " << out
                  << " events out, " << outstanding
                  << " published messages not yet out as events\n";
        CHECK(outstanding >= 500);
        daemon = std::make_unique<Daemon>(dir.path(), delivery_config(broker, dir, big_buffer));
    }
    publisher.join();
    auto got = wait_distinct(sink, total, 240s);
    std::cout << "all out " << ms_since(started) << " ms after the stream started\n";
    Tally t = tally(total, got);
    CHECK(t.lost == 0);
    daemon->process().signal(SIGTERM);
    CHECK(daemon->process().wait(5s) == 0);
}

TEST_CASE("faults: 3 broker restarts during 100,000 QoS 1 messages lose nothing", "[fault]") {
    TempDir dir("fault-broker");
    Mosquitto broker(dir.path(), true);
    TestClient sink(broker.uri(), "sink", 5, true);  // kept session, reconnects
    sink.subscribe("errors/#");
    Daemon daemon(dir.path(), delivery_config(broker, dir, big_buffer));
    REQUIRE(daemon.wait_subscribed());

    const std::size_t total = 100000;
    const int restarts = 3;
    std::atomic<std::size_t> published{0};
    std::thread publisher([&] {
        TestClient device(broker.uri(), "device", 5, true);  // resends across a restart
        device.publish_stream(
            alink_topic, [](std::size_t i) { return alink_reply(i); }, total, 1000, published);
    });
    const auto started = std::chrono::steady_clock::now();
    for (int k = 1; k <= restarts; ++k) {
        std::size_t out = 0;
        REQUIRE(eventually(
            [&] {
                out = sink.count();
                return out >= k * total / (restarts + 1);
            },
            180s));
        const std::size_t in = published.load();
        broker.stop(SIGTERM);  // persistence on: sessions and queues are saved
        std::this_thread::sleep_for(1s);
        broker.start();
        std::cout << "broker restart " << k << " at " << ms_since(started) << " ms: " << out
                  << " events out, " << (in > out ? in - out : 0)
                  << " published messages not yet out as events\n";
    }
    publisher.join();
    auto got = wait_distinct(sink, total, 240s);
    Tally t = tally(total, got);
    CHECK(t.lost == 0);
    daemon.process().signal(SIGTERM);
    CHECK(daemon.process().wait(5s) == 0);
    std::cout << "daemon: reconnects=" << exit_counter(daemon.log(), "reconnects")
              << " sessions_lost=" << exit_counter(daemon.log(), "sessions_lost") << "\n";
}

TEST_CASE("faults: a broker kill -9 loses what the broker had not saved, the daemon carries on",
          "[fault]") {
    TempDir dir("fault-broker-kill");
    // Persistence on, but mosquitto writes its database only at autosave and at a clean
    // exit: a kill -9 takes every session and queued message with it.
    Mosquitto broker(dir.path(), true);
    TestClient sink(broker.uri(), "sink", 5, true);
    sink.subscribe("errors/#");
    const int port = free_loopback_port();
    Daemon daemon(dir.path(), with_metrics(delivery_config(broker, dir, big_buffer), port));
    REQUIRE(daemon.wait_subscribed());

    const std::size_t total = 20000;
    std::atomic<std::size_t> published{0};
    std::thread publisher([&] {
        TestClient device(broker.uri(), "device", 5, true);
        device.publish_stream(
            alink_topic, [](std::size_t i) { return alink_reply(i); }, total, 1000, published);
    });
    std::size_t out = 0;
    REQUIRE(eventually(
        [&] {
            out = sink.count();
            return out >= total / 3;
        },
        120s));
    // Frozen first, so that the kill finds events the daemon has sent and the broker has not
    // acknowledged: the lost session drops them in Paho, and the daemon must send them again.
    broker.freeze();
    double unacknowledged = 0;
    eventually(
        [&] {
            unacknowledged = metric(port, "errbridge_buffered_events");
            return unacknowledged >= 200;
        },
        5s);
    const std::size_t in = published.load();
    broker.stop(SIGKILL);
    std::this_thread::sleep_for(1s);
    broker.start();
    // The kept-session sink lost its subscription with the broker's state and takes it
    // again only on its own reconnect; a second sink subscribes before the daemon (which
    // waits reconnect_min_s) is back, so nothing the daemon sends goes to nobody.
    TestClient sink2(broker.uri(), "sink-2");
    sink2.subscribe("errors/#");
    std::cout << "broker kill -9: " << out << " events out, " << (in > out ? in - out : 0)
              << " published messages not yet out as events, " << unacknowledged
              << " of the daemon's events unacknowledged\n";
    publisher.join();
    REQUIRE(daemon.wait_log("session_present=false", 30s));

    auto both = [&] {
        std::vector<Received> all = sink.received();
        std::vector<Received> second = sink2.received();
        all.insert(all.end(), second.begin(), second.end());
        return all;
    };
    wait_until_quiet([&] { return sink.count() + sink2.count(); });
    DistinctIds first;
    const std::size_t delivered = first.update(both());
    const double received = metric(port, "errbridge_messages_received_total");
    const double republished = metric(port, "errbridge_republished_total");
    std::cout << "first stream: sent " << total << " / delivered " << delivered << " / lost "
              << total - delivered << "\n"
              << "the daemon received " << received << " inputs (duplicates included) and sent "
              << republished << " events again that the lost session had dropped\n"
              << "lost by the broker's kill -9 (its queues, not saved): " << total - delivered
              << "\n";
    if (unacknowledged > 0) CHECK(republished > 0);

    // The daemon is still the same process, subscribed again, and loses nothing after it.
    const std::size_t more = 1000;
    DistinctIds before;
    const std::size_t before_second = before.update(sink2.received());
    publish_alink(broker.uri(), total, more, 200, "device-2");
    auto got = wait_distinct(sink2, before_second + more, 60s);
    DistinctIds after;
    const std::size_t second = after.update(got) - before_second;
    std::cout << "after the broker came back: sent " << more << " / delivered " << second
              << " / lost " << more - second << "\n";
    CHECK(second == more);
    CHECK(daemon.process().running());
    daemon.process().signal(SIGTERM);
    CHECK(daemon.process().wait(5s) == 0);
}

TEST_CASE(
    "faults: a 30 s broker outage with 1,000+ events unacknowledged: buffered, then "
    "flushed",
    "[fault]") {
    TempDir dir("fault-outage");
    Mosquitto broker(dir.path(), true);
    TestClient sink(broker.uri(), "sink", 5, true);
    sink.subscribe("errors/#");
    const int port = free_loopback_port();
    Daemon daemon(dir.path(), with_metrics(delivery_config(broker, dir, big_buffer), port));
    REQUIRE(daemon.wait_subscribed());

    // Input piles up in the daemon's socket while the daemon is held. The broker is then
    // frozen and the daemon let go: it decodes what it holds and publishes into a link that
    // acknowledges nothing. Once 1,000+ events wait unacknowledged the broker is shut down
    // (it saves its sessions) and stays down until 30 s after the freeze.
    const std::size_t total = 3000;
    daemon.process().signal(SIGSTOP);
    REQUIRE(publish_alink(broker.uri(), 0, total, 500) == total);
    std::this_thread::sleep_for(500ms);  // the broker writes what the socket takes
    broker.freeze();
    const auto down_at = std::chrono::steady_clock::now();
    daemon.process().signal(SIGCONT);
    double buffered = 0;
    eventually(
        [&] {
            buffered = std::max(buffered, metric(port, "errbridge_buffered_events"));
            return buffered >= 1000;
        },
        10s);
    std::cout << "broker frozen: " << buffered << " events unacknowledged after "
              << ms_since(down_at) << " ms\n";
    broker.stop(SIGTERM);  // continued and terminated: it saves sessions and queues
    while (std::chrono::steady_clock::now() - down_at < 30s) {
        buffered = std::max(buffered, metric(port, "errbridge_buffered_events"));
        std::this_thread::sleep_for(500ms);
    }
    CHECK(sink.count() == 0);
    CHECK(daemon.process().running());
    broker.start();
    const auto up_at = std::chrono::steady_clock::now();
    auto got = wait_distinct(sink, total, 60s);
    const long flush_ms = ms_since(up_at);
    Tally t = tally(total, got);
    // Every event out, so every publish is acknowledged or about to be: the gauge must say 0.
    const double left = metric(port, "errbridge_buffered_events");
    const auto all_out_at = std::chrono::steady_clock::now();
    const bool drained =
        eventually([&] { return metric(port, "errbridge_buffered_events") == 0; }, 45s);
    std::cout << "errbridge_buffered_events " << left << " when all were out, "
              << metric(port, "errbridge_buffered_events") << " after " << ms_since(all_out_at)
              << " ms\n";
    CHECK(drained);
    // Duplicates: publishes the broker read from the socket when it was continued to shut
    // down, which it saved, and which the daemon (never told) sent again.
    std::cout << "broker down 30 s: " << buffered
              << " events buffered unacknowledged by the daemon (peak); all " << total << " out "
              << flush_ms << " ms after the broker came back\n";
    CHECK(buffered >= 1000);
    CHECK(t.lost == 0);
    daemon.process().signal(SIGTERM);
    CHECK(daemon.process().wait(5s) == 0);
}

TEST_CASE("faults: state dir writes failing at run time are logged and counted, no crash",
          "[fault]") {
    TempDir dir("fault-fsize");
    Mosquitto broker(dir.path());
    TestClient sink(broker.uri(), "sink");
    sink.subscribe("errors/#");
    const int port = free_loopback_port();
    // Files may not grow past 64 KiB and SIGXFSZ is ignored, so an over-long write fails
    // with EFBIG instead of killing the daemon: a full or quota-limited disk, reproducibly.
    Daemon daemon(dir.path(), with_metrics(delivery_config(broker, dir), port), {}, {},
                  {"/usr/bin/prlimit", "--fsize=65536", "--", "/bin/sh", "-c",
                   "trap '' XFSZ; exec \"$@\"", "sh"});
    REQUIRE(daemon.wait_subscribed());

    const std::size_t total = 5000;
    publish_alink(broker.uri(), 0, total, 1000);
    auto got = wait_distinct(sink, total, 60s);
    Tally t = tally(total, got);
    const double errors = metric(port, "errbridge_persist_errors_total");
    std::cout << "RLIMIT_FSIZE 64 KiB: errbridge_persist_errors_total " << errors << "\n";
    CHECK(errors > 0);
    const std::string log = daemon.log();
    const auto line = log.find("no longer takes writes");
    REQUIRE(line != std::string::npos);
    std::cout << log.substr(line, log.find('\n', line) - line) << "\n";
    CHECK(log.find("File too large", line) != std::string::npos);
    CHECK(daemon.process().running());
    CHECK(t.lost == 0);
    daemon.process().signal(SIGTERM);
    CHECK(daemon.process().wait(10s) == 0);
}

TEST_CASE(
    "scale-out: two daemons in one shared group split 50,000 messages, one killed, "
    "its share waits for it",
    "[fault]") {
    TempDir dir("scale");
    Mosquitto broker(dir.path());
    TestClient sink(broker.uri(), "sink");
    sink.subscribe("errors/#");
    TempDir dir_a("scale-a"), dir_b("scale-b");
    auto member = [&](const TempDir& d, const std::string& id) {
        return delivery_config(broker, d,
                               big_buffer + "client_id = \"" + id +
                                   "\"\nshared_group = \"gateways\"\nsession_expiry_s = 300\n");
    };
    const std::size_t total = 50000;
    {
        Daemon a(dir_a.path(), member(dir_a, "errbridge-a"));
        Daemon b(dir_b.path(), member(dir_b, "errbridge-b"));
        REQUIRE(a.wait_subscribed());
        REQUIRE(b.wait_subscribed());
        publish_alink(broker.uri(), 0, total, 1000);
        auto got = wait_distinct(sink, total, 180s);
        std::cout << "both members up:\n";
        Tally t = tally(total, got);
        CHECK(t.lost == 0);
        CHECK(t.duplicated == 0);
        a.process().signal(SIGTERM);
        b.process().signal(SIGTERM);
        REQUIRE(a.process().wait(10s) == 0);
        REQUIRE(b.process().wait(10s) == 0);
        const std::size_t by_a = exit_counter(a.log(), "messages_received");
        const std::size_t by_b = exit_counter(b.log(), "messages_received");
        std::cout << "a handled " << by_a << ", b handled " << by_b << "\n";
        CHECK(by_a + by_b == total);
        CHECK(by_a >= total * 3 / 10);
        CHECK(by_b >= total * 3 / 10);
    }

    // Member b is killed mid-stream; a keeps going. What the broker had already given to b's
    // session waits there until b comes back (or the session expires).
    const std::size_t more = 10000, all = total + more;
    Daemon a(dir_a.path(), member(dir_a, "errbridge-a"));
    auto b = std::make_unique<Daemon>(dir_b.path(), member(dir_b, "errbridge-b"));
    REQUIRE(a.wait_subscribed());
    REQUIRE(b->wait_subscribed());
    std::atomic<std::size_t> published{0};
    std::thread publisher([&] {
        TestClient device(broker.uri(), "device");
        device.publish_stream(
            alink_topic, [&](std::size_t i) { return alink_reply(total + i); }, more, 1000,
            published);
    });
    REQUIRE(eventually([&] { return sink.count() >= total + more / 4; }, 60s));
    b->process().signal(SIGKILL);
    REQUIRE(b->process().wait(5s) == 128 + SIGKILL);
    const auto killed_at = std::chrono::steady_clock::now();
    publisher.join();
    wait_until_quiet([&] { return sink.count(); });
    DistinctIds while_down;
    const std::size_t delivered_while_down = while_down.update(sink.received());
    CHECK(a.process().running());
    std::cout << "b killed: a kept going; " << all - delivered_while_down
              << " messages waited in b's session " << ms_since(killed_at)
              << " ms after the kill\n";
    b = std::make_unique<Daemon>(dir_b.path(), member(dir_b, "errbridge-b"));
    const auto back_at = std::chrono::steady_clock::now();
    auto got = wait_distinct(sink, all, 60s);
    std::cout << "b back: its share arrived within " << ms_since(back_at) << " ms\n";
    Tally t = tally(all, got);
    CHECK(t.lost == 0);
    a.process().signal(SIGTERM);
    b->process().signal(SIGTERM);
    CHECK(a.process().wait(10s) == 0);
    CHECK(b->process().wait(10s) == 0);
}
