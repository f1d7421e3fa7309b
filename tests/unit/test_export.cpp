#include <catch2/catch.hpp>
#include <sstream>

#include "errbridge/catalog/export.h"

using namespace errbridge::catalog;

namespace {
std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);)
        lines.push_back(line);
    return lines;
}
}  // namespace

TEST_CASE("JSON export: one line per code, seed ranges expanded, open ranges not", "[export]") {
    Catalog catalog = Catalog::built_in();
    auto neuron = lines_of(export_catalog(catalog, "neuron", ExportFormat::json, Lang::en));
    std::size_t in_range = 0;
    for (const auto& line : neuron) {
        if (line.find("\"message\":\"EtherNet/IP error\"") != std::string::npos) ++in_range;
    }
    CHECK(in_range == 44);
    CHECK(std::find(neuron.begin(), neuron.end(),
                    R"({"vendor":"neuron","code":"10701","kind":"error",)"
                    R"("category":"field-protocol",)") == neuron.end());  // sanity: prefix only

    auto aliyun = lines_of(export_catalog(catalog, "aliyun", ExportFormat::json, Lang::en));
    std::size_t open_ranges = 0;
    for (const auto& line : aliyun) {
        if (line.find("\"code_range\":[100000,110000]") != std::string::npos) ++open_ranges;
    }
    CHECK(open_ranges == 1);
    REQUIRE_FALSE(aliyun.empty());
    CHECK(aliyun.front().rfind(R"({"vendor":"aliyun","code":")", 0) == 0);
}

TEST_CASE("export in zh uses the Chinese text where the catalog has it", "[export]") {
    Catalog catalog = Catalog::built_in();
    auto zh = export_catalog(catalog, "huawei-iotedge", ExportFormat::json, Lang::zh);
    CHECK(zh.find(R"("code":"IoTEdge.02100305")") != std::string::npos);
    CHECK(zh.find("边缘节点不存在。") != std::string::npos);
    auto en = export_catalog(catalog, "huawei-iotedge", ExportFormat::json, Lang::en);
    CHECK(en.find("边缘节点不存在。") == std::string::npos);
}

TEST_CASE("CSV export quotes fields with commas and quotes", "[export]") {
    Catalog catalog = Catalog::built_in();
    auto csv = lines_of(export_catalog(catalog, "tuya", ExportFormat::csv, Lang::en));
    REQUIRE(csv.size() > 80);
    CHECK(csv[0] == "vendor,code,code_range,kind,category,severity,retryable,message,fix,source");
    bool found = false;
    for (const auto& line : csv) {
        if (line.rfind("tuya,1000,,error,", 0) == 0) found = true;
    }
    CHECK(found);
}
