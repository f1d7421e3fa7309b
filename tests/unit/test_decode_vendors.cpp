// Every payload shape of ../shared/seeds/FORMATS.md through the decode core on the embedded
// default config: the vendor defaults of SPEC §5 must decode them all. Each row quotes the
// FORMATS.md line its payload comes from; everything published must pass the JSON Schema
// (SPEC §6: "every test that checks events validates against it").

#include <rapidjson/document.h>
#include <rapidjson/pointer.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "errbridge/config/load.h"
#include "errbridge/core/decode.h"
#include "schema_check.h"
#include "test_env.h"

namespace config = errbridge::config;
namespace core = errbridge::core;
using errbridge::test::schema_violation;
using Kind = core::Publication::Kind;
using Status = core::DecodeResult::Status;

namespace {

// 2026-11-22T10:15:02.123Z, the `ts` of SPEC §6's example.
constexpr std::int64_t now_ms = 1795342502123;

std::shared_ptr<const config::LoadedConfig> load(std::string_view toml) {
    return std::make_shared<const config::LoadedConfig>(
        config::load_config_text(toml, "embedded default", errbridge::test::environment()));
}

// The embedded default with some keys added (no [[route]]: the default routes stay).
std::shared_ptr<const config::LoadedConfig> load_default_with(const std::string& extra) {
    return load(std::string(config::embedded_default_config()) + extra);
}

const core::Decoder& default_decoder() {
    static const core::Decoder decoder(load(config::embedded_default_config()));
    return decoder;
}

std::string to_json(const rapidjson::Value& value) {
    rapidjson::StringBuffer buffer;
    rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
    value.Accept(writer);
    return buffer.GetString();
}

std::string str(const rapidjson::Value& value) {
    return value.IsString() ? std::string(value.GetString(), value.GetStringLength())
                            : "<not a string: " + to_json(value) + ">";
}

// Compares as JSON values: member order does not matter, types do.
bool same_json(const rapidjson::Value& actual, const std::string& expected) {
    rapidjson::Document doc;
    doc.Parse(expected.c_str());
    REQUIRE_FALSE(doc.HasParseError());
    return actual == doc;
}

std::string base64_decode(const std::string& text) {
    static const std::string alphabet =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    unsigned bits = 0;
    int count = 0;
    for (char c : text) {
        if (c == '=') break;
        bits = (bits << 6) | static_cast<unsigned>(alphabet.find(c));
        count += 6;
        if (count >= 8) {
            count -= 8;
            out += static_cast<char>((bits >> count) & 0xFF);
        }
    }
    return out;
}

struct Published {
    Kind kind;
    std::string topic;
    std::string json;
    std::unique_ptr<rapidjson::Document> doc;

    const rapidjson::Value& operator[](const char* key) const { return (*doc)[key]; }
    const rapidjson::Value& context(const char* key) const { return (*doc)["context"][key]; }
};

struct Decoded {
    Status status;
    std::string route;  // name of the matched route, "" when unrouted
    std::optional<core::DeadLetterReason> reason;
    std::size_t unknown_codes;
    std::vector<Published> out;
};

// Decodes and checks what every publication must satisfy whatever the payload: the schema,
// and Publication's own fields (MQTT 5 user properties, metric labels) agreeing with it.
Decoded decode(const core::Decoder& decoder, std::string_view topic, std::string_view payload) {
    core::DecodeResult result;
    decoder.decode(topic, payload, now_ms, result);
    Decoded d{result.status, "", result.reason, result.unknown_codes, {}};
    if (result.route) d.route = decoder.config().config.routes[*result.route].name;
    for (std::size_t i = 0; i < result.count; ++i) {
        const core::Publication& p = result.publications[i];
        Published pub{p.kind, p.topic, std::string(result.payload(p)),
                      std::make_unique<rapidjson::Document>()};
        INFO("published on " << pub.topic << ": " << pub.json);
        CHECK(schema_violation(pub.json) == "");
        pub.doc->Parse(pub.json.c_str());
        REQUIRE_FALSE(pub.doc->HasParseError());
        if (p.kind != Kind::dead_letter) {
            CHECK(str(pub["vendor"]) == p.vendor);
            CHECK(str(pub["severity"]) == p.severity);
            CHECK(str(pub["category"]) == p.category);
            CHECK(pub["known"].GetBool() == p.known);
            CHECK((pub["code"].IsNull() ? std::string() : str(pub["code"])) == p.code);
            CHECK(str(pub["kind"]) == (p.kind == Kind::error ? "error" : "success"));
        }
        d.out.push_back(std::move(pub));
    }
    return d;
}

Decoded decode(std::string_view topic, std::string_view payload) {
    return decode(default_decoder(), topic, payload);
}

struct Expected {
    std::string code;
    bool known;
    std::string message;  // ending in " ...": a prefix of a long catalog text
    std::string device;   // the whole device object, as JSON
    // context.path, request_id, method, vendor_message, tag, firmware, http_status and
    // captures: every one is checked, an absent key means null ({} for captures).
    std::string context;
    std::string topic;  // output topic
};

struct Row {
    std::string quote;  // FORMATS.md (or SPEC) on this payload
    std::string topic;
    std::string payload;
    Status status;
    std::string route;  // the default route that must match, first match winning
    std::vector<Expected> events;
    std::string dead_letter;  // the reason, when status is dead_letter
};

void check_event(const Published& e, const Expected& x, const Row& row) {
    INFO("event " << e.json);
    CHECK(e.kind == Kind::error);
    CHECK(str(e["code"]) == x.code);
    CHECK(e["known"].GetBool() == x.known);
    const std::string message = str(e["message"]);
    const std::string suffix = " ...";
    if (x.message.size() > suffix.size() &&
        x.message.compare(x.message.size() - suffix.size(), suffix.size(), suffix) == 0) {
        CHECK(message.rfind(x.message.substr(0, x.message.size() - suffix.size()), 0) == 0);
    } else {
        CHECK(message == x.message);
    }
    INFO("device expected " << x.device);
    CHECK(same_json(e["device"], x.device));
    rapidjson::Document context;
    context.Parse(x.context.c_str());
    REQUIRE(context.IsObject());
    for (const char* key : {"path", "request_id", "method", "vendor_message", "tag", "firmware",
                            "http_status", "captures"}) {
        rapidjson::Value fallback;
        if (std::string(key) == "captures") fallback.SetObject();
        const rapidjson::Value& expected = context.HasMember(key) ? context[key] : fallback;
        INFO("context." << key << " expected " << to_json(expected));
        CHECK(e.context(key) == expected);
    }
    CHECK(str(e.context("route")) == row.route);
    CHECK(str(e.context("topic")) == row.topic);
    CHECK(e.topic == x.topic);
    CHECK(str(e["ts"]) == "2026-11-22T10:15:02.123Z");
    CHECK(str(e["site"]) == "gw-01");
    CHECK(str(e["raw"]) == row.payload);
    CHECK(e["raw_truncated"].GetBool() == false);
}

void check_row(const Row& row, const core::Decoder& decoder = default_decoder()) {
    INFO(row.quote);
    INFO("topic " << row.topic << "\npayload " << row.payload);
    Decoded d = decode(decoder, row.topic, row.payload);
    CHECK(d.status == row.status);
    CHECK(d.route == row.route);
    if (row.status == Status::dead_letter) {
        REQUIRE(d.out.size() == 1);
        const Published& dl = d.out[0];
        INFO("dead letter " << dl.json);
        CHECK(dl.kind == Kind::dead_letter);
        REQUIRE(d.reason);
        CHECK(core::to_string(*d.reason) == row.dead_letter);
        CHECK(str(dl["reason"]) == row.dead_letter);
        CHECK(str(dl["route"]) == row.route);
        CHECK(str(dl["topic"]) == row.topic);
        CHECK(str(dl["ts"]) == "2026-11-22T10:15:02.123Z");
        CHECK(base64_decode(str(dl["payload_b64"])) == row.payload);
        CHECK(dl["payload_truncated"].GetBool() == false);
        CHECK(dl.topic == "errors/gw-01/_invalid");
        return;
    }
    REQUIRE(d.out.size() == row.events.size());
    std::set<std::string> ids;
    std::size_t unknown = 0;
    for (std::size_t i = 0; i < row.events.size(); ++i) {
        check_event(d.out[i], row.events[i], row);
        ids.insert(str(d.out[i]["id"]));
        if (!row.events[i].known) ++unknown;
    }
    CHECK(ids.size() == row.events.size());  // distinct for each event of one payload
    CHECK(d.unknown_codes == unknown);
}

}  // namespace

TEST_CASE("Neuron: every payload shape of FORMATS.md §2", "[decode]") {
    const std::string upload = "/neuron/mqtt/modbus-tcp-1/grp-1";
    const std::string modbus = R"({"app":"mqtt","node":"modbus-tcp-1","group":"grp-1"})";
    const std::string read = R"({"uuid": "bca54fe7-…", "tags": [{"name": "tag0", "value": 4}, )"
                             R"({"name": "tag1", "error": 3002}]})";
    const std::vector<Row> rows = {
        {"Values-format upload (codes at /errors/<tag>) on the default upload topic "
         "/neuron/{app}/{driver}/{group}",
         upload,
         R"({"node": "modbus-tcp-1", "group": "grp-1", "timestamp": 1717000000123, )"
         R"("values": {"tag0": 123}, "errors": {"tag1": 3002, "tag2": 3015}, "metas": {}})",
         Status::events,
         "neuron-2",
         {{"3002", true, "Plugin is not connected", modbus,
           R"({"path":"/errors/tag1","tag":"tag1","captures":{"driver":"modbus-tcp-1"}})",
           "errors/gw-01/neuron/modbus-tcp-1"},
          {"3015", true, "Plugin device is not responding", modbus,
           R"({"path":"/errors/tag2","tag":"tag2","captures":{"driver":"modbus-tcp-1"}})",
           "errors/gw-01/neuron/modbus-tcp-1"}},
         ""},
        {"Tags-format upload (codes at /tags/<i>/error; each element has either \"value\" or "
         "\"error\")",
         "/neuron/mqtt/opcua-1/line-a",
         R"({"node": "opcua-1", "group": "line-a", "timestamp": 1717000001000, "tags": )"
         R"([{"name": "temp", "value": 21.5}, {"name": "pressure", "error": 10003}]})",
         Status::events,
         "neuron-2",
         {{"10003", true, "opcua access timeout",
           R"({"app":"mqtt","node":"opcua-1","group":"line-a"})",
           R"({"path":"/tags/1/error","tag":"pressure","captures":{"driver":"opcua-1"}})",
           "errors/gw-01/neuron/opcua-1"}},
         ""},
        {"Read response (codes at /tags/<i>/error) on neuron/{app}/read/resp",
         "neuron/mqtt/read/resp",
         read,
         Status::events,
         "neuron-3",
         {{"3002", true, "Plugin is not connected", R"({"app":"mqtt"})",
           R"({"path":"/tags/1/error","request_id":"bca54fe7-…","tag":"tag1"})",
           "errors/gw-01/neuron/mqtt"}},
         ""},
        {"/neuron/{app}/read/… before 2.13 (leading slash): the legacy route, first match",
         "/neuron/mqtt/read/resp",
         read,
         Status::events,
         "neuron-1",
         {{"3002", true, "Plugin is not connected", R"({"app":"mqtt"})",
           R"({"path":"/tags/1/error","request_id":"bca54fe7-…","tag":"tag1"})",
           "errors/gw-01/neuron/mqtt"}},
         ""},
        {"Write response, single tag (code at /error; 0 = success)",
         "neuron/Rk2xQ9/write/resp",
         R"({"uuid": "cd32be1b-…", "error": 0})",
         Status::success,
         "neuron-3",
         {},
         ""},
        {"1003: Neuron \"Invalid request param\" (FORMATS §7), never Tuya's meaning",
         "neuron/Rk2xQ9/write/resp",
         R"({"uuid": "cd32be1b-…", "error": 1003})",
         Status::events,
         "neuron-3",
         {{"1003", true, "Invalid request param", R"({"app":"Rk2xQ9"})",
           R"({"path":"/error","request_id":"cd32be1b-…"})", "errors/gw-01/neuron/Rk2xQ9"}},
         ""},
        {"Write response with per-tag results (per-tag 0 = that tag succeeded); carries group "
         "and name but no node",
         "neuron/Rk2xQ9/write/resp",
         R"({"uuid": "7b0f…", "tags": [{"group": "grp-1", "name": "tag0", "error": 0}, )"
         R"({"group": "grp-1", "name": "tag1", "error": 3001}]})",
         Status::events,
         "neuron-3",
         {{"3001", true, "Plugin write failed", R"({"app":"Rk2xQ9","group":"grp-1"})",
           R"({"path":"/tags/1/error","request_id":"7b0f…","tag":"tag1"})",
           "errors/gw-01/neuron/Rk2xQ9"}},
         ""},
        {"per-tag write response where every tag succeeded",
         "neuron/Rk2xQ9/write/resp",
         R"({"uuid": "7b0f…", "tags": [{"group": "grp-1", "name": "tag0", "error": 0}, )"
         R"({"group": "grp-1", "name": "tag1", "error": 0}]})",
         Status::success,
         "neuron-3",
         {},
         ""},
        {"Driver action response (code at /error)",
         "neuron/Rk2xQ9/action/resp",
         R"({"uuid": "a3c1…", "error": 3023})",
         Status::events,
         "neuron-3",
         {{"3023", true, "plugin not support exe action", R"({"app":"Rk2xQ9"})",
           R"({"path":"/error","request_id":"a3c1…"})", "errors/gw-01/neuron/Rk2xQ9"}},
         ""},
        {"Codes are JSON integers [src]; a numeric string is the same code (SPEC §5)",
         "neuron/Rk2xQ9/action/resp",
         R"({"uuid": "a3c1…", "error": "3023"})",
         Status::events,
         "neuron-3",
         {{"3023", true, "plugin not support exe action", R"({"app":"Rk2xQ9"})",
           R"({"path":"/error","request_id":"a3c1…"})", "errors/gw-01/neuron/Rk2xQ9"}},
         ""},
        {"The 10701–10744 range is given only as a block (every code in it)",
         "/neuron/mqtt/ab-5000/grp-2",
         R"({"node": "ab-5000", "group": "grp-2", "timestamp": 1717000002000, )"
         R"("values": {}, "errors": {"speed": 10744}, "metas": {}})",
         Status::events,
         "neuron-2",
         {{"10744", true, "EtherNet/IP error", R"({"app":"mqtt","node":"ab-5000","group":"grp-2"})",
           R"({"path":"/errors/speed","tag":"speed","captures":{"driver":"ab-5000"}})",
           "errors/gw-01/neuron/ab-5000"}},
         ""},
        {"Success ... for uploads, an empty or missing errors object: a data upload, not an "
         "error report",
         upload,
         R"({"node": "modbus-tcp-1", "group": "grp-1", "timestamp": 1717000000123, )"
         R"("values": {"tag0": 123}, "errors": {}, "metas": {}})",
         Status::no_code,
         "neuron-2",
         {},
         ""},
        {"some of [the docs examples] have trailing commas, which makes them invalid JSON",
         upload,
         R"({"timestamp": 1717000000123, "node": "modbus-tcp-1", "group": "grp-1", )"
         R"("values": {"tag0": 123,}, "errors": {"tag1": 3002}})",
         Status::dead_letter,
         "neuron-2",
         {},
         "not_json"},
        {"Driver status (no codes) on neuron/${random_str}/state/update: no route",
         "neuron/Rk2xQ9/state/update",
         R"({"timestamp": 1658134132237, "states": [{"node": "modbus-tcp", "link": 1, )"
         R"("running": 3}]})",
         Status::unrouted,
         "",
         {},
         ""},
    };
    for (const auto& row : rows)
        check_row(row);
}

TEST_CASE("Alibaba Alink: every payload shape of FORMATS.md §3", "[decode]") {
    const std::string pump = R"({"product_key":"a1X2","device_name":"pump-7"})";
    const std::string pump_topic = "errors/gw-01/aliyun/a1X2/pump-7";
    const std::string session =
        "An error occurred with the session between the sub-device and IoT Platform. ...";
    const std::vector<Row> rows = {
        {"Cloud reply [doc help.aliyun.com 89301]: success 200",
         "/sys/a1X2/pump-7/thing/event/property/post_reply",
         R"({"code":200,"data":{},"id":"123","message":"success",)"
         R"("method":"thing.event.property.post","version":"1.0"})",
         Status::success,
         "aliyun-4",
         {},
         ""},
        {"the vendor's own failure example (6813 is in no seed); method derived from the topic",
         "/sys/a1X2/pump-7/thing/event/property/post_reply",
         R"({"code":6813,"data":{},"id":"123","message":"topic illegal","version":"1.0"})",
         Status::events,
         "aliyun-4",
         {{"6813", true, "topic illegal", pump,
           R"({"path":"/code","request_id":"123","method":"thing.event.property.post",)"
           R"("vendor_message":"topic illegal"})",
           pump_topic}},
         ""},
        {"code is a JSON number in Alink; the same code as a numeric string",
         "/sys/a1X2/pump-7/thing/event/property/post_reply",
         R"({"code":"6813","data":{},"id":"123","message":"topic illegal","version":"1.0"})",
         Status::events,
         "aliyun-4",
         {{"6813", true, "topic illegal", pump,
           R"({"path":"/code","request_id":"123","method":"thing.event.property.post",)"
           R"("vendor_message":"topic illegal"})",
           pump_topic}},
         ""},
        {"/sys/{pk}/{dn}/thing/event/{identifier}/post_reply; the payload's method wins",
         "/sys/a1X2/pump-7/thing/event/overheat/post_reply",
         R"({"code":6207,"data":{},"id":"124","message":"request parameter error",)"
         R"("method":"thing.event.overheat.post","version":"1.0"})",
         Status::events,
         "aliyun-4",
         {{"6207", true,
           "The Alink data or the parsed custom data reported by the device is not in the JSON "
           "format.",
           pump,
           R"({"path":"/code","request_id":"124","method":"thing.event.overheat.post",)"
           R"("vendor_message":"request parameter error"})",
           pump_topic}},
         ""},
        {"/sys/{gw_pk}/{gw_dn}/thing/event/property/pack/post_reply: the catalog context of 6401",
         "/sys/a1GW/gw-1/thing/event/property/pack/post_reply",
         R"({"code":6401,"data":{},"id":"125","message":"topo relation not exist","version":"1.0"})",
         Status::events,
         "aliyun-4",
         {{"6401", true, "The topological relationship does not exist.",
           R"({"product_key":"a1GW","device_name":"gw-1"})",
           R"({"path":"/code","request_id":"125","method":"thing.event.property.pack.post",)"
           R"("vendor_message":"topo relation not exist"})",
           "errors/gw-01/aliyun/a1GW/gw-1"}},
         ""},
        {"/sys/{pk}/{dn}/thing/model/up_raw_reply",
         "/sys/a1X2/pump-7/thing/model/up_raw_reply",
         R"({"code":26002,"data":{},"id":"126","message":"script content invalid",)"
         R"("method":"thing.model.up_raw","version":"1.0"})",
         Status::events,
         "aliyun-4",
         {{"26002", true,
           "The script runs properly, but the script content is invalid. For example, the script "
           "contains syntax errors.",
           pump,
           R"({"path":"/code","request_id":"126","method":"thing.model.up_raw",)"
           R"("vendor_message":"script content invalid"})",
           pump_topic}},
         ""},
        {"Device reply to a cloud request [doc 89309] on /thing/service/property/set_reply",
         "/sys/a1X2/pump-7/thing/service/property/set_reply",
         R"({"id":"123","code":200,"data":{}})",
         Status::success,
         "aliyun-4",
         {},
         ""},
        {"device-side common code 460 on property/set_reply: the catalog context of the request "
         "topic /sys/+/+/thing/service/property/set",
         "/sys/a1X2/pump-7/thing/service/property/set_reply",
         R"({"id":"123","code":460,"data":{}})",
         Status::events,
         "aliyun-4",
         {{"460", true,
           "The request parameters are invalid. The device has failed input parameter "
           "verification.",
           pump, R"({"path":"/code","request_id":"123","method":"thing.service.property.set"})",
           pump_topic}},
         ""},
        {"/thing/service/{id}_reply: device-defined errors use 100000-110000",
         "/sys/a1X2/pump-7/thing/service/reboot_reply",
         R"({"id":"127","code":100123,"data":{}})",
         Status::events,
         "aliyun-4",
         {{"100123", true, "Device-specific error messages", pump,
           R"({"path":"/code","request_id":"127","method":"thing.service.reboot"})", pump_topic}},
         ""},
        {"/ext/error [src dm_msg_ext_error_reply]: the topic names the gateway, data the failing "
         "sub-device",
         "/ext/error/a1GW/gw-1",
         R"({"id":"456","code":520,"message":"device session error",)"
         R"("data":{"productKey":"a1Sub","deviceName":"valve-3"}})",
         Status::events,
         "aliyun-2",
         {{"520", true, session,
           R"({"product_key":"a1GW","device_name":"gw-1","sub_product_key":"a1Sub",)"
           R"("sub_device_name":"valve-3"})",
           R"({"path":"/code","request_id":"456","vendor_message":"device session error"})",
           "errors/gw-01/aliyun/a1GW/gw-1"}},
         ""},
        {"combine/login_reply [src dm_msg_combine_login_reply]: sub-device at /data/productKey, "
         "/data/deviceName",
         "/ext/session/a1GW/gw-1/combine/login_reply",
         R"({"id":"456","code":520,"message":"device session error",)"
         R"("data":{"productKey":"a1Sub","deviceName":"valve-3"}})",
         Status::events,
         "aliyun-3",
         {{"520", true, session,
           R"({"product_key":"a1GW","device_name":"gw-1","sub_product_key":"a1Sub",)"
           R"("sub_device_name":"valve-3"})",
           R"({"path":"/code","request_id":"456","vendor_message":"device session error"})",
           "errors/gw-01/aliyun/a1GW/gw-1"}},
         ""},
        {"batch_login_reply: /data is an array of {productKey, deviceName} -> one event each",
         "/ext/session/a1GW/gw-1/combine/batch_login_reply",
         R"({"id":"457","code":520,"message":"device session error","data":[)"
         R"({"productKey":"a1Sub","deviceName":"valve-3"},)"
         R"({"productKey":"a1Sub","deviceName":"valve-4"}]})",
         Status::events,
         "aliyun-3",
         {{"520", true, session,
           R"({"product_key":"a1GW","device_name":"gw-1","sub_product_key":"a1Sub",)"
           R"("sub_device_name":"valve-3"})",
           R"({"path":"/code","request_id":"457","vendor_message":"device session error"})",
           "errors/gw-01/aliyun/a1GW/gw-1"},
          {"520", true, session,
           R"({"product_key":"a1GW","device_name":"gw-1","sub_product_key":"a1Sub",)"
           R"("sub_device_name":"valve-4"})",
           R"({"path":"/code","request_id":"457","vendor_message":"device session error"})",
           "errors/gw-01/aliyun/a1GW/gw-1"}},
         ""},
        {"…/logout_reply: success 200",
         "/ext/session/a1GW/gw-1/combine/logout_reply",
         R"({"id":"458","code":200,"message":"success",)"
         R"("data":{"productKey":"a1Sub","deviceName":"valve-3"}})",
         Status::success,
         "aliyun-3",
         {},
         ""},
        {"Legacy OTA push [wire]: code is a numeric string on the OTA channel, where success is "
         "\"1000\"",
         "/ota/device/upgrade/a1X2/pump-7",
         R"({"code":"1000","data":{"size":3612,"version":"2.0.1",)"
         R"("url":"https://ota.example/fw.bin","md5":"93230c3bde425a9d7984a594ac55ea1e"},)"
         R"("id":1757232295633,"message":"success"})",
         Status::success,
         "aliyun-1",
         {},
         ""},
        {"/ota/device/request/{pk}/{dn} (request and reply on one topic): the SDK's own request "
         "{\"id\":%d,\"params\":{\"version\":\"%s\"}} has no code",
         "/ota/device/request/a1X2/pump-7",
         R"({"id":1757232295633,"params":{"version":"1.0.1"}})",
         Status::no_code,
         "aliyun-1",
         {},
         ""},
        {"\"1000\" is success only on the OTA channel: on /ext/error an unknown code",
         "/ext/error/a1GW/gw-1",
         R"({"id":"459","code":"1000","data":{}})",
         Status::events,
         "aliyun-2",
         {{"1000", false, "code not in the aliyun catalog",
           R"({"product_key":"a1GW","device_name":"gw-1"})",
           R"({"path":"/code","request_id":"459"})", "errors/gw-01/aliyun/a1GW/gw-1"}},
         ""},
        {"message is optional [src]; an empty one says nothing, so the unknown code's fallback",
         "/ext/error/a1GW/gw-1",
         R"({"id":"460","code":"1000","message":"","data":{}})",
         Status::events,
         "aliyun-2",
         {{"1000", false, "code not in the aliyun catalog",
           R"({"product_key":"a1GW","device_name":"gw-1"})",
           R"({"path":"/code","request_id":"460","vendor_message":""})",
           "errors/gw-01/aliyun/a1GW/gw-1"}},
         ""},
        {"The device SDK itself emits malformed JSON for a failed config push: "
         "\"id\":%.*s,\"code\":\"%d\",\"data\":{} with no braces",
         "/sys/a1X2/pump-7/thing/config/push_reply",
         R"("id":123,"code":"400","data":{})",
         Status::dead_letter,
         "aliyun-4",
         {},
         "not_json"},
    };
    for (const auto& row : rows)
        check_row(row);
}

TEST_CASE("Tuya cloud OpenAPI and TuyaLink: every payload shape of FORMATS.md §4", "[decode]") {
    const std::string openapi = "bridge/tuya/openapi/vdevo1234/response";
    const std::string tuya_device = R"({"device_id":"vdevo1234"})";
    const std::string report = "tylink/6c8f0e2a1b/thing/property/report_response";
    const std::string link_device = R"({"device_id":"6c8f0e2a1b"})";
    const std::vector<Row> rows = {
        {"failure [wire, tuya-iot-python-sdk#76]; 1010 is \"token is expired\" in the catalog "
         "while the wire msg says \"token invalid\"",
         openapi,
         R"({"code":1010,"msg":"token invalid","success":false,"t":1721545820202,"tid":"4a45…"})",
         Status::events,
         "tuya-1",
         {{"1010", true, "token is expired", tuya_device,
           R"({"path":"/code","request_id":"4a45…","vendor_message":"token invalid"})",
           "errors/gw-01/tuya/vdevo1234"}},
         ""},
        {"The docs declare code as type String; real responses send numbers",
         openapi,
         R"({"code":"1010","msg":"token invalid","success":false,"t":1721545820202,)"
         R"("tid":"4a45…"})",
         Status::events,
         "tuya-1",
         {{"1010", true, "token is expired", tuya_device,
           R"({"path":"/code","request_id":"4a45…","vendor_message":"token invalid"})",
           "errors/gw-01/tuya/vdevo1234"}},
         ""},
        {"success [doc]: success:true with no code key",
         openapi,
         R"({"result":true,"success":true,"t":1561456817168,"tid":"…"})",
         Status::success,
         "tuya-1",
         {},
         ""},
        {"A failure flag with no code (Tuya success: false) is a dead letter no_code (SPEC §5)",
         openapi,
         R"({"msg":"system error","success":false,"t":1561456817168,"tid":"…"})",
         Status::dead_letter,
         "tuya-1",
         {},
         "no_code"},
        {"A code outside the success set always yields an event; flags decide only without a "
         "code",
         openapi,
         R"({"code":1010,"msg":"token invalid","success":true,"t":1721545820202,"tid":"4a45…"})",
         Status::events,
         "tuya-1",
         {{"1010", true, "token is expired", tuya_device,
           R"({"path":"/code","request_id":"4a45…","vendor_message":"token invalid"})",
           "errors/gw-01/tuya/vdevo1234"}},
         ""},
        {"1003: Tuya cloud \"grant type invalid\"",
         openapi,
         R"({"code":1003,"msg":"grant type invalid","success":false,"t":1721545820202,)"
         R"("tid":"4a46…"})",
         Status::events,
         "tuya-1",
         {{"1003", true, "grant type invalid", tuya_device,
           R"({"path":"/code","request_id":"4a46…","vendor_message":"grant type invalid"})",
           "errors/gw-01/tuya/vdevo1234"}},
         ""},
        {"Codes seen in the wild that are not in seed 001: 28841002 (subscription expired)",
         openapi,
         R"({"code":28841002,"msg":"No permissions. Your subscription to cloud development )"
         R"(plan has expired.","success":false,"t":1721545820202,"tid":"4a47…"})",
         Status::events,
         "tuya-1",
         {{"28841002", true,
           "No permissions. Your subscription to cloud development plan has expired.", tuya_device,
           R"({"path":"/code","request_id":"4a47…","vendor_message":"No permissions. Your )"
           R"(subscription to cloud development plan has expired."})",
           "errors/gw-01/tuya/vdevo1234"}},
         ""},
        {"\"1,000\": a thousands separator from web rendering, never on the wire (SPEC §5)",
         openapi,
         R"({"code":"1,000","msg":"data not exist","success":false,"t":1721545820202})",
         Status::dead_letter,
         "tuya-1",
         {},
         "bad_code"},
        {"TuyaLink [doc device_model]: 0 = success",
         report,
         R"({"msgId":"45lkj3551234***","time":1626197189640,"code":0})",
         Status::success,
         "tuya-link-1",
         {},
         ""},
        {"TuyaLink 1003 = \"数据格式错误\" (data format error), not the cloud's \"grant type "
         "invalid\"",
         report,
         R"({"msgId":"45lkj3551234***","time":1626197189640,"code":1003})",
         Status::events,
         "tuya-link-1",
         {{"1003", true, "data format error", link_device,
           R"({"path":"/code","request_id":"45lkj3551234***"})",
           "errors/gw-01/tuya-link/6c8f0e2a1b"}},
         ""},
        {"device -> cloud reply thing/property/set_response; the SDK uses atoi on code",
         "tylink/6c8f0e2a1b/thing/property/set_response",
         R"({"msgId":"m-77","time":1626197189641,"code":"1004"})",
         Status::events,
         "tuya-link-1",
         {{"1004", true, "no published description", link_device,
           R"({"path":"/code","request_id":"m-77"})", "errors/gw-01/tuya-link/6c8f0e2a1b"}},
         ""},
        {"ext/time/response and ext/file/{upload,download}/response: the second TuyaLink route",
         "tylink/6c8f0e2a1b/ext/file/upload/response",
         R"({"msgId":"m-78","time":1626197189642,"code":1003})",
         Status::events,
         "tuya-link-2",
         {{"1003", true, "data format error", link_device,
           R"({"path":"/code","request_id":"m-78"})", "errors/gw-01/tuya-link/6c8f0e2a1b"}},
         ""},
    };
    for (const auto& row : rows)
        check_row(row);
}

TEST_CASE("Huawei IoTEdge: every payload shape of FORMATS.md §5", "[decode]") {
    const std::string node = "bridge/huawei-iotedge/0b8f7a/edge-nodes/en-7/apps/response";
    const std::string project = "bridge/huawei-iotedge/0b8f7a/nas/response";
    const std::string node_device = R"({"project_id":"0b8f7a","edge_node_id":"en-7"})";
    const std::string project_device = R"({"project_id":"0b8f7a"})";
    const std::string oc = "$oc/devices/gw-dev-1/sys/events/down";
    const std::vector<Row> rows = {
        {"api-iotedge ErrorCode page / Huawei SDK convention: error_code / error_msg",
         node,
         R"({"error_code":"IoTEdge.02100305","error_msg":"The edge node does not existed."})",
         Status::events,
         "huawei-iotedge-2",
         {{"IoTEdge.02100305", true, "The edge node does not existed.", node_device,
           R"({"path":"/error_code","vendor_message":"The edge node does not existed.",)"
           R"("http_status":404})",
           "errors/gw-01/huawei-iotedge/en-7"}},
         ""},
        {"api-iotedge \"返回结果\" page: camelCase keys errorCode / errorMsg (with an ASCII comma)",
         project,
         R"({"errorCode": "IoTEdge.03004005", "errorMsg": "The NA name is already used."})",
         Status::events,
         "huawei-iotedge-3",
         {{"IoTEdge.03004005", true, "The NA name is already used.", project_device,
           R"({"path":"/errorCode","vendor_message":"The NA name is already used.",)"
           R"("http_status":400})",
           "errors/gw-01/huawei-iotedge/0b8f7a"}},
         ""},
        {"... and a full-width comma U+FF0C, so copied verbatim it is not valid JSON",
         project,
         R"({"errorCode": "IoTEdge.03004005"， "errorMsg": "The NA name is already used."})",
         Status::dead_letter,
         "huawei-iotedge-3",
         {},
         "not_json"},
        {"APIGW errors use the same shape ... an extra request_id [wire]; kept as they are, "
         "known: false",
         project,
         R"({"error_msg":"The throttling threshold …","error_code":"APIGW.0308",)"
         R"("request_id":"c506…"})",
         Status::events,
         "huawei-iotedge-3",
         {{"APIGW.0308", false, "The throttling threshold …", project_device,
           R"({"path":"/error_code","request_id":"c506…",)"
           R"("vendor_message":"The throttling threshold …"})",
           "errors/gw-01/huawei-iotedge/0b8f7a"}},
         ""},
        {"Accept both key styles: a body carrying both spellings of one code is one error",
         project,
         R"({"error_code":"IoTEdge.02100305","error_msg":"The edge node does not existed.",)"
         R"("errorCode":"IoTEdge.02100305","errorMsg":"The edge node does not existed."})",
         Status::events,
         "huawei-iotedge-3",
         {{"IoTEdge.02100305", true, "The edge node does not existed.", project_device,
           R"({"path":"/error_code","vendor_message":"The edge node does not existed.",)"
           R"("http_status":404})",
           "errors/gw-01/huawei-iotedge/0b8f7a"}},
         ""},
        {"... also when the two spellings differ (bare 8 digits in one, SPEC §5)",
         project,
         R"({"errorCode":"02100305","error_code":"IoTEdge.02100305"})",
         Status::events,
         "huawei-iotedge-3",
         {{"IoTEdge.02100305", true, "The edge node does not existed.", project_device,
           R"({"path":"/error_code","http_status":404})", "errors/gw-01/huawei-iotedge/0b8f7a"}},
         ""},
        {"... but two different codes under the two key styles are two errors",
         project,
         R"({"error_code":"IoTEdge.02100305","errorCode":"IoTEdge.03004005"})",
         Status::events,
         "huawei-iotedge-3",
         {{"IoTEdge.02100305", true, "The edge node does not existed.", project_device,
           R"({"path":"/error_code","http_status":404})", "errors/gw-01/huawei-iotedge/0b8f7a"},
          {"IoTEdge.03004005", true, "The NA name is already used.", project_device,
           R"({"path":"/errorCode","http_status":400})", "errors/gw-01/huawei-iotedge/0b8f7a"}},
         ""},
        {"Success looks like an HTTP 2xx body, for example {\"result\":\"success\"}, and has no "
         "error key",
         project,
         R"({"result":"success"})",
         Status::no_code,
         "huawei-iotedge-3",
         {},
         ""},
        {"IoTEdge. followed by 8 digits (bare 8 digits accepted, SPEC §5)",
         project,
         R"({"error_code":"02100305","error_msg":"The edge node does not existed."})",
         Status::events,
         "huawei-iotedge-3",
         {{"IoTEdge.02100305", true, "The edge node does not existed.", project_device,
           R"({"path":"/error_code","vendor_message":"The edge node does not existed.",)"
           R"("http_status":404})",
           "errors/gw-01/huawei-iotedge/0b8f7a"}},
         ""},
        {"IoTEdge.00000012 embeds another code in its message. Only the top-level code may be "
         "extracted",
         project,
         R"({"error_code":"IoTEdge.00000012","error_msg":"Failed to invoke the third-party )"
         R"(system. error_code=IoTEdge.02100305,error_msg=The edge node does not existed."})",
         Status::events,
         "huawei-iotedge-3",
         {{"IoTEdge.00000012", true,
           "Failed to invoke the third-party system. error_code=%s,error_msg=%s", project_device,
           R"({"path":"/error_code","vendor_message":"Failed to invoke the third-party system. )"
           R"(error_code=IoTEdge.02100305,error_msg=The edge node does not existed.",)"
           R"("http_status":400})",
           "errors/gw-01/huawei-iotedge/0b8f7a"}},
         ""},
        {"Codes are strings: a JSON number is an impossible type (SPEC §7 bad_code)",
         project,
         R"({"error_code":2100305,"error_msg":"The edge node does not existed."})",
         Status::dead_letter,
         "huawei-iotedge-3",
         {},
         "bad_code"},
        {"$oc/devices/{gw}/sys/events/down -> services[].paras.failed_devices[].error_code for "
         "delete_sub_device_response [doc iot_06_v5_30184]; IOTDA codes are not in the catalog",
         oc,
         R"({"object_device_id":"gw-dev-1","services":[{"service_id":"$sub_device_manager",)"
         R"("event_type":"delete_sub_device_response","event_time":"20151212T121212Z",)"
         R"("event_id":"40cc9ab1-3579-488c-95c6-c18941c99eb4","paras":{"successful_devices":)"
         R"(["gw-dev-1_subdevice11"],"failed_devices":[{"device_id":"gw-dev-1_subdevice12",)"
         R"("error_code":"IOTDA.014016","error_msg":"The device does not exist."},)"
         R"({"device_id":"gw-dev-1_subdevice13","error_code":"IOTDA.013005",)"
         R"("error_msg":"The device is not a child of this gateway."}]}}]})",
         Status::events,
         "huawei-iotedge-1",
         {{"IOTDA.014016", false, "The device does not exist.",
           R"({"device_id":"gw-dev-1","sub_device_id":"gw-dev-1_subdevice12"})",
           R"({"path":"/services/0/paras/failed_devices/0/error_code",)"
           R"("vendor_message":"The device does not exist."})",
           "errors/gw-01/huawei-iotedge/gw-dev-1"},
          {"IOTDA.013005", false, "The device is not a child of this gateway.",
           R"({"device_id":"gw-dev-1","sub_device_id":"gw-dev-1_subdevice13"})",
           R"({"path":"/services/0/paras/failed_devices/1/error_code",)"
           R"("vendor_message":"The device is not a child of this gateway."})",
           "errors/gw-01/huawei-iotedge/gw-dev-1"}},
         ""},
        {"delete_sub_device_response where every sub-device was deleted: no code",
         oc,
         R"({"object_device_id":"gw-dev-1","services":[{"service_id":"$sub_device_manager",)"
         R"("event_type":"delete_sub_device_response","event_time":"20151212T121212Z",)"
         R"("event_id":"40cc9ab1-3579-488c-95c6-c18941c99eb4","paras":{"successful_devices":)"
         R"(["gw-dev-1_subdevice11"],"failed_devices":[]}}]})",
         Status::no_code,
         "huawei-iotedge-1",
         {},
         ""},
    };
    for (const auto& row : rows)
        check_row(row);
}

TEST_CASE("Camera / NVR: every payload shape of FORMATS.md §6", "[decode]") {
    const std::string info = "bridge/camera/192.168.1.64/http/GetDeviceInfo/response";
    const std::string host = R"({"host":"192.168.1.64"})";
    const std::string out = "errors/gw-01/camera/192.168.1.64";
    const std::vector<Row> rows = {
        {"failure (HTTP 400): errorDesc present -> v2.0 firmware",
         info,
         "<?xml version=\"1.0\" encoding=\"utf-8\" ?>\n"
         "<config status=\"failed\" errorCode=\"1\" errorDesc=\"Invalid Request\"/>",
         Status::events,
         "camera-1",
         {{"1", true, "Invalid Request", host,
           R"({"path":"/@errorCode","vendor_message":"Invalid Request","firmware":"v2.0",)"
           R"("captures":{"command":"GetDeviceInfo"}})",
           out}},
         ""},
        {"v1.9 failure (no errorDesc); Code 5: on v1.9 it is \"Network Port Error\"",
         info,
         R"(<config status="failed" errorCode="5"/>)",
         Status::events,
         "camera-1",
         {{"5", true, "Network Port Error", host,
           R"({"path":"/@errorCode","firmware":"v1.9","captures":{"command":"GetDeviceInfo"}})",
           out}},
         ""},
        {"a v2.0-only code without errorDesc still comes from v2.0 firmware (v1.9 has 0-5)",
         info,
         R"(<config status="failed" errorCode="7"/>)",
         Status::events,
         "camera-1",
         {{"7", true, "System Busy", host,
           R"({"path":"/@errorCode","firmware":"v2.0","captures":{"command":"GetDeviceInfo"}})",
           out}},
         ""},
        {"Code 5 ... on v2.0 it is \"Network Limit\", meaning the client is blocked by the "
         "blacklist/whitelist",
         info,
         R"(<config status="failed" errorCode="5" errorDesc="Network Limit"/>)",
         Status::events,
         "camera-1",
         {{"5", true, "Network Limit", host,
           R"({"path":"/@errorCode","vendor_message":"Network Limit","firmware":"v2.0",)"
           R"("captures":{"command":"GetDeviceInfo"}})",
           out}},
         ""},
        {"success, no data",
         info,
         "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<config status=\"success\"/>",
         Status::success,
         "camera-1",
         {},
         ""},
        {"success with data: status is absent on data responses",
         info,
         R"(<config version="2.0.0" xmlns="http://www.ipc.com/ver10"><deviceInfo>)"
         R"(<deviceName>IPC</deviceName></deviceInfo></config>)",
         Status::no_code,
         "camera-1",
         {},
         ""},
        {"camera status=\"failed\" without errorCode is a dead letter no_code (SPEC §5)",
         info,
         R"(<config status="failed"/>)",
         Status::dead_letter,
         "camera-1",
         {},
         "no_code"},
        {"bridge/camera/{host}/http/{Command}/{ch}/response; namespace placement differs "
         "between firmwares",
         "bridge/camera/192.168.1.64/http/GetImageConfig/1/response",
         R"(<config xmlns="http://www.ipc.com/ver10" status="failed" errorCode="3" )"
         R"(errorDesc="Invalid XML Content"/>)",
         Status::events,
         "camera-2",
         {{"3", true, "Invalid XML Content", R"({"host":"192.168.1.64","channel":"1"})",
           R"({"path":"/@errorCode","vendor_message":"Invalid XML Content","firmware":"v2.0",)"
           R"("captures":{"command":"GetImageConfig"}})",
           out}},
         ""},
        {"bridge/camera/{host}/http/{Command}/{ch}/{action}/response; match elements by local "
         "name",
         "bridge/camera/192.168.1.64/http/PtzControl/1/Move/response",
         R"(<ipc:config xmlns:ipc="http://www.ipc.com/ver10" status="failed" errorCode="4" )"
         R"(errorDesc="Permission Denied"/>)",
         Status::events,
         "camera-3",
         {{"4", true, "Permission Denied", R"({"host":"192.168.1.64","channel":"1"})",
           R"({"path":"/@errorCode","vendor_message":"Permission Denied","firmware":"v2.0",)"
           R"("captures":{"command":"PtzControl","action":"Move"}})",
           out}},
         ""},
        {"camera 0 \"Successful\" is a catalog entry of kind success, never emitted as an error",
         info,
         R"(<config status="success" errorCode="0" errorDesc="Successful"/>)",
         Status::success,
         "camera-1",
         {},
         ""},
        {"The device never sends a DOCTYPE. Refuse any DOCTYPE or ENTITY",
         info,
         "<?xml version=\"1.0\"?>\n<!DOCTYPE config [<!ENTITY x \"5\">]>\n"
         "<config status=\"failed\" errorCode=\"&x;\"/>",
         Status::dead_letter,
         "camera-1",
         {},
         "doctype"},
        {"The code is the attribute /config/@errorCode, a decimal string",
         info,
         R"(<config status="failed" errorCode="0x05" errorDesc="Network Limit"/>)",
         Status::dead_letter,
         "camera-1",
         {},
         "bad_code"},
    };
    for (const auto& row : rows)
        check_row(row);
}

TEST_CASE("codes of an impossible type are dead letters, never made-up codes", "[decode]") {
    // SPEC §5: "Booleans, fractions, exponents, null, values beyond int64 -> dead letter
    // bad_code, never wrapped into a catalog hit."
    const std::string topic = "/ext/error/a1GW/gw-1";
    const std::string huawei = "bridge/huawei-iotedge/0b8f7a/nas/response";
    struct Bad {
        std::string topic;
        std::string payload;
        std::string reason;
        std::string detail;  // what the operator reads in the dead letter
    };
    const std::vector<Bad> rows = {
        {topic, R"({"id":"1","code":true,"data":{}})", "bad_code", "code at /code is true"},
        {topic, R"({"id":"1","code":520.0,"data":{}})", "bad_code", "fraction or exponent"},
        {topic, R"({"id":"1","code":5.2e2,"data":{}})", "bad_code", "fraction or exponent"},
        {topic, R"({"id":"1","code":null,"data":{}})", "bad_code", "code at /code is null"},
        {topic, R"({"id":"1","code":9223372036854775808,"data":{}})", "bad_code",
         "9223372036854775808 (beyond int64)"},
        {topic, R"({"id":"1","code":"520 ","data":{}})", "bad_code", "\"520 \", not an integer"},
        {topic, R"({"id":"1","code":"","data":{}})", "bad_code", "\"\", not an integer"},
        {topic, R"({"id":"1","code":{"value":520},"data":{}})", "bad_code", "an object"},
        {topic, R"({"id":"1","code":520,"code":200,"data":{}})", "duplicate_key",
         "key \"code\" appears twice"},
        {topic, R"({"id":"1","code":NaN,"data":{}})", "not_json", "at byte"},
        {topic, R"(["code",520])", "not_object", "not a JSON object"},
        {huawei, R"({"error_code":2100305})", "bad_code",
         "2100305, a number (Huawei codes are strings)"},
        {huawei, R"({"error_code":""})", "bad_code", "\"\", not a Huawei code"},
        // A decoded U+0000 cannot travel as an MQTT 5 user property.
        {huawei, R"({"error_code":"APIGW.0308\u0000"})", "bad_code", "not a Huawei code"},
        // RFC 8259 allows lone surrogate escapes in the grammar, but they are not Unicode
        // text: they would reach events and topics as bytes that are not UTF-8.
        {topic, R"({"id":"1","code":520,"message":"\udc00"})", "not_json", "lone UTF-16"},
        {topic, R"({"id":"1","code":520,"data":{"deviceName":"\udfff"}})", "not_json",
         "lone UTF-16"},
        {topic, R"({"id":"1","code":520,"message":"\ud800"})", "not_json", "surrogate"},
    };
    for (const auto& row : rows) {
        INFO(row.topic << " " << row.payload);
        Decoded d = decode(row.topic, row.payload);
        CHECK(d.status == Status::dead_letter);
        REQUIRE(d.out.size() == 1);
        CHECK(str(d.out[0]["reason"]) == row.reason);
        INFO("detail: " << str(d.out[0]["detail"]));
        CHECK(str(d.out[0]["detail"]).find(row.detail) != std::string::npos);
    }
    // Within int64 both ways: the extremes are codes, if unknown ones. A surrogate pair is
    // fine: it is one code point.
    for (const char* payload : {R"({"code":9223372036854775807})", R"({"code":"-1"})",
                                R"({"code":-9223372036854775808,"message":"\ud83d\ude00"})"}) {
        INFO(payload);
        Decoded d = decode(topic, payload);
        CHECK(d.status == Status::events);
        REQUIRE(d.out.size() == 1);
        CHECK(d.out[0]["known"].GetBool() == false);
    }
    // invalid_topic = "" disables dead letters: still a dead letter for the counters.
    core::Decoder silent(load_default_with("\n[output]\ninvalid_topic = \"\"\n"));
    Decoded quiet = decode(silent, topic, R"({"id":"1","code":true,"data":{}})");
    CHECK(quiet.status == Status::dead_letter);
    CHECK(quiet.reason == core::DeadLetterReason::bad_code);
    CHECK(quiet.out.empty());

    // An empty payload is how MQTT clears a retained message: counted, never a dead letter.
    Decoded empty = decode(topic, "");
    CHECK(empty.status == Status::empty);
    CHECK(empty.out.empty());
}

TEST_CASE("event ids: stable for a redelivered message, distinct per event", "[decode]") {
    // SPEC §6: FNV-1a-64 over route, topic, payload bytes, context.path and the sub-device
    // element: "identical for a redelivered message, distinct for each event of one payload".
    const std::vector<std::pair<std::string, std::string>> messages = {
        {"/neuron/mqtt/modbus-tcp-1/grp-1",
         R"({"node": "modbus-tcp-1", "group": "grp-1", "errors": {"tag1": 3002, "tag2": 3015}})"},
        {"/ext/session/a1GW/gw-1/combine/batch_login_reply",
         R"({"id":"457","code":520,"data":[{"productKey":"a1Sub","deviceName":"valve-3"},)"
         R"({"productKey":"a1Sub","deviceName":"valve-4"},)"
         R"({"productKey":"a1Sub","deviceName":"valve-5"}]})"},
        {"$oc/devices/gw-dev-1/sys/events/down",
         R"({"services":[{"paras":{"failed_devices":[{"device_id":"s1","error_code":"IOTDA.1"},)"
         R"({"device_id":"s2","error_code":"IOTDA.1"}]}}]})"},
    };
    std::set<std::string> all;
    for (const auto& [topic, payload] : messages) {
        INFO(topic << " " << payload);
        Decoded first = decode(topic, payload);
        Decoded again = decode(topic, payload);
        REQUIRE(first.out.size() >= 2);
        REQUIRE(again.out.size() == first.out.size());
        std::set<std::string> ids;
        for (std::size_t i = 0; i < first.out.size(); ++i) {
            const std::string id = str(first.out[i]["id"]);
            CHECK(str(again.out[i]["id"]) == id);
            CHECK(first.out[i].json == again.out[i].json);  // same `now`: byte-identical
            ids.insert(id);
            all.insert(id);
        }
        CHECK(ids.size() == first.out.size());
    }
    CHECK(all.size() == 2 + 3 + 2);

    // The same bytes on another topic, or one byte different, are another message.
    const std::string payload = R"({"id":"456","code":520,"data":{}})";
    const std::string id = str(decode("/ext/error/a1GW/gw-1", payload).out.at(0)["id"]);
    CHECK(str(decode("/ext/error/a1GW/gw-2", payload).out.at(0)["id"]) != id);
    CHECK(str(decode("/ext/error/a1GW/gw-1", R"({"id":"457","code":520,"data":{}})")
                  .out.at(0)["id"]) != id);
}

TEST_CASE("event ids are SPEC §6's FNV-1a whatever the payload's length", "[decode]") {
    // The decoder hashes the payload in 16-byte steps between the pieces of the first event:
    // every length around those steps (and the 8-byte blocks inside them) must give the same
    // hash as the plain byte loop here.
    auto fnv = [](std::string_view bytes, std::uint64_t hash) {
        for (unsigned char c : bytes)
            hash = (hash ^ c) * 0x100000001b3ULL;
        return hash;
    };
    auto expected_id = [&](const std::string& route, const std::string& topic,
                           const std::string& payload, const std::string& path) {
        std::uint64_t hash = 0xcbf29ce484222325ULL;  // FNV-1a-64's offset basis
        for (const std::string* part : {&route, &topic, &payload}) {
            hash = fnv(*part, hash);
            hash = fnv(std::string_view("\0", 1), hash);
        }
        hash = fnv(path, hash);
        char hex[17];
        std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(hash));
        return std::string(hex);
    };
    const std::string topic = "/sys/a1X2/pump-7/thing/event/property/post_reply";
    for (std::size_t n = 0; n <= 70; ++n) {
        const std::string payload = R"({"code":6207,"message":")" + std::string(n, 'x') + "\"}";
        INFO(payload.size() << " bytes: " << payload);
        Decoded d = decode(topic, payload);
        REQUIRE(d.out.size() == 1);
        CHECK(str(d.out[0]["id"]) ==
              expected_id(str(d.out[0].context("route")), topic, payload, "/code"));
    }
    // Each event of a message continues the same prefix with its own path.
    const std::string neuron =
        R"({"node": "modbus-tcp-1", "group": "grp-1", "errors": {"tag1": 3002, "tag2": 3015}})";
    Decoded d = decode("/neuron/mqtt/modbus-tcp-1/grp-1", neuron);
    REQUIRE(d.out.size() == 2);
    for (const auto& event : d.out) {
        CHECK(str(event["id"]) == expected_id(str(event.context("route")),
                                              "/neuron/mqtt/modbus-tcp-1/grp-1", neuron,
                                              str(event.context("path"))));
    }
}

TEST_CASE("emit_success publishes kind success events", "[decode]") {
    core::Decoder decoder(load_default_with("\n[output]\nemit_success = true\n"));
    struct SuccessRow {
        std::string topic;
        std::string payload;
        std::optional<std::string> code;  // null: success decided by a flag, no code
        std::optional<std::string> path;
        std::string output;
    };
    const std::vector<SuccessRow> rows = {
        {"bridge/tuya/openapi/vdevo1234/response",
         R"({"result":true,"success":true,"t":1561456817168,"tid":"…"})", std::nullopt,
         std::nullopt, "errors/gw-01/tuya/vdevo1234"},
        {"/sys/a1X2/pump-7/thing/event/property/post_reply",
         R"({"code":200,"data":{},"id":"123","message":"success",)"
         R"("method":"thing.event.property.post","version":"1.0"})",
         "200", "/code", "errors/gw-01/aliyun/a1X2/pump-7"},
        {"/ota/device/upgrade/a1X2/pump-7", R"({"code":"1000","data":{},"id":1,"message":"ok"})",
         "1000", "/code", "errors/gw-01/aliyun/a1X2/pump-7"},
        {"tylink/6c8f0e2a1b/thing/property/report_response",
         R"({"msgId":"45lkj3551234***","time":1626197189640,"code":0})", "0", "/code",
         "errors/gw-01/tuya-link/6c8f0e2a1b"},
        {"neuron/Rk2xQ9/write/resp", R"({"uuid": "cd32be1b-…", "error": 0})", "0", "/error",
         "errors/gw-01/neuron/Rk2xQ9"},
        {"bridge/camera/192.168.1.64/http/SetImageConfig/response",
         "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<config status=\"success\"/>", std::nullopt,
         std::nullopt, "errors/gw-01/camera/192.168.1.64"},
        {"bridge/camera/192.168.1.64/http/SetImageConfig/response",
         R"(<config status="success" errorCode="0" errorDesc="Successful"/>)", "0", "/@errorCode",
         "errors/gw-01/camera/192.168.1.64"},
    };
    for (const auto& row : rows) {
        INFO(row.topic << " " << row.payload);
        Decoded d = decode(decoder, row.topic, row.payload);
        CHECK(d.status == Status::success);
        REQUIRE(d.out.size() == 1);
        const Published& e = d.out[0];
        CHECK(e.kind == Kind::success);
        CHECK(str(e["kind"]) == "success");
        if (row.code) {
            CHECK(str(e["code"]) == *row.code);
        } else {
            CHECK(e["code"].IsNull());
        }
        if (row.path) {
            CHECK(str(e.context("path")) == *row.path);
        } else {
            CHECK(e.context("path").IsNull());
        }
        CHECK(str(e["category"]) == "success");
        CHECK(str(e["severity"]) == "info");
        CHECK(e["known"].GetBool());
        CHECK(e.topic == row.output);
    }

    // Success is per reply, not per code: a reply with a failed tag publishes its error only.
    Decoded mixed = decode(decoder, "neuron/Rk2xQ9/write/resp",
                           R"({"uuid": "7b0f…", "tags": [{"name": "tag0", "error": 0}, )"
                           R"({"name": "tag1", "error": 3001}]})");
    CHECK(mixed.status == Status::events);
    REQUIRE(mixed.out.size() == 1);
    CHECK(str(mixed.out[0]["kind"]) == "error");
    CHECK(str(mixed.out[0]["code"]) == "3001");

    // Without the option nothing is published for the same replies.
    CHECK(decode(rows[0].topic, rows[0].payload).out.empty());
}

TEST_CASE("raw payload: include_raw and raw_max_bytes on a UTF-8 boundary", "[decode]") {
    const std::string topic = "bridge/tuya/openapi/vdevo1234/response";
    // `{"code":1010,"msg":"` is 20 bytes; 令 occupies bytes 20-22.
    const std::string payload = R"({"code":1010,"msg":"令牌无效","success":false})";
    REQUIRE(payload.substr(0, 20) == R"({"code":1010,"msg":")");
    struct RawRow {
        std::string output;              // [output] keys
        std::optional<std::string> raw;  // null: include_raw = false
        bool truncated;
    };
    const std::vector<RawRow> rows = {
        {"", payload, false},                                 // default 4096: whole
        {"raw_max_bytes = 21", payload.substr(0, 20), true},  // inside 令: cut before it
        {"raw_max_bytes = 22", payload.substr(0, 20), true},
        {"raw_max_bytes = 23", payload.substr(0, 23), true},  // 令 complete
        {"raw_max_bytes = 20", payload.substr(0, 20), true},
        {"raw_max_bytes = 0", std::string(), true},
        {"raw_max_bytes = " + std::to_string(payload.size()), payload, false},
        {"include_raw = false", std::nullopt, false},
    };
    for (const auto& row : rows) {
        INFO("[output] " << row.output);
        core::Decoder decoder(load_default_with("\n[output]\n" + row.output + "\n"));
        Decoded d = decode(decoder, topic, payload);
        REQUIRE(d.out.size() == 1);
        const Published& e = d.out[0];
        if (row.raw) {
            CHECK(str(e["raw"]) == *row.raw);
            CHECK(core::valid_utf8(str(e["raw"])));
        } else {
            CHECK(e["raw"].IsNull());
        }
        CHECK(e["raw_truncated"].GetBool() == row.truncated);
    }

    // Dead letters carry bytes, not text: base64 of exactly the first raw_max_bytes bytes.
    core::Decoder small(load_default_with("\n[output]\nraw_max_bytes = 21\n"));
    const std::string broken = R"({"code":1010,"msg":"令牌无效",})";
    Decoded d = decode(small, topic, broken);
    REQUIRE(d.out.size() == 1);
    CHECK(str(d.out[0]["reason"]) == "not_json");
    CHECK(base64_decode(str(d.out[0]["payload_b64"])) == broken.substr(0, 21));
    CHECK(d.out[0]["payload_truncated"].GetBool());
}

TEST_CASE("route overrides from a TOML config: code, ids, firmware", "[decode]") {
    // SPEC §3: "overrides of the vendor defaults (§5), each replacing the default"; FORMATS §2:
    // Neuron's custom format places ${tag_errors} anywhere, "The daemon needs a configurable
    // pointer for this".
    const std::string toml = R"(site = "plant-a"

[[route]]
name = "neuron-custom"
vendor = "neuron"
topic = "plant/{area}/neuron/{app}/custom"
code = ["/report/tag_errors/*/error"]
ids = { node = "/report/node", line_id = "/line" }

[[route]]
vendor = "aliyun"
topic = "/{product_key}/{device_name}/user/error"
code = ["/result/code"]
ids = { serial = "/result/sn" }

[[route]]
vendor = "camera"
topic = "cams/{host}/reply"
firmware = "v2.0"
)";
    core::Decoder decoder(load(toml));

    Decoded neuron = decode(decoder, "plant/hall-2/neuron/north-1/custom",
                            R"({"line":"L3","report":{"node":"plc-9","tag_errors":[)"
                            R"({"name":"speed","error":3002},{"name":"torque","error":0}]}})");
    CHECK(neuron.route == "neuron-custom");
    REQUIRE(neuron.out.size() == 1);
    const Published& n = neuron.out[0];
    CHECK(str(n["code"]) == "3002");
    CHECK(str(n.context("tag")) == "speed");
    CHECK(str(n.context("path")) == "/report/tag_errors/0/error");
    CHECK(same_json(n["device"], R"({"app":"north-1","node":"plc-9","line_id":"L3"})"));
    CHECK(same_json(n.context("captures"), R"({"area":"hall-2"})"));
    CHECK(n.topic == "errors/plant-a/neuron/plc-9");

    Decoded aliyun = decode(decoder, "/a1X2/pump-7/user/error",
                            R"({"id":"9","code":200,"result":{"code":6813,"sn":"SN-0042"}})");
    CHECK(aliyun.route == "aliyun-1");
    REQUIRE(aliyun.out.size() == 1);
    const Published& a = aliyun.out[0];
    CHECK(str(a["code"]) == "6813");
    CHECK(str(a["message"]) == "topic illegal");
    CHECK(str(a.context("path")) == "/result/code");
    CHECK(same_json(a["device"],
                    R"({"product_key":"a1X2","device_name":"pump-7","serial":"SN-0042"})"));
    CHECK(a.topic == "errors/plant-a/aliyun/a1X2/pump-7");

    // No errorDesc would mean v1.9; the route says the cameras run v2.0.
    Decoded camera =
        decode(decoder, "cams/192.168.1.64/reply", R"(<config status="failed" errorCode="5"/>)");
    REQUIRE(camera.out.size() == 1);
    CHECK(str(camera.out[0]["message"]) == "Network Limit");
    CHECK(str(camera.out[0].context("firmware")) == "v2.0");

    // Routes in the file replace the default routes.
    CHECK(decode(decoder, "/ext/error/a1GW/gw-1", R"({"code":520})").status == Status::unrouted);
}

TEST_CASE("catalog contexts override the message for their request topic", "[decode]") {
    // SPEC §9: "contexts: keyed by the request-topic pattern of the seed, matched against the
    // reply topic with _reply removed; a matching context overrides message and fix."
    const std::string payload = R"({"code":6401,"data":{},"id":"125","version":"1.0"})";
    Decoded pack = decode("/sys/a1GW/gw-1/thing/event/property/pack/post_reply", payload);
    Decoded plain = decode("/sys/a1GW/gw-1/thing/event/property/post_reply", payload);
    REQUIRE(pack.out.size() == 1);
    REQUIRE(plain.out.size() == 1);
    CHECK(str(pack.out[0]["message"]) == "The topological relationship does not exist.");
    CHECK(str(plain.out[0]["message"]) ==
          "The topological relationship does not exist when the system verifies the "
          "topological relationship.");
    CHECK(str(pack.out[0]["fix"]).find("pack/post") != std::string::npos);
    CHECK(str(pack.out[0]["fix"]) != str(plain.out[0]["fix"]));
    CHECK(str(pack.out[0]["category"]) == str(plain.out[0]["category"]));
}

// ---------------------------------------------------------------------------------------
// The schema itself: it must accept what SPEC §6-§8 describe and refuse what they rule out.

namespace {

// SPEC §6's example event, with its elisions filled in.
const char* const good_event = R"({
  "schema": "errbridge/1", "kind": "error", "id": "5f0c2a9b7d1e4c33",
  "ts": "2026-11-22T10:15:02.123Z", "site": "plant-a", "vendor": "aliyun", "code": "6207",
  "known": true, "category": "payload-format", "severity": "error", "retryable": false,
  "message": "The Alink data ... is not in the JSON format.",
  "fix": "Report data in the Alink JSON format ...",
  "device": {"product_key": "a1X2", "device_name": "pump-7"},
  "context": {"route": "aliyun-replies",
              "topic": "/sys/a1X2/pump-7/thing/event/property/post_reply",
              "path": "/code", "request_id": "123", "method": "thing.event.property.post",
              "vendor_message": "request parameter error", "tag": null, "firmware": null,
              "http_status": null, "captures": {}},
  "repeats": 0,
  "raw": "{\"id\":\"123\",\"code\":6207}",
  "raw_truncated": false
})";

const char* const good_dead_letter = R"({
  "schema": "errbridge/1", "dead_letter": true, "reason": "not_json", "route": "huawei-iotedge-3",
  "topic": "bridge/huawei-iotedge/0b8f7a/nas/response", "ts": "2026-11-22T10:15:02.123Z",
  "payload_b64": "eyJlcnJvckNvZGUiOg==", "payload_truncated": true,
  "detail": "Missing a comma or '}' after an object member. at byte 32"
})";

// `good` with the member at `pointer` replaced by `value` (JSON), or removed when empty.
std::string mutate(const char* good, const char* pointer, const char* value) {
    rapidjson::Document doc;
    doc.Parse(good);
    REQUIRE_FALSE(doc.HasParseError());
    rapidjson::Pointer p(pointer);
    REQUIRE(p.IsValid());
    if (std::string(value).empty()) {
        REQUIRE(p.Erase(doc));
    } else {
        rapidjson::Document v(&doc.GetAllocator());
        v.Parse(value);
        REQUIRE_FALSE(v.HasParseError());
        p.Set(doc, v);
    }
    return to_json(doc);
}

std::string summary_of(const char* event) {
    std::string s = mutate(event, "/repeats", "41");
    s = mutate(s.c_str(), "/first_ts", R"("2026-11-22T10:15:03.000Z")");
    return mutate(s.c_str(), "/last_ts", R"("2026-11-22T10:16:01.999Z")");
}

}  // namespace

TEST_CASE("the schema accepts the three shapes of SPEC §6-§8", "[schema]") {
    CHECK(schema_violation(good_event) == "");
    CHECK(schema_violation(good_dead_letter) == "");
    CHECK(schema_violation(summary_of(good_event)) == "");
    // Unknown code: category unknown, severity warning, retryable null (SPEC §6).
    std::string unknown = mutate(good_event, "/known", "false");
    unknown = mutate(unknown.c_str(), "/category", R"("unknown")");
    unknown = mutate(unknown.c_str(), "/severity", R"("warning")");
    unknown = mutate(unknown.c_str(), "/retryable", "null");
    CHECK(schema_violation(unknown) == "");
    // emit_success without a code: code and path null.
    std::string success = mutate(good_event, "/kind", R"("success")");
    success = mutate(success.c_str(), "/code", "null");
    success = mutate(success.c_str(), "/category", R"("success")");
    success = mutate(success.c_str(), "/severity", R"("info")");
    success = mutate(success.c_str(), "/context/path", "null");
    CHECK(schema_violation(success) == "");
    // include_raw = false; a camera event with its firmware; a Huawei HTTP status.
    CHECK(schema_violation(mutate(good_event, "/raw", "null")) == "");
    CHECK(schema_violation(mutate(good_event, "/context/firmware", R"("v1.9")")) == "");
    CHECK(schema_violation(mutate(good_event, "/context/http_status", "404")) == "");
}

TEST_CASE("the schema refuses broken events, summaries and dead letters", "[schema]") {
    struct Broken {
        std::string what;
        std::string json;
        std::string mentions;  // the violation names the culprit
    };
    const std::string summary = summary_of(good_event);
    const std::vector<Broken> rows = {
        {"every context key is present, null when absent", mutate(good_event, "/context/tag", ""),
         "\"tag\""},
        {"severity ∈ info, warning, error, critical", mutate(good_event, "/severity", R"("fatal")"),
         "/severity"},
        {"category comes from the taxonomy of catalog/README.md",
         mutate(good_event, "/category", R"("network")"), "/category"},
        {"id: 16 hex digits, lower case", mutate(good_event, "/id", R"("5F0C2A9B7D1E4C33")"),
         "/id"},
        {"id: 16 hex digits", mutate(good_event, "/id", R"("5f0c2a9b7d1e4c3g")"), "/id"},
        {"id: 16 hex digits, not 15", mutate(good_event, "/id", R"("5f0c2a9b7d1e4c3")"), "/id"},
        {"the event is a closed shape", mutate(good_event, "/vendor_code", R"("6207")"),
         "\"vendor_code\""},
        {"the context is a closed shape", mutate(good_event, "/context/extra", "1"), "\"extra\""},
        {"ts: ISO 8601 with milliseconds and Z",
         mutate(good_event, "/ts", R"("2026-11-22T10:15:02Z")"), "/ts"},
        {"ts: UTC only", mutate(good_event, "/ts", R"("2026-11-22T10:15:02.123+08:00")"), "/ts"},
        {"code is always a string", mutate(good_event, "/code", "6207"), "/code"},
        {"an error event has a code", mutate(good_event, "/code", "null"), "kind_rule"},
        {"an unknown code has category unknown", mutate(good_event, "/known", "false"),
         "known_rule"},
        {"repeats is 0 on an event", mutate(good_event, "/repeats", "2"), "/repeats"},
        {"device values are strings", mutate(good_event, "/device/channel", "2"), "/device"},
        {"http_status is an integer", mutate(good_event, "/context/http_status", R"("404")"),
         "/context/http_status"},
        {"a summary's repeats > 0", mutate(summary.c_str(), "/repeats", "0"), "/repeats"},
        {"a summary has last_ts", mutate(summary.c_str(), "/last_ts", ""), "\"last_ts\""},
        {"a dead letter's reason is one of SPEC §7",
         mutate(good_dead_letter, "/reason", R"("unparseable")"), "/reason"},
        {"a dead letter is a closed shape", mutate(good_dead_letter, "/code", R"("6207")"),
         "\"code\""},
        {"a dead letter has detail", mutate(good_dead_letter, "/detail", ""), "\"detail\""},
        {"payload_b64 is base64", mutate(good_dead_letter, "/payload_b64", R"("{not base64}")"),
         "/payload_b64"},
        {"dead_letter is true", mutate(good_dead_letter, "/dead_letter", "false"), "/dead_letter"},
        {"not JSON at all", "{\"schema\":", "not JSON"},
    };
    for (const auto& row : rows) {
        INFO(row.what << "\n" << row.json);
        const std::string violation = schema_violation(row.json);
        INFO("violation: " << violation);
        CHECK_FALSE(violation.empty());
        CHECK(violation.find(row.mentions) != std::string::npos);
    }
}

TEST_CASE("ids from the payload become exactly one topic level in {device}", "[decode][vendor]") {
    // Config refuses templates whose own text would make an empty level or hold `+`/`#`, so
    // what reaches a topic from {device} is only as safe as the ids sanitised into it.
    const std::string toml = R"(site = "plant-a"

[[route]]
vendor = "aliyun"
topic = "/{product_key}/{device_name}/user/error"
code = ["/code"]
ids = { serial = "/sn" }
device = "{product_key}/{serial}"
)";
    core::Decoder decoder(load(toml));
    auto topic_of = [&](const std::string& sn_json) {
        Decoded d =
            decode(decoder, "/a1X2/pump-7/user/error", R"({"code":6207,"sn":)" + sn_json + "}");
        REQUIRE(d.out.size() == 1);
        return d.out[0].topic;
    };
    CHECK(topic_of(R"("SN-1")") == "errors/plant-a/aliyun/a1X2/SN-1");
    CHECK(topic_of(R"("a/b+c#d")") == "errors/plant-a/aliyun/a1X2/a_b_c_d");
    CHECK(topic_of(R"("x\u0000y")") == "errors/plant-a/aliyun/a1X2/x_y");
    CHECK(topic_of(R"("/")") == "errors/plant-a/aliyun/a1X2/_");
    CHECK(topic_of(R"("0123456789abcdef/0123456789abcdef+")") ==
          "errors/plant-a/aliyun/a1X2/0123456789abcdef_0123456789abcdef_");
    // An empty id leaves the template without a value: its level becomes `_`.
    CHECK(topic_of(R"("")") == "errors/plant-a/aliyun/a1X2/_");
}

TEST_CASE("captures become exactly one topic level in {device} and the output topic",
          "[decode][vendor]") {
    // A publish topic never holds `+`, `#` or NUL through a broker, but `errbridge decode`
    // and the fuzzer take any text: a capture holding one is sanitised like a payload id,
    // whether it reaches the topic through {device} or by its own name.
    const std::string toml = R"(site = "plant-a"

[[route]]
vendor = "aliyun"
topic = "/{product_key}/{device_name}/user/{kind}"
code = ["/code"]
device = "{product_key}/{device_name}"

[output]
topic = "errors/{site}/{device}/{kind}"
)";
    core::Decoder decoder(load(toml));
    auto topic_of = [&](const std::string& topic) {
        Decoded d = decode(decoder, topic, R"({"code":6207})");
        REQUIRE(d.out.size() == 1);
        return d.out[0].topic;
    };
    CHECK(topic_of("/a1X2/pump-7/user/error") == "errors/plant-a/a1X2/pump-7/error");
    CHECK(topic_of("/a1X2/pu+mp/user/error") == "errors/plant-a/a1X2/pu_mp/error");
    CHECK(topic_of("/a1X2/pump-7/user/e#r") == "errors/plant-a/a1X2/pump-7/e_r");
    CHECK(topic_of(std::string("/a1X2/pu\0mp/user/error", 22)) ==
          "errors/plant-a/a1X2/pu_mp/error");
    // A `+` elsewhere in the topic (here in the product key) leaves the other levels alone.
    CHECK(topic_of("/a+X2/pump-7/user/error") == "errors/plant-a/a_X2/pump-7/error");
    // An empty capture: the template has no complete value, its level becomes `_`.
    CHECK(topic_of("/a1X2//user/error") == "errors/plant-a/a1X2/_/error");
}
