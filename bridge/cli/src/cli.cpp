#include "errbridge/cli/cli.h"

#include <chrono>
#include <cstring>
#include <ctime>
#include <fstream>
#include <functional>
#include <iostream>
#include <iterator>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "args.h"
#include "check.h"
#include "errbridge/catalog/catalog.h"
#include "errbridge/catalog/code.h"
#include "errbridge/catalog/export.h"
#include "errbridge/config/load.h"
#include "errbridge/core/decode.h"
#include "errbridge/daemon/daemon.h"
#include "errbridge/version.h"
#include "explain.h"

namespace errbridge::cli {
namespace {

using Args = std::vector<std::string>;

constexpr const char* main_usage =
    R"(errbridge — decodes IoT vendor error codes from MQTT into normalized events

usage: errbridge <command> [options]

commands:
  run [-c FILE] [--log-level L]
                 run the daemon: decode error replies from MQTT, publish enriched events
  check [-c FILE]
                 validate a config: print the routes, subscriptions and output topics,
                 or every problem (exit 2)
  decode [-c FILE] --topic T [--file P] [--now ISO8601] [--explain]
                 decode one payload offline; print what `run` would publish
  explain VENDOR CODE [--json] [--lang en|zh]
                 what a vendor's code means and what to do about it
  catalog [--vendor V] [--format json|csv] [--lang en|zh]
                 export the built-in catalog, one line per code
  version        print the version

Every command has --help.
)";

constexpr const char* explain_usage =
    R"(usage: errbridge explain VENDOR CODE [--json] [--lang en|zh]

Prints what the catalog knows about CODE of VENDOR: message, category, severity, whether a
retry can help, the suggested fix, the source document, request-topic contexts, firmware
meanings and other meanings of the same number (variants).

CODE is accepted as vendors write it: 6207, 1,000, IoTEdge.02100305 or 02100305.
VENDOR is a catalog id: aliyun, neuron, tuya, tuya-link, huawei-iotedge, camera.

  --json         one JSON object instead of text
  --lang en|zh   message language where the catalog has it (default en)

Exit status: 0 found, 1 unknown vendor or code, 2 usage error.
)";

constexpr const char* catalog_usage =
    R"(usage: errbridge catalog [--vendor V] [--format json|csv] [--lang en|zh]

Exports the built-in catalog, one line per code: vendor, code (or code_range for open
vendor ranges), kind, category, severity, retryable, message, fix, source.

  --vendor V       only this catalog id
  --format F       json (one object per line, default) or csv
  --lang en|zh     message and fix language where the catalog has it (default en)
)";

constexpr const char* check_usage = R"(usage: errbridge check [-c FILE]

Validates a config and prints what it means: routes in match order, the MQTT subscriptions
derived from them (with MQTT 5 subscription identifiers, dropped or widened filters) and the
topics errbridge publishes to. On problems prints every one as file:line: key: reason,
sorted by line, and exits 2.

  -c, --config FILE   the config to check; without it, what `run` would use: the installed
                      config if it exists, else the embedded default
)";

constexpr const char* decode_usage =
    R"(usage: errbridge decode [-c FILE] --topic T [--file P] [--now ISO8601] [--explain]

Decodes one payload (standard input, or the file P) as if it had arrived on topic T and
prints exactly what `run` would publish, one JSON object per line: events, or the dead
letter for a payload that cannot be decoded. Prints nothing for success replies (unless
output.emit_success) and payloads without a code.

  -c, --config FILE   config to use (default: as `run`)
  --topic T           the MQTT topic the payload arrived on (required)
  --file P            read the payload from P instead of standard input
  --now ISO8601       timestamp for `ts` (default: the current time), e.g. 2026-11-22T10:15:02.123Z
  --explain           also print a human line before each JSON line

Exit status: 0 printed events or dead letters (or nothing to print), 2 config error,
3 no route matches the topic.
)";

constexpr const char* run_usage =
    R"(usage: errbridge run [-c FILE] [--log-level debug|info|warning|error]

Runs the daemon: subscribes to the routes' topics on the broker, decodes every error code
with the built-in catalog and publishes one JSON event per code to output.topic. Logs go
to stderr, one line each. SIGTERM or SIGINT stop it cleanly (in-flight events are given
3 s, then stay in the state directory for the next start).

options:
  -c, --config FILE   the config; without it <sysconfdir>/errbridge/errbridge.toml if it
                      exists, else the embedded default (the log says which)
  --log-level L       debug, info (default), warning or error

Exit status: 0 after SIGTERM/SIGINT, 2 on a config error or an unusable state directory,
1 otherwise.
)";

constexpr const char* version_usage = "usage: errbridge version\n\nPrints the version.\n";

catalog::Lang parse_lang(const ParsedArgs& args) {
    auto lang = args.option("--lang").value_or("en");
    if (lang == "en") return catalog::Lang::en;
    if (lang == "zh") return catalog::Lang::zh;
    throw UsageError("--lang must be en or zh, not \"" + lang + "\"");
}

std::string vendor_list(const catalog::Catalog& catalog) {
    std::string out;
    for (const auto& vendor : catalog.vendors())
        out += (out.empty() ? "" : ", ") + vendor.id;
    return out;
}

int cmd_explain(const Args& raw, std::ostream& out, std::ostream& err) {
    auto args = parse_args(raw, {"--lang"}, {"--json", "--help"}, {{"-h", "--help"}});
    if (args.flag("--help")) {
        out << explain_usage;
        return exit_ok;
    }
    if (args.positionals.size() != 2) throw UsageError("explain needs VENDOR and CODE");
    auto lang = parse_lang(args);
    const std::string& vendor_id = args.positionals[0];
    const std::string& typed = args.positionals[1];
    auto catalog = catalog::Catalog::built_in();
    const catalog::Vendor* vendor = catalog.vendor(vendor_id);
    if (!vendor) {
        err << "errbridge: unknown vendor \"" << vendor_id << "\"; known: " << vendor_list(catalog)
            << "\n";
        return exit_failure;
    }
    auto key = catalog::parse_typed_code(vendor->code_style, typed);
    if (!key) {
        err << "errbridge: \"" << typed << "\" is not a " << vendor_id << " code"
            << (vendor->code_style == catalog::CodeStyle::huawei
                    ? " (expected IoTEdge.NNNNNNNN or NNNNNNNN)\n"
                    : " (expected an integer)\n");
        return exit_failure;
    }
    const catalog::Entry* entry = catalog.find(vendor_id, *key);
    std::string code = catalog::canonical_code(vendor->code_style, *key);
    if (!entry) {
        err << "errbridge: " << vendor_id << " code " << code << " is not in the catalog; "
            << "a site catalog file in catalog.paths can add it (see catalog/README.md)\n";
        return exit_failure;
    }
    out << (args.flag("--json") ? explain_json(*vendor, *entry, code, lang)
                                : explain_text(*vendor, *entry, code, lang));
    return exit_ok;
}

int cmd_catalog(const Args& raw, std::ostream& out, std::ostream& err) {
    auto args = parse_args(raw, {"--vendor", "--format", "--lang"}, {"--help"}, {{"-h", "--help"}});
    if (args.flag("--help")) {
        out << catalog_usage;
        return exit_ok;
    }
    if (!args.positionals.empty()) throw UsageError("catalog takes no positional arguments");
    auto lang = parse_lang(args);
    auto format_name = args.option("--format").value_or("json");
    catalog::ExportFormat format;
    if (format_name == "json") {
        format = catalog::ExportFormat::json;
    } else if (format_name == "csv") {
        format = catalog::ExportFormat::csv;
    } else {
        throw UsageError("--format must be json or csv, not \"" + format_name + "\"");
    }
    auto catalog = catalog::Catalog::built_in();
    auto vendor = args.option("--vendor").value_or("");
    if (!vendor.empty() && !catalog.vendor(vendor)) {
        err << "errbridge: unknown vendor \"" << vendor << "\"; known: " << vendor_list(catalog)
            << "\n";
        return exit_failure;
    }
    out << catalog::export_catalog(catalog, vendor, format, lang);
    return exit_ok;
}

// Loads -c FILE, or what `run` uses without it. Problems go to `err`; nullopt means exit 2.
std::optional<config::LoadedConfig> load_for_command(const ParsedArgs& args, std::string& source,
                                                     std::ostream& err) {
    auto env = config::Environment::from_process();
    try {
        return config::load_config(args.option("--config"), env, source);
    } catch (const config::ConfigError& e) {
        for (const auto& problem : e.problems())
            err << problem.format() << "\n";
        return std::nullopt;
    }
}

int cmd_check(const Args& raw, std::ostream& out, std::ostream& err) {
    auto args = parse_args(raw, {"--config"}, {"--help"}, {{"-h", "--help"}, {"-c", "--config"}});
    if (args.flag("--help")) {
        out << check_usage;
        return exit_ok;
    }
    if (!args.positionals.empty()) throw UsageError("check takes no positional arguments");
    std::string source;
    auto loaded = load_for_command(args, source, err);
    if (!loaded) return exit_usage;
    out << describe_config(*loaded, source);
    return exit_ok;
}

std::optional<std::int64_t> parse_iso8601(const std::string& text) {
    int year, month, day, hour, minute, second, millis = 0;
    char z = 0;
    int n = std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d.%3d%c", &year, &month, &day, &hour,
                        &minute, &second, &millis, &z);
    if (n < 6) return std::nullopt;
    if (n == 6) {
        n = std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%c", &year, &month, &day, &hour,
                        &minute, &second, &z);
        if (n == 7 && z != 'Z') return std::nullopt;
    } else if (n == 8 && z != 'Z') {
        return std::nullopt;
    }
    std::tm t{};
    t.tm_year = year - 1900;
    t.tm_mon = month - 1;
    t.tm_mday = day;
    t.tm_hour = hour;
    t.tm_min = minute;
    t.tm_sec = second;
    std::time_t seconds = ::timegm(&t);
    return static_cast<std::int64_t>(seconds) * 1000 + millis;
}

int cmd_decode(const Args& raw, std::ostream& out, std::ostream& err, std::istream& in) {
    auto args = parse_args(raw, {"--config", "--topic", "--file", "--now"}, {"--help", "--explain"},
                           {{"-h", "--help"}, {"-c", "--config"}});
    if (args.flag("--help")) {
        out << decode_usage;
        return exit_ok;
    }
    if (!args.positionals.empty()) throw UsageError("decode takes no positional arguments");
    auto topic = args.option("--topic");
    if (!topic) throw UsageError("--topic is required");
    std::int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                           std::chrono::system_clock::now().time_since_epoch())
                           .count();
    if (auto text = args.option("--now")) {
        auto parsed = parse_iso8601(*text);
        if (!parsed) throw UsageError("--now must look like 2026-11-22T10:15:02.123Z");
        now = *parsed;
    }
    std::string payload;
    if (auto file = args.option("--file")) {
        std::ifstream f(*file, std::ios::binary);
        if (!f) {
            err << "errbridge decode: cannot read " << *file << ": " << std::strerror(errno)
                << "\n";
            return exit_failure;
        }
        payload.assign(std::istreambuf_iterator<char>(f), {});
    } else {
        payload.assign(std::istreambuf_iterator<char>(in), {});
    }
    std::string source;
    auto loaded = load_for_command(args, source, err);
    if (!loaded) return exit_usage;
    core::Decoder decoder(std::make_shared<const config::LoadedConfig>(std::move(*loaded)));
    core::DecodeResult result;
    decoder.decode(*topic, payload, now, result);
    using Status = core::DecodeResult::Status;
    if (result.status == Status::unrouted) {
        err << "errbridge decode: no route matches topic " << *topic << "\n";
        return exit_unrouted;
    }
    const auto& route = decoder.config().config.routes[*result.route];
    if (result.status == Status::empty) err << "errbridge decode: empty payload (counted only)\n";
    if (result.status == Status::no_code) {
        err << "errbridge decode: route " << route.name << ": no error code in the payload "
            << "(counted only)\n";
    }
    if (result.status == Status::success && result.count == 0) {
        err << "errbridge decode: route " << route.name << ": success reply (not published)\n";
    }
    if (result.status == Status::dead_letter && result.count == 0) {
        err << "errbridge decode: dead letter " << core::to_string(*result.reason) << " ("
            << result.detail << "); output.invalid_topic is empty, so it is not published\n";
    }
    for (std::size_t i = 0; i < result.count; ++i) {
        const auto& p = result.publications[i];
        if (args.flag("--explain")) {
            if (p.kind == core::Publication::Kind::dead_letter) {
                out << "# dead letter " << core::to_string(*result.reason) << " -> " << p.topic
                    << ": " << result.detail << "\n";
            } else {
                out << "# " << p.vendor << " " << (p.code.empty() ? "-" : p.code) << " ("
                    << p.severity << ", " << p.category << (p.known ? "" : ", unknown")
                    << ") route " << route.name << " -> " << p.topic << "\n";
            }
        }
        out << result.payload(p) << "\n";
    }
    return exit_ok;
}

int cmd_run(const Args& raw, std::ostream& out, std::ostream&) {
    auto args = parse_args(raw, {"--config", "--log-level"}, {"--help"},
                           {{"-h", "--help"}, {"-c", "--config"}});
    if (args.flag("--help")) {
        out << run_usage;
        return exit_ok;
    }
    if (!args.positionals.empty()) throw UsageError("run takes no positional arguments");
    daemon::RunOptions options;
    options.config_path = args.option("--config");
    if (auto level = args.option("--log-level")) {
        auto parsed = daemon::parse_log_level(*level);
        if (!parsed) throw UsageError("--log-level must be debug, info, warning or error");
        options.log_level = *parsed;
    }
    daemon::Logger log(stderr, options.log_level);
    return daemon::run_daemon(options, log);
}

int cmd_version(const Args& raw, std::ostream& out, std::ostream&) {
    auto args = parse_args(raw, {}, {"--help"}, {{"-h", "--help"}});
    if (args.flag("--help")) {
        out << version_usage;
        return exit_ok;
    }
    if (!args.positionals.empty()) throw UsageError("version takes no arguments");
    out << "errbridge " << errbridge::version << "\n";
    return exit_ok;
}

}  // namespace

int run(int argc, char** argv, std::ostream& out, std::ostream& err) {
    return run(argc, argv, std::cin, out, err);
}

int run(int argc, char** argv, std::istream& in, std::ostream& out, std::ostream& err) {
    using Command = std::function<int(const Args&, std::ostream&, std::ostream&)>;
    const std::map<std::string, Command> commands = {
        {"run", cmd_run},
        {"check", cmd_check},
        {"decode", [&in](const Args& a, std::ostream& o,
                         std::ostream& e) { return cmd_decode(a, o, e, in); }},
        {"explain", cmd_explain},
        {"catalog", cmd_catalog},
        {"version", cmd_version}};
    Args args(argv + (argc > 0 ? 1 : 0), argv + argc);
    if (args.empty()) {
        err << main_usage;
        return exit_usage;
    }
    if (args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
        out << main_usage;
        return exit_ok;
    }
    if (args[0] == "--version") args[0] = "version";
    auto command = commands.find(args[0]);
    if (command == commands.end()) {
        err << "errbridge: unknown command \"" << args[0] << "\"\n\n" << main_usage;
        return exit_usage;
    }
    try {
        return command->second(Args(args.begin() + 1, args.end()), out, err);
    } catch (const UsageError& e) {
        err << "errbridge " << args[0] << ": " << e.what() << "\n(see errbridge " << args[0]
            << " --help)\n";
        return exit_usage;
    } catch (const catalog::CatalogError& e) {
        err << "errbridge: catalog error: " << e.what() << "\n";
        return exit_failure;
    }
}

}  // namespace errbridge::cli
