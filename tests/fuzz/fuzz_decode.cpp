// libFuzzer target over (topic, payload) for the decode core on the embedded default config.
// The first input byte picks the topic (`byte & 31`, so the corpus files can start with a
// readable selector: '@' = topic 0, 'A' = 1, ... '_' = 31); the rest is the payload. Decoding
// must never crash, and what it would publish must be publishable: checked below, abort()
// on the first broken invariant so libFuzzer keeps the input.
//
// Built twice: as the libFuzzer binary (clang, -fsanitize=fuzzer) and, with replay_main.cpp,
// as `fuzz_replay`, which the normal build runs over tests/fuzz/corpus/ as a CTest test.

#include <rapidjson/document.h>

#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "errbridge/config/load.h"
#include "errbridge/core/decode.h"

namespace {

using namespace errbridge;
using Status = core::DecodeResult::Status;
using Kind = core::Publication::Kind;

struct Topic {
    std::string_view topic;
    std::string_view route;  // the default route that must take it (SPEC §5 order)
};

// Realistic topics (seeds/FORMATS.md) for every default route, several for the broad ones.
constexpr std::array<Topic, 32> topics = {{
    {"/sys/a1X2/pump-7/thing/event/property/post_reply", "aliyun-4"},                      // '@'
    {"/sys/a1X2/gw-1/thing/topo/add_reply", "aliyun-4"},                                   // 'A'
    {"/sys/a1X2/pump-7/thing/service/property/set_reply", "aliyun-4"},                     // 'B'
    {"/sys/a1X2/gw-1/thing/event/property/pack/post_reply", "aliyun-4"},                   // 'C'
    {"/sys/a1X2/pump-7/thing/model/up_raw_reply", "aliyun-4"},                             // 'D'
    {"/sys/a1X2/pump-7/thing/config/get_reply", "aliyun-4"},                               // 'E'
    {"/ext/session/a1X2/gw-1/combine/login_reply", "aliyun-3"},                            // 'F'
    {"/ext/session/a1X2/gw-1/combine/batch_login_reply", "aliyun-3"},                      // 'G'
    {"/ext/error/a1X2/gw-1", "aliyun-2"},                                                  // 'H'
    {"/ota/device/upgrade/a1X2/pump-7", "aliyun-1"},                                       // 'I'
    {"/ota/device/request/a1X2/pump-7", "aliyun-1"},                                       // 'J'
    {"/neuron/app1/modbus-tcp-1/grp-1", "neuron-2"},                                       // 'K'
    {"/neuron/app1/read/resp", "neuron-1"},                                                // 'L'
    {"/neuron/app1/write/resp", "neuron-1"},                                               // 'M'
    {"neuron/app1/write/resp", "neuron-3"},                                                // 'N'
    {"neuron/app1/read/resp", "neuron-3"},                                                 // 'O'
    {"neuron/drv-1/action/resp", "neuron-3"},                                              // 'P'
    {"neuron/drv-1/flist/resp", "neuron-3"},                                               // 'Q'
    {"tylink/dev-1/thing/property/report_response", "tuya-link-1"},                        // 'R'
    {"tylink/dev-1/thing/property/set_response", "tuya-link-1"},                           // 'S'
    {"tylink/dev-1/device/topo/add_response", "tuya-link-1"},                              // 'T'
    {"tylink/dev-1/ext/time/response", "tuya-link-2"},                                     // 'U'
    {"tylink/dev-1/ext/file/upload/response", "tuya-link-2"},                              // 'V'
    {"bridge/tuya/openapi/dev-1/response", "tuya-1"},                                      // 'W'
    {"bridge/tuya/openapi/login/response", "tuya-1"},                                      // 'X'
    {"$oc/devices/gw-1/sys/events/down", "huawei-iotedge-1"},                              // 'Y'
    {"bridge/huawei-iotedge/proj-1/edge-nodes/node-1/apps/response", "huawei-iotedge-2"},  // 'Z'
    {"bridge/huawei-iotedge/proj-1/response", "huawei-iotedge-3"},                         // '['
    {"bridge/huawei-iotedge/proj-1/edge-nodes/response", "huawei-iotedge-3"},              // '\'
    {"bridge/camera/cam-1/http/GetDeviceInfo/response", "camera-1"},                       // ']'
    {"bridge/camera/cam-1/http/GetImageConfig/1/response", "camera-2"},                    // '^'
    {"bridge/camera/nvr-2/http/ManualAlarmOut/3/start/response", "camera-3"},              // '_'
}};

constexpr std::int64_t now_ms = 1'795'000'000'123;

const core::Decoder& decoder() {
    static const core::Decoder instance = [] {
        config::Environment env;
        env.hostname = "gw-01";
        env.getenv = [](const std::string&) -> std::optional<std::string> { return std::nullopt; };
        return core::Decoder(std::make_shared<const config::LoadedConfig>(
            config::load_config_text(config::embedded_default_config(), "embedded default", env)));
    }();
    return instance;
}

[[noreturn]] void broken(const char* invariant, std::string_view topic, std::string_view detail) {
    std::fprintf(stderr, "fuzz_decode: invariant broken: %s\n  topic: %.*s\n  %.*s\n", invariant,
                 static_cast<int>(topic.size()), topic.data(),
                 static_cast<int>(std::min<std::size_t>(detail.size(), 2000)), detail.data());
    std::abort();
}

// MQTT strings (topic names, user properties) are UTF-8 without U+0000; a broker drops the
// connection on anything else, so this is stricter than "valid JSON string".
bool mqtt_string(std::string_view s) {
    return core::valid_utf8(s);
}

void check_publication(const core::DecodeResult& r, const core::Publication& p,
                       std::string_view topic) {
    std::string_view payload = r.payload(p);
    rapidjson::Document doc;
    // kParseValidateEncodingFlag: RapidJSON checks the UTF-8 itself (overlongs, surrogates),
    // independently of the core's valid_utf8.
    doc.Parse<rapidjson::kParseValidateEncodingFlag>(payload.data(), payload.size());
    if (doc.HasParseError()) broken("publication is UTF-8 JSON", topic, payload);
    if (!doc.IsObject()) broken("publication is a JSON object", topic, payload);
    if (p.topic.empty() || !mqtt_string(p.topic) ||
        p.topic.find_first_of("+#") != std::string::npos) {
        broken("publication topic is a valid MQTT topic name", topic, p.topic);
    }
    if (!mqtt_string(p.code)) broken("code (an MQTT 5 user property) is UTF-8", topic, p.code);
    bool dead = doc.HasMember("dead_letter");
    if (dead != (p.kind == Kind::dead_letter)) broken("kind matches the payload", topic, payload);
}

void check(const core::DecodeResult& r, const Topic& t, std::string_view payload) {
    const auto& config = decoder().config().config;
    if (!r.route || config.routes[*r.route].name != t.route) {
        broken("the topic takes its default route", t.topic, t.route);
    }
    if (r.count > r.publications.size()) broken("count within publications", t.topic, "");
    if ((r.status == Status::empty) != payload.empty())
        broken("empty <=> status empty", t.topic, "");
    if (r.reason.has_value() != (r.status == Status::dead_letter)) {
        broken("reason <=> dead letter", t.topic, r.detail);
    }
    switch (r.status) {
        case Status::unrouted:
            broken("routed", t.topic, "");
        case Status::dead_letter:
            // invalid_topic is set in the default config: exactly one publication.
            if (r.count != 1 || r.publications[0].kind != Kind::dead_letter) {
                broken("dead letter => exactly one dead-letter publication", t.topic, r.detail);
            }
            if (r.detail.empty()) broken("dead letter has a detail", t.topic, "");
            break;
        case Status::events:
            if (r.count == 0) broken("events => at least one publication", t.topic, "");
            for (std::size_t i = 0; i < r.count; ++i) {
                if (r.publications[i].kind != Kind::error) {
                    broken("events are all error events", t.topic, r.payload(r.publications[i]));
                }
            }
            break;
        case Status::empty:
        case Status::no_code:
        case Status::success:  // emit_success is off by default
            if (r.count != 0) broken("counted-only status publishes nothing", t.topic, "");
            break;
    }
    for (std::size_t i = 0; i < r.count; ++i)
        check_publication(r, r.publications[i], t.topic);
}

// A reused result must give what a fresh one gives: state from the previous message must not
// leak into the next (the daemon reuses one result for every message).
void check_same(const core::DecodeResult& reused, const core::DecodeResult& fresh,
                std::string_view topic) {
    if (reused.status != fresh.status || reused.reason != fresh.reason ||
        reused.count != fresh.count || reused.buffer != fresh.buffer ||
        reused.detail != fresh.detail) {
        broken("a reused DecodeResult decodes like a fresh one", topic, fresh.buffer.view());
    }
    for (std::size_t i = 0; i < fresh.count; ++i) {
        const auto& a = reused.publications[i];
        const auto& b = fresh.publications[i];
        if (a.kind != b.kind || a.topic != b.topic || a.code != b.code || a.known != b.known ||
            a.payload_offset != b.payload_offset || a.payload_size != b.payload_size) {
            broken("a reused DecodeResult publishes like a fresh one", topic, b.topic);
        }
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    static core::DecodeResult reused;
    const Topic& t = topics[data[0] & 31];
    std::string_view payload(reinterpret_cast<const char*>(data + 1), size - 1);
    decoder().decode(t.topic, payload, now_ms, reused);
    check(reused, t, payload);
    core::DecodeResult fresh;
    decoder().decode(t.topic, payload, now_ms, fresh);
    check_same(reused, fresh, t.topic);
    return 0;
}
