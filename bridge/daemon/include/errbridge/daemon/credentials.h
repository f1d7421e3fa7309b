#pragma once

// The broker password: from `broker.password_file` (relative names in
// $CREDENTIALS_DIRECTORY, systemd's LoadCredential=), else $ERRBRIDGE_PASSWORD. Never from
// the command line (visible in /proc/<pid>/cmdline), never logged.

#include <optional>
#include <stdexcept>
#include <string>

#include "errbridge/config/config.h"
#include "errbridge/config/load.h"

namespace errbridge::daemon {

class CredentialError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

// nullopt: no password configured. A trailing newline (from `echo secret > file`) is not
// part of the password. Throws CredentialError when the file cannot be read.
std::optional<std::string> broker_password(const config::BrokerConfig& broker,
                                           const config::Environment& env);

}  // namespace errbridge::daemon
