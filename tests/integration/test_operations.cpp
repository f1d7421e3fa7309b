// Day-two operations against a real mosquitto and the real binary: SIGHUP reloads (a good
// config applies, a broken one is refused with file:line and the old routes keep working)
// and storm suppression (one event, then one summary with the right `repeats`, on window
// end and at SIGTERM).

#include <rapidjson/document.h>
#include <signal.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>

#include "../unit/schema_check.h"
#include "fixtures.h"

using namespace errbridge::it;
using errbridge::test::schema_violation;

namespace {

// [suppress] and the routes come from the caller; everything else as in test_daemon.cpp.
std::string config(const Mosquitto& broker, const TempDir& dir, const std::string& rest,
                   const std::string& broker_extra = "") {
    return "site = \"lab\"\n[broker]\nuri = \"" + broker.uri() + "\"\nstate_dir = \"" +
           (dir.path() / "state").string() + "\"\nkeepalive_s = 5\nreconnect_min_s = 1\n" +
           "reconnect_max_s = 2\n" + broker_extra + "[metrics]\nlisten = \"\"\n" + rest;
}

std::string route(const std::string& name, const std::string& topic) {
    return "[[route]]\nname = \"" + name + "\"\nvendor = \"neuron\"\ntopic = \"" + topic + "\"\n";
}

rapidjson::Document parse(const std::string& json) {
    rapidjson::Document d;
    d.Parse(json.c_str());
    REQUIRE_FALSE(d.HasParseError());
    return d;
}

std::string str(const rapidjson::Value& v) {
    return std::string(v.GetString(), v.GetStringLength());
}

// The 1-based line of `text` holding `needle`.
std::size_t line_of(const std::string& text, const std::string& needle) {
    std::size_t at = text.find(needle);
    REQUIRE(at != std::string::npos);
    return 1 + static_cast<std::size_t>(std::count(text.begin(), text.begin() + at, '\n'));
}

bool has_topic(const std::vector<Received>& got, const std::string& topic) {
    for (const auto& r : got) {
        if (r.topic == topic) return true;
    }
    return false;
}

// Publishes until an event arrives on `topic`: a SUBSCRIBE the daemon just sent may not be
// in force yet when the first publish reaches the broker.
bool publish_until(TestClient& device, TestClient& sink, const std::string& in,
                   const std::string& payload, const std::string& out) {
    auto deadline = std::chrono::steady_clock::now() + 10s;
    while (std::chrono::steady_clock::now() < deadline) {
        device.publish(in, payload);
        auto got = sink.wait_until([&](const auto& all) { return has_topic(all, out); }, 500ms);
        if (has_topic(got, out)) return true;
    }
    return false;
}

}  // namespace

TEST_CASE("SIGHUP: a good config applies, a broken one is refused and the old one runs on",
          "[integration][reload]") {
    TempDir dir("reload");
    Mosquitto broker(dir.path());
    TestClient sink(broker.uri(), "sink");
    sink.subscribe("errors/#");
    sink.subscribe("alerts/#");
    const std::string no_suppress = "[suppress]\nwindow_s = 0\n";
    Daemon daemon(dir.path(), config(broker, dir, no_suppress + route("a", "plant/a/{node}")));
    REQUIRE(daemon.wait_subscribed());
    TestClient device(broker.uri(), "device");
    const std::string error = R"({"error": 3002})";
    REQUIRE(publish_until(device, sink, "plant/a/n1", error, "errors/lab/neuron/n1"));

    // 1. Good: a new route, a new output topic, and a [broker] key that needs a restart.
    const std::filesystem::path toml = dir.path() / "errbridge.toml";
    write_file(toml,
               config(broker, dir,
                      "[output]\ntopic = \"alerts/{site}/{vendor}/{device}\"\n" + no_suppress +
                          route("a", "plant/a/{node}") + route("b", "plant/b/{node}"),
                      "max_buffered = 5000\n"));
    daemon.process().signal(SIGHUP);
    REQUIRE(daemon.wait_log("info reload: configuration reloaded ", 10s));
    std::string log = daemon.log();
    CHECK(log.find("info reload: route added route=b vendor=neuron topic=plant/b/{node}") !=
          std::string::npos);
    CHECK(log.find("info reload: filter added filter=plant/b/+") != std::string::npos);
    CHECK(log.find("info reload: settings applied keys=output.topic") != std::string::npos);
    CHECK(log.find("warning reload: changed keys need a restart: running on with their previous "
                   "values keys=broker.max_buffered") != std::string::npos);
    CHECK(log.find("unsubscribed") == std::string::npos);  // route a's filter stays
    CHECK(publish_until(device, sink, "plant/b/n2", error, "alerts/lab/neuron/n2"));
    device.publish("plant/a/n1", error);  // the old route, on the new output topic
    auto arrived = [](const std::string& topic) {
        return [topic](const std::vector<Received>& all) { return has_topic(all, topic); };
    };
    CHECK(has_topic(sink.wait_until(arrived("alerts/lab/neuron/n1"), 10s), "alerts/lab/neuron/n1"));

    // 2. Broken: an unknown key and a value out of range; nothing changes.
    std::string broken = config(broker, dir,
                                "[output]\ntopic = \"alerts/{site}/{vendor}/{device}\"\n"
                                "qos = 1\nretian = true\n[suppress]\nwindow_s = -3\n" +
                                    route("only", "other/{node}"));
    write_file(toml, broken);
    daemon.process().signal(SIGHUP);
    REQUIRE(daemon.wait_log("still running the previous one", 10s));
    log = daemon.log();
    const std::string file = toml.string();
    const std::string typo =
        file + ":" + std::to_string(line_of(broken, "retian")) + ": output.retian: ";
    const std::string range =
        file + ":" + std::to_string(line_of(broken, "window_s = -3")) + ": suppress.window_s: ";
    CHECK(log.find("error config: " + typo) != std::string::npos);
    CHECK(log.find("error config: " + range) != std::string::npos);
    CHECK(log.find("problems=2") != std::string::npos);
    std::size_t before = sink.received().size();
    device.publish("plant/b/n3", error);
    device.publish("plant/a/n4", error);
    auto got = sink.wait_for(before + 2, 10s);
    CHECK(has_topic(got, "alerts/lab/neuron/n3"));
    CHECK(has_topic(got, "alerts/lab/neuron/n4"));

    // 3. Good again, without route a: its filter is unsubscribed, its messages stop.
    write_file(toml, config(broker, dir,
                            "[output]\ntopic = \"alerts/{site}/{vendor}/{device}\"\n" +
                                no_suppress + route("b", "plant/b/{node}")));
    daemon.process().signal(SIGHUP);
    REQUIRE(daemon.wait_log("info reload: configuration reloaded ", 10s, 2));
    CHECK(daemon.wait_log("unsubscribed a filter no route needs any more filter=plant/a/+", 5s));
    CHECK(daemon.log().find("info reload: route removed route=a") != std::string::npos);
    // The restart-only key is back to what runs: no warning this time.
    CHECK(daemon.wait_log("changed keys need a restart", 1s, 1));
    CHECK_FALSE(daemon.wait_log("changed keys need a restart", 1s, 2));
    before = sink.received().size();
    device.publish("plant/a/n5", error);
    device.publish("plant/b/n6", error);
    got = sink.wait_for(before + 2, 3s);
    CHECK(got.size() == before + 1);
    CHECK(has_topic(got, "alerts/lab/neuron/n6"));
    CHECK_FALSE(has_topic(got, "alerts/lab/neuron/n5"));

    daemon.process().signal(SIGTERM);
    CHECK(daemon.process().wait(5s) == 0);
}

TEST_CASE("suppression: a device repeating a code gives one event, then one summary",
          "[integration][suppression]") {
    TempDir dir("storm");
    Mosquitto broker(dir.path());
    TestClient sink(broker.uri(), "sink");
    sink.subscribe("errors/#");
    Daemon daemon(dir.path(),
                  config(broker, dir, "[suppress]\nwindow_s = 2\n" + route("a", "plant/{node}")));
    REQUIRE(daemon.wait_subscribed());
    TestClient device(broker.uri(), "device");

    const int sent = 6;
    auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < sent; ++i)
        device.publish("plant/n1", R"({"error": 3002, "seq": )" + std::to_string(i) + "}");
    device.publish("plant/n2", R"({"error": 3002})");  // another device: its own key
    auto got = sink.wait_for(3, 10s);
    auto elapsed = std::chrono::steady_clock::now() - start;
    REQUIRE(got.size() == 3);
    CHECK(elapsed >= 1500ms);                 // the summary waited for the window to end
    CHECK(sink.wait_for(4, 3s).size() == 3);  // and nothing else comes

    const Received* event = nullptr;
    const Received* summary = nullptr;
    for (const auto& r : got) {
        INFO(r.payload);
        CHECK(schema_violation(r.payload) == "");
        auto d = parse(r.payload);
        if (r.topic != "errors/lab/neuron/n1") continue;
        (d["repeats"].GetInt() == 0 ? event : summary) = &r;
    }
    REQUIRE(event);
    REQUIRE(summary);
    CHECK(event < summary);  // in arrival order
    auto e = parse(event->payload);
    auto s = parse(summary->payload);
    CHECK(s["repeats"].GetInt() == sent - 1);
    CHECK(str(s["raw"]) == str(e["raw"]));  // the first event's fields
    CHECK(str(s["code"]) == "3002");
    CHECK(str(s["id"]) != str(e["id"]));
    CHECK(str(s["first_ts"]) <= str(s["last_ts"]));
    CHECK(str(e["ts"]) <= str(s["first_ts"]));
    CHECK(summary->user_properties.at("code") == "3002");
    CHECK(summary->user_properties.at("vendor") == "neuron");

    // A new window after the summary: the next repeat is published at once.
    device.publish("plant/n1", R"({"error": 3002, "seq": 99})");
    got = sink.wait_for(4, 5s);
    REQUIRE(got.size() == 4);
    CHECK(parse(got[3].payload)["repeats"].GetInt() == 0);

    daemon.process().signal(SIGTERM);
    CHECK(daemon.process().wait(5s) == 0);
    std::string log = daemon.log();
    CHECK(log.find("suppressed=5 summaries_published=1") != std::string::npos);
}

TEST_CASE("suppression: SIGTERM publishes pending summaries, eviction publishes the oldest",
          "[integration][suppression]") {
    TempDir dir("storm-term");
    Mosquitto broker(dir.path());
    TestClient sink(broker.uri(), "sink");
    sink.subscribe("errors/#");
    Daemon daemon(dir.path(), config(broker, dir,
                                     "[suppress]\nwindow_s = 600\nmax_keys = 2\n" +
                                         route("a", "plant/{node}")));
    REQUIRE(daemon.wait_subscribed());
    TestClient device(broker.uri(), "device");
    for (int i = 0; i < 3; ++i)
        device.publish("plant/n1", R"({"error": 3002})");
    device.publish("plant/n2", R"({"error": 3002})");
    device.publish("plant/n2", R"({"error": 3002})");
    device.publish("plant/n3", R"({"error": 3002})");  // a third key evicts n1 (the oldest)
    auto got = sink.wait_for(4, 10s);
    REQUIRE(got.size() == 4);  // events n1, n2, n3 and n1's summary
    int n1_summaries = 0;
    for (const auto& r : got) {
        if (r.topic == "errors/lab/neuron/n1" && parse(r.payload)["repeats"].GetInt() == 2)
            ++n1_summaries;
    }
    CHECK(n1_summaries == 1);

    daemon.process().signal(SIGTERM);
    CHECK(daemon.process().wait(5s) == 0);
    got = sink.wait_for(5, 5s);
    REQUIRE(got.size() == 5);  // n2's summary at SIGTERM; n3 had no repeats
    CHECK(got[4].topic == "errors/lab/neuron/n2");
    auto s = parse(got[4].payload);
    CHECK(s["repeats"].GetInt() == 1);
    CHECK(schema_violation(got[4].payload) == "");
    CHECK(daemon.log().find("summaries_published=2") != std::string::npos);
}

TEST_CASE("restart with a changed filter: messages queued under the old one are handled",
          "[integration][reload]") {
    // The broker stamps a queued message with the identifier of the subscription it matched.
    // A config whose route now derives another filter has never given that identifier, so
    // the copy cannot be attributed: it must be handled, not dropped as another route's.
    TempDir dir("requeue");
    Mosquitto broker(dir.path());
    TestClient sink(broker.uri(), "sink");
    sink.subscribe("errors/#");
    const std::string no_suppress = "[suppress]\nwindow_s = 0\n";
    {
        Daemon first(dir.path(), config(broker, dir, no_suppress + route("a", "plant/a/{node}")));
        REQUIRE(first.wait_subscribed());
        first.process().signal(SIGTERM);
        REQUIRE(first.process().wait(5s) == 0);
    }
    TestClient device(broker.uri(), "device");
    device.publish("plant/a/n1", R"({"error": 3002})");  // queued in the daemon's session
    device.publish("plant/a/n2", R"({"error": 3002})");
    Daemon second(dir.path(), config(broker, dir, no_suppress + route("a", "plant/{area}/{node}")));
    REQUIRE(second.wait_subscribed());
    auto got = sink.wait_for(2, 10s);
    CHECK(got.size() == 2);
    CHECK(has_topic(got, "errors/lab/neuron/n1"));
    CHECK(has_topic(got, "errors/lab/neuron/n2"));
    second.process().signal(SIGTERM);
    CHECK(second.process().wait(5s) == 0);
}
