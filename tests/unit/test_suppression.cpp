// Storm suppression (SPEC §8) with explicit times: the table's windows, eviction, drain and
// reload settings; the key the decoder computes; the summary's JSON (SPEC §6), validated
// against the schema and compared member by member with its first event.

#include <rapidjson/document.h>

#include <catch2/catch.hpp>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "errbridge/config/load.h"
#include "errbridge/core/decode.h"
#include "errbridge/core/summary.h"
#include "errbridge/core/suppression.h"
#include "schema_check.h"
#include "test_env.h"

namespace config = errbridge::config;
namespace core = errbridge::core;
using errbridge::test::schema_violation;
using Verdict = core::SuppressionTable::Verdict;

namespace {

constexpr std::int64_t wall0 = 1795342502123;  // 2026-11-22T10:15:02.123Z

// Offers key `key` at monotonic `t` ms (wall clock wall0 + t). The table never looks into
// what it keeps for a summary; FirstEvent has its own tests below.
Verdict offer(core::SuppressionTable& table, std::uint64_t key, std::int64_t t,
              std::vector<core::Summary>& out) {
    return table.offer(
        key, t, wall0 + t, [] { return core::FirstEvent(); }, out);
}

std::shared_ptr<const config::LoadedConfig> load(const std::string& toml) {
    return std::make_shared<const config::LoadedConfig>(
        config::load_config_text(toml, "test.toml", errbridge::test::environment()));
}

std::string str(const rapidjson::Value& v) {
    return std::string(v.GetString(), v.GetStringLength());
}

}  // namespace

TEST_CASE("suppression: first event published, repeats counted, one summary at window end",
          "[suppression]") {
    int copies = 0;  // the first event is kept once per window, never for a repeat
    core::SuppressionTable table(60'000, 100);
    std::vector<core::Summary> out;
    auto counted = [&] {
        ++copies;
        return core::FirstEvent();
    };
    CHECK(table.offer(1, 0, wall0, counted, out) == Verdict::publish);
    CHECK(table.offer(1, 500, wall0 + 500, counted, out) == Verdict::suppressed);
    CHECK(copies == 1);
    CHECK(offer(table, 1, 1'000, out) == Verdict::suppressed);
    CHECK(offer(table, 1, 2'500, out) == Verdict::suppressed);
    CHECK(offer(table, 1, 59'999, out) == Verdict::suppressed);
    CHECK(table.size() == 1);
    CHECK(table.next_expiry() == 60'000);

    table.expire(59'999, out);
    CHECK(out.empty());
    table.expire(60'000, out);
    REQUIRE(out.size() == 1);
    CHECK(out[0].key == 1);
    CHECK(out[0].repeats == 4);
    CHECK(out[0].window_start_ms == wall0);
    CHECK(out[0].first_ms == wall0 + 500);
    CHECK(out[0].last_ms == wall0 + 59'999);
    CHECK(table.size() == 0);
    CHECK_FALSE(table.next_expiry());
}

TEST_CASE("suppression: a window without repeats ends silently", "[suppression]") {
    core::SuppressionTable table(1'000, 100);
    std::vector<core::Summary> out;
    CHECK(offer(table, 7, 0, out) == Verdict::publish);
    table.expire(5'000, out);
    CHECK(out.empty());
    CHECK(table.size() == 0);
    // The key is dropped: its next event opens a new window and is published.
    CHECK(offer(table, 7, 5'001, out) == Verdict::publish);
}

TEST_CASE("suppression: an event at the window's end opens the next window", "[suppression]") {
    // "later events with that key inside window_s are counted": at start + window_s the
    // window is over, even if the timer has not fired yet.
    core::SuppressionTable table(1'000, 100);
    std::vector<core::Summary> out;
    CHECK(offer(table, 1, 0, out) == Verdict::publish);
    CHECK(offer(table, 1, 999, out) == Verdict::suppressed);
    CHECK(offer(table, 1, 1'000, out) == Verdict::publish);
    REQUIRE(out.size() == 1);  // the ended window's summary comes out first
    CHECK(out[0].repeats == 1);
    CHECK(out[0].window_start_ms == wall0);
    CHECK(table.next_expiry() == 2'000);
}

TEST_CASE("suppression: keys are independent and end in the order they opened", "[suppression]") {
    core::SuppressionTable table(1'000, 100);
    std::vector<core::Summary> out;
    CHECK(offer(table, 1, 0, out) == Verdict::publish);
    CHECK(offer(table, 2, 300, out) == Verdict::publish);
    CHECK(offer(table, 3, 600, out) == Verdict::publish);
    CHECK(offer(table, 2, 700, out) == Verdict::suppressed);
    CHECK(offer(table, 3, 800, out) == Verdict::suppressed);
    CHECK(offer(table, 3, 900, out) == Verdict::suppressed);
    table.expire(1'300, out);  // keys 1 (no repeats) and 2 end
    REQUIRE(out.size() == 1);
    CHECK(out[0].key == 2);
    CHECK(out[0].repeats == 1);
    CHECK(table.next_expiry() == 1'600);
    table.expire(1'600, out);
    REQUIRE(out.size() == 2);
    CHECK(out[1].key == 3);
    CHECK(out[1].repeats == 2);
}

TEST_CASE("suppression: max_keys evicts the oldest key, with its summary", "[suppression]") {
    core::SuppressionTable table(60'000, 2);
    std::vector<core::Summary> out;
    CHECK(offer(table, 1, 0, out) == Verdict::publish);
    CHECK(offer(table, 1, 10, out) == Verdict::suppressed);
    CHECK(offer(table, 2, 20, out) == Verdict::publish);
    CHECK(offer(table, 3, 30, out) == Verdict::publish);  // evicts key 1 (oldest)
    REQUIRE(out.size() == 1);
    CHECK(out[0].key == 1);
    CHECK(out[0].repeats == 1);
    CHECK(table.size() == 2);
    CHECK(offer(table, 4, 40, out) == Verdict::publish);  // evicts key 2: no repeats, no summary
    CHECK(out.size() == 1);
    CHECK(offer(table, 1, 50, out) == Verdict::publish);  // key 1 starts over
    CHECK(table.size() == 2);
}

TEST_CASE("suppression: drain gives every pending summary (SIGTERM)", "[suppression]") {
    core::SuppressionTable table(60'000, 100);
    std::vector<core::Summary> out;
    for (std::uint64_t key = 1; key <= 3; ++key) {
        offer(table, key, 0, out);
        if (key != 2) offer(table, key, 5, out);
    }
    table.drain(out);
    REQUIRE(out.size() == 2);
    CHECK(out[0].key == 1);
    CHECK(out[1].key == 3);
    CHECK(table.size() == 0);
}

TEST_CASE("suppression: a reload's window and max_keys apply to open windows", "[suppression]") {
    core::SuppressionTable table(60'000, 100);
    std::vector<core::Summary> out;
    offer(table, 1, 0, out);
    offer(table, 1, 100, out);
    offer(table, 2, 10'000, out);
    offer(table, 2, 10'100, out);
    offer(table, 3, 20'000, out);
    offer(table, 3, 20'100, out);

    table.configure(15'000, 100, out);  // shorter: key 1's window is over at 15 s
    CHECK(out.empty());
    CHECK(table.next_expiry() == 15'000);
    table.expire(21'000, out);
    REQUIRE(out.size() == 1);
    CHECK(out[0].key == 1);

    table.configure(15'000, 1, out);  // fewer keys: the oldest goes at once
    REQUIRE(out.size() == 2);
    CHECK(out[1].key == 2);
    CHECK(table.size() == 1);
    CHECK(table.window_ms() == 15'000);
}

TEST_CASE("suppression key: vendor, whole device object, code and tag", "[suppression]") {
    auto loaded = load(R"(
[[route]]
name = "ali"
vendor = "aliyun"
topic = "/sys/{product_key}/{device_name}/thing/**/*_reply"
[[route]]
name = "nodes"
vendor = "neuron"
topic = "plant/{node}"
)");
    core::Decoder decoder(loaded);
    core::DecodeResult r;
    auto key = [&](const std::string& topic, const std::string& payload, std::size_t i = 0) {
        decoder.decode(topic, payload, wall0, r);
        REQUIRE(r.count > i);
        CHECK(r.publications[i].suppression_key != 0);
        return r.publications[i].suppression_key;
    };
    const std::string t = "/sys/pk/dev-1/thing/event/property/post_reply";
    const std::uint64_t base = key(t, R"({"id":"1","code":6207,"message":"a"})");
    // Another request id, message and method: the same key.
    CHECK(key(t, R"({"id":"2","code":6207,"message":"b"})") == base);
    CHECK(key("/sys/pk/dev-1/thing/service/x_reply", R"({"id":"3","code":6207})") == base);
    // Another device, another code: other keys.
    CHECK(key("/sys/pk/dev-2/thing/event/property/post_reply", R"({"code":6207})") != base);
    CHECK(key(t, R"({"code":6208})") != base);
    // A sub-device id from the payload is part of the device object.
    CHECK(key(t, R"({"code":6207,"data":{"productKey":"s","deviceName":"d"}})") != base);
    // The tag: Neuron's per-tag codes in one payload are keyed apart.
    const std::string tags = R"({"node":"n","group":"g","tags":[{"name":"t1","error":3002},
                                {"name":"t2","error":3002}]})";
    CHECK(key("plant/n", tags, 0) != key("plant/n", tags, 1));
    CHECK(key("plant/n", tags, 0) ==
          key("plant/n", R"({"node":"n","group":"g","tags":[{"name":"t1","error":3002}]})"));
    // Dead letters are never suppressed.
    decoder.decode(t, "{", wall0, r);
    REQUIRE(r.count == 1);
    CHECK(r.publications[0].suppression_key == 0);
}

TEST_CASE("first event: kept as its message when that is smaller, decoded back byte for byte",
          "[suppression]") {
    auto decoder = std::make_shared<const core::Decoder>(load("site = \"lab\"\n"));
    core::DecodeResult r;
    const std::string topic = "/sys/pk/dev-1/thing/event/property/post_reply";
    const std::string payload = R"({"id":"1","code":6207,"message":"request parameter error"})";
    decoder->decode(topic, payload, wall0, r);
    REQUIRE(r.count == 1);
    const core::Publication& p = r.publications[0];
    const std::string event(r.payload(p));

    core::FirstEvent first(core::Origin{decoder, topic, payload, wall0}, 0, p, event);
    CHECK(first.kept_as_message());
    const std::uint64_t key = p.suppression_key;
    const std::string published_topic = p.topic;
    decoder.reset();  // a reload: the key's window outlives the config that opened it
    core::DecodeResult scratch;
    core::FirstEvent::Restored back;
    REQUIRE(first.restore(key, scratch, back));
    CHECK(back.payload == event);
    CHECK(back.topic == published_topic);
    CHECK(back.vendor == "aliyun");
    CHECK(back.code == "6207");
    CHECK(back.severity == "error");
    CHECK_FALSE(first.restore(key + 1, scratch, back));  // not this key's event
}

TEST_CASE("first event: kept as the event when the message is larger", "[suppression]") {
    // raw_max_bytes cuts the event's copy of a long payload: the event is the smaller.
    auto decoder = std::make_shared<const core::Decoder>(
        load("site = \"lab\"\n[output]\nraw_max_bytes = 32\n"));
    core::DecodeResult r;
    const std::string topic = "/sys/pk/dev-1/thing/event/property/post_reply";
    const std::string payload =
        R"({"code":6207,"data":{"padding":")" + std::string(4000, 'x') + R"("}})";
    decoder->decode(topic, payload, wall0, r);
    REQUIRE(r.count == 1);
    const core::Publication& p = r.publications[0];
    REQUIRE(r.payload(p).size() < payload.size());
    core::FirstEvent first(core::Origin{decoder, topic, payload, wall0}, 0, p, r.payload(p));
    CHECK_FALSE(first.kept_as_message());
    core::DecodeResult scratch;
    core::FirstEvent::Restored back;
    REQUIRE(first.restore(p.suppression_key, scratch, back));
    CHECK(back.payload == r.payload(p));
    CHECK(back.topic == p.topic);
    CHECK(back.code == "6207");
    CHECK(back.severity == "error");
}

TEST_CASE("summary: the first event with a new id and ts, repeats and first/last ts",
          "[suppression]") {
    auto decoder = std::make_shared<const core::Decoder>(load("site = \"lab\"\n"));
    core::DecodeResult r;
    const std::string topic = "/sys/pk/dev-1/thing/event/property/post_reply";
    const std::string payload = R"({"id":"1","code":6207,"message":"request parameter error"})";
    decoder->decode(topic, payload, wall0, r);
    REQUIRE(r.count == 1);
    const core::Publication& p = r.publications[0];
    const core::Origin origin{decoder, topic, payload, wall0};
    auto first = [&] { return core::FirstEvent(origin, 0, p, r.payload(p)); };

    core::SuppressionTable table(60'000, 10);
    std::vector<core::Summary> out;
    REQUIRE(table.offer(p.suppression_key, 0, wall0, first, out) == Verdict::publish);
    REQUIRE(table.offer(p.suppression_key, 10, wall0 + 1'000, first, out) == Verdict::suppressed);
    REQUIRE(table.offer(p.suppression_key, 20, wall0 + 2'000, first, out) == Verdict::suppressed);
    table.drain(out);
    REQUIRE(out.size() == 1);

    core::DecodeResult scratch;
    core::FirstEvent::Restored back;
    REQUIRE(out[0].first.restore(out[0].key, scratch, back));
    std::string json;
    REQUIRE(core::write_summary(back.payload, out[0], wall0 + 60'000, json));
    INFO(json);
    CHECK(schema_violation(json) == "");
    rapidjson::Document summary, event;
    summary.Parse(json.c_str());
    event.Parse(std::string(r.payload(p)).c_str());
    REQUIRE_FALSE(summary.HasParseError());
    REQUIRE_FALSE(event.HasParseError());
    CHECK(summary["repeats"].GetInt() == 2);
    CHECK(str(summary["first_ts"]) == "2026-11-22T10:15:03.123Z");
    CHECK(str(summary["last_ts"]) == "2026-11-22T10:15:04.123Z");
    CHECK(str(summary["ts"]) == "2026-11-22T10:16:02.123Z");
    char id[17];
    std::snprintf(id, sizeof id, "%016llx",
                  static_cast<unsigned long long>(core::summary_id(p.suppression_key, wall0)));
    CHECK(str(summary["id"]) == id);
    CHECK(str(summary["id"]) != str(event["id"]));
    // Everything else is the first event's.
    // Const iterators: RapidJSON 1.1's mutable ones make clang's C++20 `!=` ambiguous.
    for (const auto& m : std::as_const(event).GetObject()) {
        std::string name = str(m.name);
        if (name == "id" || name == "ts" || name == "repeats") continue;
        INFO(name);
        CHECK(summary[m.name] == m.value);
    }
    CHECK(summary.MemberCount() == event.MemberCount() + 2);
    // Same key, next window: another id.
    CHECK(core::summary_id(p.suppression_key, wall0) !=
          core::summary_id(p.suppression_key, wall0 + 60'000));
}

TEST_CASE("summary: a payload that is not our event is refused", "[suppression]") {
    core::Summary s;
    s.repeats = 1;
    for (const char* payload : {"", "{}", R"({"id":"0123456789abcdef"})",
                                R"({"schema":"errbridge/1","dead_letter":true})"}) {
        INFO(payload);
        std::string json;
        CHECK_FALSE(core::write_summary(payload, s, wall0, json));
    }
}
