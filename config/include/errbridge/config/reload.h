#pragma once

// SIGHUP (SPEC §3, §10), the pure part: given the running config and a freshly loaded,
// fully validated one, what changed and what the daemon will actually run. [broker] and
// metrics.listen need a restart, so the result keeps the running values of those and names
// the keys that changed; everything else applies.

#include <string>
#include <vector>

#include "errbridge/config/load.h"

namespace errbridge::config {

struct ConfigChanges {
    std::vector<std::string> routes_added;  // route names
    std::vector<std::string> routes_removed;
    std::vector<std::string> routes_changed;  // same name, another vendor, topic or rules
    std::vector<std::string> filters_added;   // as derived, without a $share/ prefix
    std::vector<std::string> filters_removed;
    std::vector<std::string> keys_changed;  // applied: site, lang, output.*, suppress.*, ...
    std::vector<std::string> restart_keys;  // changed, not applied: broker.*, metrics.listen

    bool any() const;
};

struct ReloadPlan {
    LoadedConfig next;  // what to run: the fresh config with the running restart-only keys
    ConfigChanges changes;
};

// The fresh config keeps running's [broker] and metrics.listen. When that changes the
// MQTT version the subscription plan is derived again for the running one. A filter that
// stays keeps its subscription identifier (subscription_identifier), so it needs no new
// SUBSCRIBE.
ReloadPlan prepare_reload(const LoadedConfig& running, LoadedConfig fresh);

}  // namespace errbridge::config
