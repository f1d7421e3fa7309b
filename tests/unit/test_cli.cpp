// The CLI through its library entry point: what a user types and what they see.

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "errbridge/cli/cli.h"
#include "errbridge/config/subscriptions.h"

namespace {

struct Result {
    int status;
    std::string out;
    std::string err;
};

Result run(std::vector<std::string> args) {
    args.insert(args.begin(), "errbridge");
    std::vector<char*> argv;
    for (auto& arg : args)
        argv.push_back(arg.data());
    std::ostringstream out, err;
    int status = errbridge::cli::run(static_cast<int>(argv.size()), argv.data(), out, err);
    return {status, out.str(), err.str()};
}

}  // namespace

TEST_CASE("explain accepts codes as vendors write them", "[cli]") {
    auto tuya = run({"explain", "tuya", "1,000"});
    CHECK(tuya.status == 0);
    CHECK(tuya.out.rfind("tuya 1000", 0) == 0);
    CHECK(tuya.out.find("message:     data not exist") != std::string::npos);

    auto huawei = run({"explain", "huawei-iotedge", "02100305"});
    CHECK(huawei.status == 0);
    CHECK(huawei.out.rfind("huawei-iotedge IoTEdge.02100305", 0) == 0);
    CHECK(huawei.out.find("http status: 404") != std::string::npos);
    auto prefixed = run({"explain", "huawei-iotedge", "IoTEdge.02100305"});
    CHECK(prefixed.out == huawei.out);

    auto zh = run({"explain", "huawei-iotedge", "IoTEdge.02100305", "--lang", "zh"});
    CHECK(zh.out.find("边缘节点不存在。") != std::string::npos);
}

TEST_CASE("explain shows firmware meanings and variants", "[cli]") {
    auto camera = run({"explain", "camera", "5"});
    CHECK(camera.status == 0);
    CHECK(camera.out.find("v1.9") != std::string::npos);
    CHECK(camera.out.find("Network Limit") != std::string::npos);
    auto neuron = run({"explain", "neuron", "1017"});
    CHECK(neuron.out.find("variants") != std::string::npos);
}

TEST_CASE("explain --json is one JSON object with every field", "[cli]") {
    auto r = run({"explain", "aliyun", "6207", "--json"});
    CHECK(r.status == 0);
    CHECK(r.out.rfind(R"({"vendor":"aliyun","code":"6207","kind":"error",)", 0) == 0);
    for (const char* key : {"\"category\":", "\"severity\":", "\"retryable\":", "\"fix\":",
                            "\"source\":", "\"contexts\":", "\"firmware\":", "\"variants\":"}) {
        CHECK(r.out.find(key) != std::string::npos);
    }
}

TEST_CASE("explain: unknown vendor or code is a clear message and exit 1", "[cli]") {
    auto vendor = run({"explain", "siemens", "42"});
    CHECK(vendor.status == 1);
    CHECK(vendor.err.rfind("errbridge: unknown vendor \"siemens\"; known: aliyun,", 0) == 0);
    auto code = run({"explain", "tuya", "424242"});
    CHECK(code.status == 1);
    CHECK(code.err.rfind("errbridge: tuya code 424242 is not in the catalog;", 0) == 0);
    auto malformed = run({"explain", "huawei-iotedge", "APIGW.0308"});
    CHECK(malformed.status == 1);
    CHECK(malformed.err ==
          "errbridge: \"APIGW.0308\" is not a huawei-iotedge code (expected IoTEdge.NNNNNNNN or "
          "NNNNNNNN)\n");
}

TEST_CASE("usage errors exit 2 and every command has --help", "[cli]") {
    CHECK(run({}).status == 2);
    CHECK(run({"frobnicate"}).status == 2);
    CHECK(run({"explain", "tuya"}).status == 2);
    CHECK(run({"explain", "tuya", "1010", "--lang", "fr"}).status == 2);
    CHECK(run({"catalog", "--format", "xml"}).status == 2);
    CHECK(run({"catalog", "--bogus"}).status == 2);
    for (const char* command : {"explain", "catalog", "version"}) {
        auto help = run({command, "--help"});
        CHECK(help.status == 0);
        CHECK(help.out.rfind("usage: errbridge", 0) == 0);
    }
    CHECK(run({"--help"}).status == 0);
}

TEST_CASE("version and catalog", "[cli]") {
    auto version = run({"version"});
    CHECK(version.status == 0);
    CHECK(version.out.rfind("errbridge ", 0) == 0);
    auto catalog = run({"catalog", "--vendor", "camera", "--format", "csv"});
    CHECK(catalog.status == 0);
    CHECK(catalog.out.find("\ncamera,0,,success,success,info,false,Successful,") !=
          std::string::npos);
    CHECK(run({"catalog", "--vendor", "nope"}).status == 1);
}

TEST_CASE("check lists routes, subscriptions and output topics of the example", "[cli]") {
    std::string example = std::string(ERRBRIDGE_SOURCE_DIR) + "/config/examples/errbridge.toml";
    auto r = run({"check", "-c", example});
    CHECK(r.status == 0);
    CHECK(r.out.rfind("OK " + example + "\n", 0) == 0);
    CHECK(
        r.out.find("  [id " +
                   std::to_string(errbridge::config::subscription_identifier("/sys/+/+/thing/#")) +
                   "] /sys/+/+/thing/#  (aliyun-replies)\n") != std::string::npos);
    CHECK(r.out.find("  errbridge/errbridge-plant-a/probe  (connection probe, never routed)") !=
          std::string::npos);
    CHECK(r.out.find("events        errors/{site}/{vendor}/{device} (QoS 1)") != std::string::npos);
}

TEST_CASE("check prints every problem and exits 2", "[cli]") {
    auto path = std::filesystem::temp_directory_path() / "errbridge-cli-check.toml";
    std::ofstream(path) << "[broker]\nkeepalive = 3\n[output]\nqos = 7\n";
    auto r = run({"check", "--config", path.string()});
    CHECK(r.status == 2);
    CHECK(r.err == path.string() +
                       ":2: broker.keepalive: unknown key (did you mean keepalive_s?)\n" +
                       path.string() + ":4: output.qos: must be between 0 and 2, got 7\n");
    std::filesystem::remove(path);
    auto missing = run({"check", "-c", "/nonexistent/errbridge.toml"});
    CHECK(missing.status == 2);
    CHECK(missing.err.find("cannot read") != std::string::npos);
}
