#pragma once

// `<state_dir>/<client_id>/`: Paho's file persistence (in-flight publishes), the set of
// filters we are subscribed to (to unsubscribe stale ones at start, SPEC §10) and a marker
// saying a broker session should exist. Unusable at start is fatal (exit 2); failing
// writes at run time are counted (Paho hides its own persistence failures).

#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace errbridge::daemon {

class StateDirError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

class StateDir {
  public:
    // Creates the directory (0700) if needed and proves it writable with a probe write;
    // throws StateDirError naming the path and the reason.
    static StateDir open(const std::filesystem::path& root, const std::string& client_id);

    const std::filesystem::path& path() const { return path_; }

    // The filters subscribed by the previous run; empty when there was none.
    std::vector<std::string> load_subscriptions() const;
    // Atomic (write + fsync + rename): a crash leaves the old set or the new one.
    void store_subscriptions(const std::vector<std::string>& filters) const;

    // Whether an earlier run was connected with a persistent session.
    bool session_expected() const;
    void mark_session(bool expected) const;

    // Writes, syncs and removes a small file; nullopt when it worked, else why not.
    // Paho writes each in-flight message the same way, so this fails when they would.
    std::optional<std::string> probe_write() const;

  private:
    explicit StateDir(std::filesystem::path path) : path_(std::move(path)) {}
    std::filesystem::path path_;
};

}  // namespace errbridge::daemon
