#pragma once

// SIGHUP (SPEC §3, §10): read the config again from where it was read at start, validate it
// fully, and either run it or keep the running one. Asio's signal_set does only the
// signal-safe part in the handler; the reload itself runs on the loop.

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <memory>
#include <optional>
#include <string>

#include "errbridge/config/load.h"
#include "errbridge/daemon/log.h"

namespace errbridge::daemon {

class Session;

class Reloader {
  public:
    Reloader(boost::asio::io_context& io, Session& session, std::optional<std::string> config_path,
             config::Environment env, std::shared_ptr<const config::LoadedConfig> running,
             Logger& log);

    // Listens for SIGHUP until the loop stops.
    void start();
    // One reload: on any problem every one is logged (`file:line: key: reason`) and the
    // running config stays; on success the session runs the new one and the log says what
    // changed and which changed keys wait for a restart.
    void reload();

  private:
    void wait();

    boost::asio::signal_set signals_;
    Session& session_;
    std::optional<std::string> config_path_;  // -c, else the installed file or the embedded one
    config::Environment env_;
    std::shared_ptr<const config::LoadedConfig> running_;
    Logger& log_;
};

}  // namespace errbridge::daemon
