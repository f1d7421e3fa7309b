// The config as an operator meets it: every mistake reported once, at its line, word for
// word; the shipped example and the embedded default both load.

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <map>

#include "errbridge/config/load.h"
#include "test_env.h"

using namespace errbridge::config;
namespace fs = std::filesystem;

namespace {

std::vector<std::string> problems_of(const std::string& toml,
                                     const Environment& env = errbridge::test::environment()) {
    try {
        load_config_text(toml, "site.toml", env);
    } catch (const ConfigError& e) {
        std::vector<std::string> lines;
        for (const auto& p : e.problems())
            lines.push_back(p.format());
        return lines;
    }
    return {};
}

const std::string route =
    "[[route]]\nvendor = \"aliyun\"\ntopic = \"/ext/error/{product_key}/{device_name}\"\n";

}  // namespace

TEST_CASE("each config mistake yields one precise message at its line", "[config]") {
    struct Row {
        std::string toml;
        std::string message;
    };
    const Row rows[] = {
        // 1. a typo in a key
        {"[broker]\nuri = \"tcp://127.0.0.1:1883\"\nkeepalive = 30\n",
         "site.toml:3: broker.keepalive: unknown key (did you mean keepalive_s?)"},
        // 2. a wrong type
        {"[broker]\n\nkeepalive_s = \"30\"\n",
         "site.toml:3: broker.keepalive_s: expected an integer, got a string"},
        // 3. out of range
        {"[output]\nqos = 3\n", "site.toml:2: output.qos: must be between 0 and 2, got 3"},
        // 4. a URI scheme the client cannot speak
        {"[broker]\nuri = \"http://broker:1883\"\n",
         "site.toml:2: broker.uri: scheme must be tcp, ssl, mqtts, ws or wss, got \"http\""},
        // 5. a bad port
        {"[broker]\nuri = \"tcp://broker:88888\"\n",
         "site.toml:2: broker.uri: port must be 1-65535, got \"88888\""},
        // 6. a route without its vendor: reported at the [[route]] header
        {"site = \"a\"\n\n[[route]]\ntopic = \"x/y\"\n",
         "site.toml:3: route[1].vendor: required key is missing"},
        // 7. an unknown vendor
        {"[[route]]\nvendor = \"siemens\"\ntopic = \"x/y\"\n",
         "site.toml:2: route[1].vendor: unknown vendor \"siemens\" (catalogs: aliyun, camera, "
         "huawei-iotedge, neuron, tuya-link, tuya)"},
        // 8. a malformed pattern
        {"[[route]]\nvendor = \"neuron\"\ntopic = \"neuron/#/resp\"\n",
         "site.toml:3: route[1].topic: bad pattern: '#' must be the last level"},
        // 9. duplicate route names
        {"[[route]]\nname = \"a\"\nvendor = \"neuron\"\ntopic = \"x/y\"\n"
         "[[route]]\nname = \"a\"\nvendor = \"neuron\"\ntopic = \"x/z\"\n",
         "site.toml:6: route[2].name: duplicate route name \"a\" (also route[1] at line 1)"},
        // 10. an unreadable password file
        {"[broker]\npassword_file = \"/nonexistent/errbridge-password\"\n",
         "site.toml:2: broker.password_file: cannot read /nonexistent/errbridge-password: No "
         "such file or directory"},
        // 11. output topic that our own route would match: a republish loop
        {"[output]\ntopic = \"errors/{site}/{vendor}/{device}\"\n[[route]]\nname = \"all\"\n"
         "vendor = \"neuron\"\ntopic = \"errors/{a}/{b}/{c}/{d}\"\n",
         "site.toml:2: output.topic: errors/{site}/{vendor}/{device} could match route \"all\" "
         "(errors/{a}/{b}/{c}/{d}): publishing there would feed our own input"},
        // 12. an unknown placeholder in the output topic
        {"[output]\ntopic = \"errors/{site}/{plant}\"\n" + route,
         "site.toml:2: output.topic: unknown placeholder {plant} (use site, vendor, category, "
         "severity, code, route, device or a capture of a route)"},
        // 13. a bad template
        {"[output]\ntopic = \"errors/{site\"\n",
         "site.toml:2: output.topic: bad template: unclosed '{'"},
        // 14. dead letters cannot name a device
        {"[output]\ninvalid_topic = \"dead/{device}\"\n",
         "site.toml:2: output.invalid_topic: placeholder {device} is not available for dead "
         "letters (use site, route or vendor)"},
        // 15. TLS files on a plaintext URI
        {"[broker]\nuri = \"tcp://broker:1883\"\nca_file = "
         "\"/etc/ssl/certs/ca-certificates.crt\"\n",
         "site.toml:3: broker.ca_file: TLS files need an ssl://, mqtts:// or wss:// uri (the uri "
         "is tcp://)"},
        // 16. MQTT 3.1 is not supported
        {"[broker]\nmqtt_version = 4\n",
         "site.toml:2: broker.mqtt_version: must be 5 or 3 (MQTT 3.1.1), got 4"},
        // 17. a device template naming something the route cannot know
        {"[[route]]\nvendor = \"tuya-link\"\ntopic = \"tylink/{device_id}/**/response\"\n"
         "device = \"{devid}\"\n",
         "site.toml:4: route[1].device: unknown placeholder {devid} (this route has: device_id, "
         "device_id)"},
        // 18. an unknown table
        {"[brokers]\nuri = \"tcp://x\"\n",
         "site.toml:1: brokers: unknown key (did you mean broker?)"},
        // 19. a TOML syntax error is reported alone
        {"site = \"a\"\n[broker\nuri = 1\n", "site.toml:2: toml: an invalid key appeared."},
        // 20. backoff bounds inverted
        {"[broker]\nreconnect_min_s = 10\nreconnect_max_s = 5\n",
         "site.toml:3: broker.reconnect_max_s: reconnect_max_s (5) must not be below "
         "reconnect_min_s (10)"},
        // 21. a bad JSON Pointer override
        {"[[route]]\nvendor = \"neuron\"\ntopic = \"x/y\"\ncode = [\"errors/*\"]\n",
         "site.toml:4: route[1].code: bad pointer \"errors/*\": a JSON Pointer starts with '/'"},
        // 22. metrics listen address without a port
        {"[metrics]\nlisten = \"127.0.0.1\"\n",
         "site.toml:2: metrics.listen: expected host:port, got \"127.0.0.1\""},
    };
    for (const auto& row : rows) {
        INFO(row.toml);
        CHECK(problems_of(row.toml) == std::vector<std::string>{row.message});
    }
}

TEST_CASE("every problem is reported, sorted by line", "[config]") {
    auto problems = problems_of(
        "site = \"plant a\"\n"
        "[broker]\n"
        "keepalive_s = 0\n"
        "persistance = \"file\"\n"
        "[[route]]\n"
        "vendor = \"neuron\"\n"
        "topic = \"a/+b\"\n");
    REQUIRE(problems.size() == 4);
    CHECK(problems[0].rfind("site.toml:1: site: ", 0) == 0);
    CHECK(problems[1] == "site.toml:3: broker.keepalive_s: must be between 5 and 65535, got 0");
    CHECK(problems[2] ==
          "site.toml:4: broker.persistance: unknown key (did you mean persistence?)");
    CHECK(problems[3] ==
          "site.toml:7: route[1].topic: bad pattern: '+' and '#' must fill a whole level (in "
          "\"+b\")");
}

TEST_CASE("a file without [[route]] gets the catalog's default routes in SPEC order", "[config]") {
    auto loaded =
        load_config_text("site = \"plant-a\"\n", "site.toml", errbridge::test::environment());
    const auto& routes = loaded.config.routes;
    CHECK(loaded.config.default_routes);
    std::vector<std::string> names;
    for (const auto& r : routes)
        names.push_back(r.name + " " + r.topic);
    CHECK(names == std::vector<std::string>{
                       "aliyun-1 /ota/device/+/{product_key}/{device_name}",
                       "aliyun-2 /ext/error/{product_key}/{device_name}",
                       "aliyun-3 /ext/session/{product_key}/{device_name}/combine/*_reply",
                       "aliyun-4 /sys/{product_key}/{device_name}/thing/**/*_reply",
                       "neuron-1 /neuron/{app}/**/resp", "neuron-2 /neuron/{app}/{driver}/{group}",
                       "neuron-3 neuron/{app}/**/resp",
                       "tuya-link-1 tylink/{device_id}/**/*_response",
                       "tuya-link-2 tylink/{device_id}/**/response",
                       "tuya-1 bridge/tuya/openapi/{device_id}/response",
                       "huawei-iotedge-1 $oc/devices/{device_id}/sys/events/down",
                       "huawei-iotedge-2 bridge/huawei-iotedge/{project_id}/edge-nodes/"
                       "{edge_node_id}/**/response",
                       "huawei-iotedge-3 bridge/huawei-iotedge/{project_id}/**/response",
                       "camera-1 bridge/camera/{host}/http/{command}/response",
                       "camera-2 bridge/camera/{host}/http/{command}/{channel}/response",
                       "camera-3 bridge/camera/{host}/http/{command}/{channel}/{action}/response"});
    // Route overrides from the catalog: OTA success and Huawei's nested $oc codes.
    REQUIRE(routes[0].rules.success);
    CHECK(*routes[0].rules.success == std::vector<std::string>{"1000"});
    REQUIRE(routes[1].rules.success);
    CHECK(*routes[1].rules.success == std::vector<std::string>{"200"});
    REQUIRE(routes[10].rules.code);
    CHECK(routes[10].rules.code->front() == "/services/*/paras/failed_devices/*/error_code");
}

TEST_CASE("routes in the file replace the defaults and get <vendor>-<n> names", "[config]") {
    auto loaded = load_config_text(
        "[[route]]\nvendor = \"neuron\"\ntopic = \"a/{app}\"\n"
        "[[route]]\nname = \"cams\"\nvendor = \"camera\"\ntopic = \"b/{host}\"\n"
        "[[route]]\nvendor = \"neuron\"\ntopic = \"c/{app}\"\n",
        "site.toml", errbridge::test::environment());
    const auto& routes = loaded.config.routes;
    REQUIRE(routes.size() == 3);
    CHECK(routes[0].name == "neuron-1");
    CHECK(routes[1].name == "cams");
    CHECK(routes[2].name == "neuron-2");
    CHECK_FALSE(loaded.config.default_routes);
    auto match = loaded.route_table.match("c/north");
    REQUIRE(match);
    CHECK(match->route == 2);
}

TEST_CASE("derived defaults: site, client id, state dir", "[config]") {
    auto plain =
        load_config_text("", "site.toml", errbridge::test::environment({{"HOME", "/home/op"}}));
    CHECK(plain.config.site == "gw-01");
    CHECK(plain.config.broker.client_id == "errbridge-gw-01");
    CHECK(plain.config.broker.state_dir == "/home/op/.local/state/errbridge");
    CHECK(plain.config.probe_topic() == "errbridge/errbridge-gw-01/probe");

    auto shared =
        load_config_text("site = \"plant-a\"\n[broker]\nshared_group = \"bridges\"\n", "site.toml",
                         errbridge::test::environment({{"XDG_STATE_HOME", "/x"}}));
    CHECK(shared.config.broker.client_id == "errbridge-plant-a-gw-01");
    CHECK(shared.config.broker.state_dir == "/x/errbridge");

    auto systemd = load_config_text(
        "", "site.toml",
        errbridge::test::environment({{"STATE_DIRECTORY", "/var/lib/errbridge:/var/lib/other"}}));
    CHECK(systemd.config.broker.state_dir == "/var/lib/errbridge");

    Environment root = errbridge::test::environment();
    root.is_root = true;
    CHECK(load_config_text("", "site.toml", root).config.broker.state_dir == "/var/lib/errbridge");
}

TEST_CASE("relative credential files are looked up in $CREDENTIALS_DIRECTORY", "[config]") {
    fs::path dir = fs::temp_directory_path() / "errbridge-test-credentials";
    fs::create_directories(dir);
    std::ofstream(dir / "mqtt-password") << "secret\n";
    auto env = errbridge::test::environment({{"CREDENTIALS_DIRECTORY", dir.string()}});
    auto loaded =
        load_config_text("[broker]\npassword_file = \"mqtt-password\"\n", "site.toml", env);
    CHECK(loaded.config.broker.password_file == "mqtt-password");
    CHECK(problems_of("[broker]\npassword_file = \"missing\"\n", env) ==
          std::vector<std::string>{"site.toml:2: broker.password_file: cannot read " +
                                   (dir / "missing").string() + ": No such file or directory"});
    fs::remove_all(dir);
}

TEST_CASE("a broken site catalog is a config problem naming the catalog file", "[config]") {
    fs::path file = fs::temp_directory_path() / "errbridge-test-broken-catalog.json";
    std::ofstream(file) << "{\"schema\": \"errbridge-catalog/1\", \"vendor\": \"neuron\"}";
    auto problems = problems_of("[catalog]\npaths = [\"" + file.string() + "\"]\n");
    CHECK(problems == std::vector<std::string>{"site.toml:2: catalog.paths: " + file.string() +
                                               ": document.entries: expected an array"});
    fs::remove(file);
}

TEST_CASE("dead letters into our own input are refused too", "[config]") {
    auto problems =
        problems_of("[[route]]\nname = \"all\"\nvendor = \"neuron\"\ntopic = \"errors/#\"\n");
    REQUIRE(problems.size() == 2);
    CHECK(problems[0].rfind("site.toml:1: output.topic: ", 0) == 0);
    CHECK(problems[1] ==
          "site.toml:1: output.invalid_topic: errors/{site}/_invalid could match route \"all\" "
          "(errors/#): publishing there would feed our own input");
}

TEST_CASE("the probe topic must not be routed", "[config]") {
    auto problems = problems_of(
        "[broker]\nclient_id = \"gw\"\n[[route]]\nvendor = \"neuron\"\n"
        "topic = \"errbridge/{x}/probe\"\n");
    CHECK(problems ==
          std::vector<std::string>{
              "site.toml:3: route neuron-1: topic errbridge/{x}/probe matches the probe "
              "topic errbridge/gw/probe: probes would be decoded as errors"});
}

TEST_CASE("the shipped example config and the embedded default load", "[config]") {
    auto example =
        load_config_file(fs::path(ERRBRIDGE_SOURCE_DIR) / "config/examples/errbridge.toml",
                         errbridge::test::environment());
    CHECK(example.config.site == "plant-a");
    CHECK(example.config.routes.size() == 8);
    CHECK(example.config.routes[2].rules.success == std::vector<std::string>{"1000"});
    CHECK(example.config.routes[6].rules.firmware == std::string("v1.9"));
    CHECK(example.subscriptions.subscriptions.size() == 8);

    auto embedded = load_config_text(embedded_default_config(), "embedded default",
                                     errbridge::test::environment());
    CHECK(embedded.config.default_routes);
    CHECK(embedded.config.routes.size() == 16);
    CHECK(embedded.config.broker.uri == "tcp://127.0.0.1:1883");
    CHECK(embedded.config.metrics.listen == "127.0.0.1:9102");  // loopback by default
}

TEST_CASE("an explicit config file that cannot be read is an error", "[config]") {
    try {
        load_config_file("/nonexistent/errbridge.toml", errbridge::test::environment());
        FAIL("loaded a missing file");
    } catch (const ConfigError& e) {
        CHECK(std::string(e.what()) ==
              "/nonexistent/errbridge.toml:0: file: cannot read: No such file or directory");
    }
}
