#include "args.h"

namespace errbridge::cli {

std::optional<std::string> ParsedArgs::option(const std::string& name) const {
    auto it = options.find(name);
    if (it == options.end()) return std::nullopt;
    return it->second;
}

ParsedArgs parse_args(const std::vector<std::string>& args, const std::set<std::string>& options,
                      const std::set<std::string>& flags,
                      const std::map<std::string, std::string>& aliases) {
    ParsedArgs parsed;
    bool only_positionals = false;
    for (std::size_t i = 0; i < args.size(); ++i) {
        std::string arg = args[i];
        if (only_positionals || arg.size() < 2 || arg[0] != '-' ||
            (arg[1] >= '0' && arg[1] <= '9')) {
            parsed.positionals.push_back(arg);  // "-1" is a (negative) code, not an option
            continue;
        }
        if (arg == "--") {
            only_positionals = true;
            continue;
        }
        std::string value;
        bool has_value = false;
        if (auto eq = arg.find('='); eq != std::string::npos && arg.rfind("--", 0) == 0) {
            value = arg.substr(eq + 1);
            arg = arg.substr(0, eq);
            has_value = true;
        }
        if (auto alias = aliases.find(arg); alias != aliases.end()) arg = alias->second;
        if (flags.count(arg)) {
            if (has_value) throw UsageError(arg + " takes no value");
            parsed.flags.insert(arg);
        } else if (options.count(arg)) {
            if (!has_value) {
                if (i + 1 >= args.size()) throw UsageError(arg + " needs a value");
                value = args[++i];
            }
            parsed.options[arg] = value;
        } else {
            throw UsageError("unknown option " + arg);
        }
    }
    return parsed;
}

}  // namespace errbridge::cli
