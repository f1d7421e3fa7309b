#include "errbridge/daemon/credentials.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>

namespace errbridge::daemon {

std::optional<std::string> broker_password(const config::BrokerConfig& broker,
                                           const config::Environment& env) {
    if (!broker.password_file.empty()) {
        std::string path = config::credential_path(env, broker.password_file);
        std::ifstream in(path, std::ios::binary);
        if (!in) {
            throw CredentialError("broker.password_file: cannot read " + path + ": " +
                                  std::strerror(errno));
        }
        std::string password((std::istreambuf_iterator<char>(in)), {});
        while (!password.empty() && (password.back() == '\n' || password.back() == '\r'))
            password.pop_back();
        return password;
    }
    if (env.getenv) {
        if (auto value = env.getenv("ERRBRIDGE_PASSWORD")) return value;
    }
    return std::nullopt;
}

}  // namespace errbridge::daemon
