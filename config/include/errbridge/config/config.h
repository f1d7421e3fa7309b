#pragma once

// The validated, immutable configuration (SPEC §3) as plain structs.

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "errbridge/catalog/entry.h"
#include "errbridge/config/topic_pattern.h"

namespace errbridge::config {

struct BrokerConfig {
    std::string uri = "tcp://127.0.0.1:1883";
    std::string client_id;  // derived when empty in the file
    int mqtt_version = 5;
    std::string username;
    std::string password_file;
    std::string ca_file;
    std::string cert_file;
    std::string key_file;
    int keepalive_s = 30;
    std::int64_t session_expiry_s = 86400;
    std::string shared_group;
    std::string state_dir;  // resolved default when empty in the file
    std::string persistence = "file";
    std::int64_t max_buffered = 100000;
    std::int64_t max_buffered_bytes = 16777216;
    int reconnect_min_s = 1;
    int reconnect_max_s = 30;
};

struct OutputConfig {
    std::string topic = "errors/{site}/{vendor}/{device}";
    int qos = 1;
    bool retain = false;
    bool emit_success = false;
    bool include_raw = true;
    std::int64_t raw_max_bytes = 4096;
    std::string invalid_topic = "errors/{site}/_invalid";
};

struct SuppressConfig {
    std::int64_t window_s = 60;
    std::int64_t max_keys = 100000;
};

struct LimitsConfig {
    std::int64_t max_payload_bytes = 262144;
    int max_depth = 64;
};

struct MetricsConfig {
    std::string listen = "127.0.0.1:9102";
};

struct RouteConfig {
    std::string name;
    std::string vendor;
    std::string topic;
    TopicPattern pattern;
    catalog::DecodeRules rules;  // the vendor defaults with this route's overrides applied
    int line = 0;                // where the route starts in its file; 0 for built-in routes
};

struct Config {
    std::string source;  // the file path, or "embedded default"
    std::string site;
    catalog::Lang lang = catalog::Lang::en;
    BrokerConfig broker;
    OutputConfig output;
    SuppressConfig suppress;
    LimitsConfig limits;
    MetricsConfig metrics;
    std::vector<std::string> catalog_paths;
    std::vector<RouteConfig> routes;
    bool default_routes = false;  // the file had no [[route]]

    std::string probe_topic() const { return "errbridge/" + broker.client_id + "/probe"; }
};

}  // namespace errbridge::config
