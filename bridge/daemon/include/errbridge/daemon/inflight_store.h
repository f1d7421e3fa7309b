#pragma once

// Paho's persistence, made safe against kill -9 (SPEC §10).
//
// Paho C 1.3.12's own file persistence loses an event in two ways when the process dies
// at the wrong moment, both seen in the kill -9 test:
//  1. It writes a file in place (fopen, fwrite, fclose): a kill between leaves an empty
//     file, which restores as nothing.
//  2. Sending a queued publish, it deletes the queued command (`c5-<seq>`) before it has
//     written the in-flight copy (`s5-<msgid>`): a kill in between leaves neither.
// The inbound message was acknowledged long before, so the broker does not send it again.
//
// This store writes each key to a temporary file and renames it into place (all or
// nothing), and defers deleting a queued command until the next in-flight copy is in
// place. Paho sends one command at a time (delete command, write copy), so once a copy is
// written every deletion deferred before it is safe. A kill in between leaves both: a
// duplicate, never a loss. No fsync: this protects against a killed process, not a power
// cut (the page cache survives the former).
//
// Paho calls in from its own threads; a mutex guards the deferred deletions.

#include <mqtt/iclient_persistence.h>

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <mutex>
#include <string>
#include <vector>

namespace errbridge::daemon {

class InflightStore : public mqtt::iclient_persistence {
  public:
    // `dir` is created on open(); `write_errors` counts failed writes (Paho hides them).
    InflightStore(std::filesystem::path dir, std::atomic<std::uint64_t>& write_errors);

    void open(const std::string& client_id, const std::string& server_uri) override;
    void close() override {}
    void clear() override;
    bool contains_key(const std::string& key) override;
    mqtt::string_collection keys() const override;
    void put(const std::string& key, const std::vector<mqtt::string_view>& buffers) override;
    std::string get(const std::string& key) const override;
    void remove(const std::string& key) override;

    const std::filesystem::path& dir() const { return dir_; }

  private:
    std::filesystem::path file(const std::string& key) const { return dir_ / key; }
    void delete_file(const std::string& key) const;

    std::filesystem::path dir_;
    std::atomic<std::uint64_t>& write_errors_;
    mutable std::mutex mutex_;
    std::vector<std::string> deferred_;  // queued commands Paho deleted, still on disk
};

}  // namespace errbridge::daemon
