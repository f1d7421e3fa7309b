#include "errbridge/daemon/daemon.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <csignal>

#include "errbridge/config/load.h"
#include "errbridge/daemon/counters.h"
#include "errbridge/daemon/credentials.h"
#include "errbridge/daemon/metrics.h"
#include "errbridge/daemon/state_dir.h"
#include "errbridge/version.h"
#include "http_server.h"
#include "notify.h"
#include "reloader.h"
#include "session.h"

namespace errbridge::daemon {

namespace {

constexpr const char* component = "main";
constexpr int exit_ok = 0;
constexpr int exit_failure = 1;
constexpr int exit_config = 2;

// How long SIGTERM waits for in-flight publishes (SPEC §10); the rest of the 5 s budget
// is the disconnect.
constexpr std::chrono::milliseconds drain_grace{3000};

}  // namespace

int run_daemon(const RunOptions& options, Logger& log) {
    // A write past a file size limit must fail with EFBIG (counted) rather than kill us.
    std::signal(SIGXFSZ, SIG_IGN);
    std::signal(SIGPIPE, SIG_IGN);

    const config::Environment env = config::Environment::from_process();
    std::shared_ptr<const config::LoadedConfig> loaded;
    std::string source;
    try {
        loaded = std::make_shared<const config::LoadedConfig>(
            config::load_config(options.config_path, env, source));
    } catch (const config::ConfigError& e) {
        for (const auto& problem : e.problems())
            log.error("config", problem.format());
        log.error(component, "not starting: the configuration has errors",
                  {{"problems", std::to_string(e.problems().size())}});
        return exit_config;
    }
    const config::Config& cfg = loaded->config;
    log.info(component, "starting",
             {{"version", errbridge::version},
              {"config", source},
              {"site", cfg.site},
              {"routes", std::to_string(cfg.routes.size())},
              {"subscriptions", std::to_string(loaded->subscriptions.subscriptions.size())},
              {"broker", cfg.broker.uri},
              {"client_id", cfg.broker.client_id},
              {"persistence", cfg.broker.persistence}});
    for (const auto& note : loaded->subscriptions.notes)
        log.info("config", note);

    std::optional<StateDir> state;
    try {
        state.emplace(StateDir::open(cfg.broker.state_dir, cfg.broker.client_id));
    } catch (const StateDirError& e) {
        log.error(component, "not starting: unusable state directory",
                  {{"state_dir", cfg.broker.state_dir}, {"error", e.what()}});
        return exit_config;
    }
    std::optional<std::string> password;
    try {
        password = broker_password(cfg.broker, env);
    } catch (const CredentialError& e) {
        log.error(component, "not starting", {{"error", e.what()}});
        return exit_config;
    }

    Counters counters;
    boost::asio::io_context io;
    std::unique_ptr<Session> session;
    try {
        session =
            std::make_unique<Session>(io, loaded, env, *state, std::move(password), log, counters);
    } catch (const std::exception& e) {
        log.error(component, "cannot create the MQTT client", {{"error", e.what()}});
        return exit_failure;
    }

    // /metrics and /healthz (SPEC §11), bound before connecting: an address we cannot bind
    // (in use, not ours) is a configuration problem, so exit 2 naming it.
    std::optional<HttpServer> metrics;
    if (!cfg.metrics.listen.empty()) {
        Session& s = *session;
        metrics.emplace(
            io, log,
            HttpEndpoints{[&counters] { return render_prometheus(take_snapshot(counters)); },
                          [&s] { return s.is_connected(); }});
        try {
            metrics->listen(cfg.metrics.listen);
        } catch (const HttpListenError& e) {
            log.error(component, "not starting: cannot listen for /metrics",
                      {{"listen", cfg.metrics.listen}, {"error", e.what()}});
            return exit_config;
        }
    }
    Notifier notifier(io, log, [&counters, uri = cfg.broker.uri] {
        return render_status(take_snapshot(counters), uri);
    });
    session->set_connection_observer([&notifier] { notifier.status(); });

    // Handlers only record the signal; the work happens here, on the loop.
    boost::asio::signal_set stop_signals(io, SIGTERM, SIGINT);
    int stopped_by = 0;
    stop_signals.async_wait([&](const boost::system::error_code& ec, int signal) {
        if (ec) return;
        stopped_by = signal;
        io.stop();
    });
    Reloader reloader(io, *session, options.config_path, env, loaded, log);
    reloader.start();

    session->start();
    notifier.ready();  // never waits for the broker: a gateway often boots before its uplink
    log.info(component, "running",
             {{"state_dir", state->path().string()},
              {"filters", std::to_string(session->filters().size())}});
    io.run();
    notifier.stopping();

    log.info(component, "terminating",
             {{"signal", stopped_by == SIGTERM  ? "SIGTERM"
                         : stopped_by == SIGINT ? "SIGINT"
                                                : "?"}});
    session->stop(drain_grace);
    session.reset();
    log.info(component, "counters", {{"totals", counters_summary(counters)}});
    return exit_ok;
}

}  // namespace errbridge::daemon
