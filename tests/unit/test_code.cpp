#include <catch2/catch.hpp>

#include "errbridge/catalog/code.h"

using namespace errbridge::catalog;

TEST_CASE("numeric wire codes follow ^-?[0-9]+$ within int64", "[code]") {
    struct Row {
        const char* text;
        std::optional<std::int64_t> key;
    };
    const Row rows[] = {
        {"6207", 6207},
        {"0", 0},
        {"-1", -1},
        {"1000", 1000},
        {"9223372036854775807", INT64_MAX},
        {"9223372036854775808", std::nullopt},  // beyond int64
        {"1,000", std::nullopt},                // documentation artefact, not wire
        {"", std::nullopt},
        {"-", std::nullopt},
        {"12a", std::nullopt},
        {" 12", std::nullopt},
        {"1e3", std::nullopt},
        {"1.0", std::nullopt},
        {"+5", std::nullopt},
    };
    for (const auto& row : rows) {
        INFO(row.text);
        CHECK(parse_wire_code(CodeStyle::numeric, row.text) == row.key);
    }
}

TEST_CASE("Huawei wire codes are IoTEdge. plus 8 digits, or the bare digits", "[code]") {
    CHECK(parse_wire_code(CodeStyle::huawei, "IoTEdge.02100305") == 2100305);
    CHECK(parse_wire_code(CodeStyle::huawei, "02100305") == 2100305);
    CHECK(parse_wire_code(CodeStyle::huawei, "IoTEdge.00000001") == 1);
    CHECK_FALSE(parse_wire_code(CodeStyle::huawei, "iotedge.02100305"));  // wire is exact
    CHECK_FALSE(parse_wire_code(CodeStyle::huawei, "IoTEdge.0210030"));
    CHECK_FALSE(parse_wire_code(CodeStyle::huawei, "APIGW.0308"));
    CHECK_FALSE(parse_wire_code(CodeStyle::huawei, "IOTDA.013005"));
    CHECK_FALSE(parse_wire_code(CodeStyle::huawei, "2100305"));
}

TEST_CASE("typed codes accept what people copy from documents", "[code]") {
    CHECK(parse_typed_code(CodeStyle::numeric, "1,000") == 1000);
    CHECK(parse_typed_code(CodeStyle::numeric, "28,841,002") == 28841002);
    CHECK(parse_typed_code(CodeStyle::numeric, " 6207 ") == 6207);
    CHECK_FALSE(parse_typed_code(CodeStyle::numeric, "10,01"));
    CHECK_FALSE(parse_typed_code(CodeStyle::numeric, ",100"));
    CHECK_FALSE(parse_typed_code(CodeStyle::numeric, "1000,"));
    CHECK(parse_typed_code(CodeStyle::huawei, "iotedge.02100305") == 2100305);
    CHECK(parse_typed_code(CodeStyle::huawei, "02100305") == 2100305);
}

TEST_CASE("canonical spellings", "[code]") {
    CHECK(canonical_code(CodeStyle::numeric, 1000) == "1000");
    CHECK(canonical_code(CodeStyle::numeric, -3) == "-3");
    CHECK(canonical_code(CodeStyle::huawei, 2100305) == "IoTEdge.02100305");
    CHECK(canonical_code(CodeStyle::huawei, 1) == "IoTEdge.00000001");
}
