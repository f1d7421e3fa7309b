#include "reloader.h"

#include <csignal>

#include "errbridge/config/reload.h"
#include "session.h"

namespace errbridge::daemon {

namespace {

constexpr const char* component = "reload";

std::string join(const std::vector<std::string>& items) {
    std::string out;
    for (const auto& item : items) {
        if (!out.empty()) out += ',';
        out += item;
    }
    return out;
}

const config::RouteConfig* route_named(const config::Config& config, const std::string& name) {
    for (const auto& route : config.routes) {
        if (route.name == name) return &route;
    }
    return nullptr;
}

}  // namespace

Reloader::Reloader(boost::asio::io_context& io, Session& session,
                   std::optional<std::string> config_path, config::Environment env,
                   std::shared_ptr<const config::LoadedConfig> running, Logger& log)
    : signals_(io, SIGHUP),
      session_(session),
      config_path_(std::move(config_path)),
      env_(std::move(env)),
      running_(std::move(running)),
      log_(log) {}

void Reloader::start() {
    wait();
}

void Reloader::wait() {
    signals_.async_wait([this](const boost::system::error_code& ec, int) {
        if (ec) return;  // the loop is stopping
        reload();
        wait();
    });
}

void Reloader::reload() {
    std::string source = config_path_.value_or("the default configuration");
    log_.info(component, "reloading", {{"config", source}});
    std::optional<config::LoadedConfig> fresh;
    try {
        fresh.emplace(config::load_config(config_path_, env_, source));
    } catch (const config::ConfigError& e) {
        for (const auto& problem : e.problems())
            log_.error("config", problem.format());
        log_.error(component, "the new configuration has errors: still running the previous one",
                   {{"config", source}, {"problems", std::to_string(e.problems().size())}});
        return;
    } catch (const std::exception& e) {
        log_.error(component, "cannot load the new configuration: still running the previous one",
                   {{"config", source}, {"error", e.what()}});
        return;
    }

    config::ReloadPlan plan = config::prepare_reload(*running_, std::move(*fresh));
    auto next = std::make_shared<const config::LoadedConfig>(std::move(plan.next));
    try {
        session_.apply(next);
    } catch (const std::exception& e) {
        log_.error(component, "cannot run the new configuration: still running the previous one",
                   {{"config", source}, {"error", e.what()}});
        return;
    }
    const config::ConfigChanges& c = plan.changes;
    for (const auto& name : c.routes_added) {
        const config::RouteConfig* r = route_named(next->config, name);
        log_.info(component, "route added",
                  {{"route", name}, {"vendor", r->vendor}, {"topic", r->topic}});
    }
    for (const auto& name : c.routes_changed) {
        const config::RouteConfig* r = route_named(next->config, name);
        log_.info(component, "route changed",
                  {{"route", name}, {"vendor", r->vendor}, {"topic", r->topic}});
    }
    for (const auto& name : c.routes_removed)
        log_.info(component, "route removed", {{"route", name}});
    for (const auto& filter : c.filters_added)
        log_.info(component, "filter added", {{"filter", filter}});
    for (const auto& filter : c.filters_removed)
        log_.info(component, "filter removed", {{"filter", filter}});
    if (!c.keys_changed.empty())
        log_.info(component, "settings applied", {{"keys", join(c.keys_changed)}});
    if (!c.restart_keys.empty()) {
        log_.warning(component,
                     "changed keys need a restart: running on with their previous values",
                     {{"keys", join(c.restart_keys)}});
    }
    log_.info(component, c.any() ? "configuration reloaded" : "configuration reloaded, unchanged",
              {{"config", source},
               {"routes", std::to_string(next->config.routes.size())},
               {"subscriptions", std::to_string(next->subscriptions.subscriptions.size())}});
    if (!c.filters_added.empty() || !c.filters_removed.empty()) {
        for (const auto& note : next->subscriptions.notes)
            log_.info("config", note);
    }
    running_ = std::move(next);
}

}  // namespace errbridge::daemon
