// Every quirk of SPEC §5 is data in the catalog files, not a code path: these tests pin
// them down so an edit of the data cannot silently drop one.

#include <catch2/catch.hpp>

#include "errbridge/catalog/catalog.h"
#include "errbridge/catalog/code.h"

using namespace errbridge::catalog;

namespace {

const Catalog& builtin() {
    static const Catalog catalog = Catalog::built_in();
    return catalog;
}

const Entry& entry(const char* vendor, std::int64_t key) {
    const Entry* found = builtin().find(vendor, key);
    INFO(vendor << " " << key);
    REQUIRE(found != nullptr);
    return *found;
}

bool has_variant(const Entry& e, const std::string& fragment) {
    for (const auto& v : e.variants) {
        if (v.message.find(fragment) != std::string::npos) return true;
    }
    return false;
}

}  // namespace

TEST_CASE("Tuya 1,000 is code 1000 with its document spelling as an alias", "[quirks]") {
    const Entry& e = entry("tuya", *parse_typed_code(CodeStyle::numeric, "1,000"));
    CHECK(e.code == "1000");
    CHECK(e.message.en == "data not exist");
    CHECK(std::find(e.aliases.begin(), e.aliases.end(), "1,000") != e.aliases.end());
}

TEST_CASE("Tuya 1010's wire text is a variant of the catalog text", "[quirks]") {
    const Entry& e = entry("tuya", 1010);
    CHECK(e.message.en == "token is expired");
    CHECK(has_variant(e, "token invalid"));
}

TEST_CASE("Neuron 10701-10744 is one expanded range covering every code", "[quirks]") {
    for (std::int64_t code = 10701; code <= 10744; ++code) {
        INFO(code);
        const Entry& e = entry("neuron", code);
        CHECK(e.is_range);
        CHECK(e.expand);
        CHECK(e.message.en == "EtherNet/IP error");
    }
    CHECK(builtin().find("neuron", 10700) == nullptr);
    CHECK(builtin().find("neuron", 10745) == nullptr);
    CHECK(entry("neuron", 10797).message.en == "EtherNet/IP has no CIP connection");
}

TEST_CASE("Neuron numbers reused by newer releases carry variants", "[quirks]") {
    CHECK(entry("neuron", 1017).message.en == "Username is invalid");
    CHECK_FALSE(entry("neuron", 1017).variants.empty());
    CHECK_FALSE(entry("neuron", 1018).variants.empty());
    CHECK_FALSE(entry("neuron", 3008).variants.empty());
    CHECK_FALSE(entry("neuron", 2014).variants.empty());
}

TEST_CASE("Huawei: first copy of the duplicated table wins, with HTTP status", "[quirks]") {
    const Entry& e = entry("huawei-iotedge", 2100211);
    CHECK(e.code == "IoTEdge.02100211");
    CHECK(e.message.en == "The app does not support this node's architecture.");
    CHECK(has_variant(e, "this node's arch."));
    CHECK(e.http_status == 400);
    CHECK(entry("huawei-iotedge", 2100305).http_status == 404);
    CHECK(entry("huawei-iotedge", 2100305).message.zh == "边缘节点不存在。");
    CHECK(entry("huawei-iotedge", 1).http_status == 500);
    // Only in the first copy.
    CHECK(entry("huawei-iotedge", 2102406).message.en == "The request is invalid, %s.");
}

TEST_CASE("Alibaba bare system-error codes take 6318's text, older texts as variants", "[quirks]") {
    const Entry& system_error = entry("aliyun", 6318);
    for (std::int64_t code : {6313, 6329, 6323, 6316, 6314}) {
        INFO(code);
        CHECK(entry("aliyun", code).message.en == system_error.message.en);
    }
    CHECK(has_variant(entry("aliyun", 6329), "array spec"));
    CHECK(has_variant(entry("aliyun", 6323), "TSL parameter type"));
    CHECK(has_variant(entry("aliyun", 6316), "parsing TSL parameters"));
    CHECK(has_variant(entry("aliyun", 6314), "data type not supported"));
}

TEST_CASE("Alibaba 6301 has two meanings; 6200 and 6201 come from the older docs", "[quirks]") {
    const Entry& e6301 = entry("aliyun", 6301);
    CHECK(e6301.message.en.find("array") != std::string::npos);
    CHECK(e6301.variants.size() >= 2);
    CHECK(has_variant(e6301, "error verifying input parameter type"));
    const Vendor& aliyun = *builtin().vendor("aliyun");
    for (std::int64_t code : {6200, 6201}) {
        const Entry& e = entry("aliyun", code);
        CHECK(e.source != entry("aliyun", 6207).source);
        CHECK(aliyun.sources.count(e.source) == 1);
    }
    CHECK(entry("aliyun", 6200).message.en.find("script") != std::string::npos);
}

TEST_CASE("Alibaba request-topic contexts override the cause for that topic", "[quirks]") {
    const Entry& e = entry("aliyun", 6401);
    REQUIRE_FALSE(e.contexts.empty());
    const Context* pack = e.context_for("/sys/a1X2/gw-1/thing/event/property/pack/post");
    REQUIRE(pack != nullptr);
    CHECK(pack->message.en == "The topological relationship does not exist.");
    CHECK(e.context_for("/sys/a1X2/gw-1/thing/event/property/post") == nullptr);
}

TEST_CASE("Alibaba device-defined codes are an open range, OTA success is not an entry",
          "[quirks]") {
    const Entry& e = entry("aliyun", 100500);
    CHECK(e.is_range);
    CHECK_FALSE(e.expand);
    CHECK(e.range_lo == 100000);
    CHECK(e.range_hi == 110000);
    CHECK(builtin().find("aliyun", 200) == nullptr);
}

TEST_CASE("camera: 0 is a success entry, 5 differs per firmware, >= 6 is v2.0 only", "[quirks]") {
    const Entry& ok = entry("camera", 0);
    CHECK(ok.kind == Kind::success);
    CHECK(ok.category == "success");
    const Entry& e5 = entry("camera", 5);
    REQUIRE(e5.meaning_on("v1.9"));
    REQUIRE(e5.meaning_on("v2.0"));
    CHECK(e5.meaning_on("v1.9")->message.en == "Network Port Error");
    CHECK(e5.meaning_on("v2.0")->message.en == "Network Limit");
    for (const auto& e : builtin().vendor("camera")->entries) {
        INFO(e.code);
        if (e.range_lo >= 6) {
            REQUIRE(e.firmware.size() == 1);
            CHECK(e.firmware[0].firmware == "v2.0");
        }
    }
}

TEST_CASE("codes without any published text say so", "[quirks]") {
    CHECK(entry("tuya", 1114).message.en == "no published description");
    CHECK(entry("tuya-link", 1004).message.en == "no published description");
}

TEST_CASE("extras beyond the seeds carry their own source", "[quirks]") {
    struct Row {
        const char* vendor;
        std::int64_t code;
    };
    const Row rows[] = {{"neuron", 1019},   {"neuron", 2016},   {"neuron", 2211},
                        {"neuron", 3019},   {"neuron", 4014},   {"neuron", 4200},
                        {"aliyun", 6813},   {"aliyun", 6452},   {"aliyun", 9200},
                        {"aliyun", 9201},   {"aliyun", 527},    {"tuya", 2401},
                        {"tuya", 2406},     {"tuya", 28841002}, {"tuya", 28841101},
                        {"tuya", 28841105}, {"tuya-link", 1003}};
    for (const auto& row : rows) {
        INFO(row.vendor << " " << row.code);
        const Entry& e = entry(row.vendor, row.code);
        CHECK(builtin().vendor(row.vendor)->sources.count(e.source) == 1);
    }
    CHECK(entry("aliyun", 6813).message.en == "topic illegal");
}

TEST_CASE("fixes are specific: no fix text is shared by more than a few codes", "[quirks]") {
    for (const auto& vendor : builtin().vendors()) {
        std::map<std::string, int> uses;
        for (const auto& e : vendor.entries)
            ++uses[e.fix.en];
        for (const auto& [fix, count] : uses) {
            INFO(vendor.id << ": " << fix);
            CHECK(count <= 3);
        }
    }
}
