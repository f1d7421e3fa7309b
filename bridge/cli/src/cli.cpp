#include "errbridge/cli/cli.h"

#include <functional>
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
#include "errbridge/version.h"
#include "explain.h"

namespace errbridge::cli {
namespace {

using Args = std::vector<std::string>;

constexpr const char* main_usage =
    R"(errbridge — decodes IoT vendor error codes from MQTT into normalized events

usage: errbridge <command> [options]

commands:
  check [-c FILE]
                 validate a config: print the routes, subscriptions and output topics,
                 or every problem (exit 2)
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
        if (auto path = args.option("--config")) {
            source = *path;
            return config::load_config_file(*path, env);
        }
        return config::load_default_config(env, source);
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
    using Command = std::function<int(const Args&, std::ostream&, std::ostream&)>;
    const std::map<std::string, Command> commands = {{"check", cmd_check},
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
