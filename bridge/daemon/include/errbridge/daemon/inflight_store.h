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
// This store keeps one append-only log per directory (`<dir>/log`): put appends a PUT
// record, remove a DEL record, each record with its own CRC-32 and written by a single
// writev (O_APPEND). A file per key cost two inode creations, two renames and two unlinks
// per event; the log costs three appends. Paho's reads (get, keys) are served from an
// in-memory index of the live entries, which Paho bounds (what it holds in flight and
// queued).
//
// A killed process leaves the log whole up to its last complete record, plus at most one
// torn record at the end; open() replays the log, stops at the first record whose length
// or CRC is wrong and rewrites the live entries into a fresh log (temporary file renamed
// over it). The same rewrite compacts the log at run time once it is large and mostly
// dead.
//
// Deleting a queued command is deferred until the next in-flight copy is in the log: its
// DEL record follows the copy's PUT record (same writev). Paho sends one command at a
// time (delete command, write copy), so once a copy is written every deletion deferred
// before it is safe. A kill in between leaves both: a duplicate, never a loss.
//
// No fsync: this protects against a killed process, not a power cut or a kernel crash
// (the page cache survives the former only). After a power cut the log may lack its most
// recent records or, depending on the file system, end in garbage, which replay drops.
//
// Per-key files left by the previous implementation (one file per key, named after it) are
// imported at open() and deleted once the rewritten log holds them.
//
// Paho calls in from its own threads; one mutex guards the whole store.

#include <mqtt/iclient_persistence.h>

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace errbridge::daemon {

class InflightStore : public mqtt::iclient_persistence {
  public:
    // A log beyond `compact_above` bytes of which less than a quarter is live is rewritten.
    static constexpr std::uint64_t default_compact_above = 4u << 20;

    // `dir` is created on open(); `write_errors` counts failed writes (Paho hides them).
    InflightStore(std::filesystem::path dir, std::atomic<std::uint64_t>& write_errors,
                  std::uint64_t compact_above = default_compact_above);
    ~InflightStore() override;
    InflightStore(const InflightStore&) = delete;
    InflightStore& operator=(const InflightStore&) = delete;

    void open(const std::string& client_id, const std::string& server_uri) override;
    void close() override;
    void clear() override;
    bool contains_key(const std::string& key) override;
    mqtt::string_collection keys() const override;
    void put(const std::string& key, const std::vector<mqtt::string_view>& buffers) override;
    std::string get(const std::string& key) const override;
    void remove(const std::string& key) override;

    const std::filesystem::path& dir() const { return dir_; }
    std::filesystem::path log_path() const { return dir_ / "log"; }
    // Bytes of whole records in the log.
    std::uint64_t log_size() const;
    // The most recent failed write, with the system's reason ("... File too large"), for
    // the operator's log line; empty when none failed.
    std::string last_error() const;

  private:
    // Appends `parts` (whole records) with one writev; false (and `why`) on failure, with
    // the log cut back to its last whole record or marked for a rewrite.
    bool append(const std::vector<std::string_view>& parts, std::string& why);
    // Writes every live entry to a fresh log and renames it over the old one.
    bool rewrite(std::string& why);
    bool replay(std::string& why);
    void maybe_compact();
    void forget(const std::string& key);
    void close_fd();
    // Counts a failed write and keeps its reason. Takes only error_mutex_, so it may be
    // called with or without mutex_ held.
    void failed(std::string why);

    std::filesystem::path dir_;
    std::atomic<std::uint64_t>& write_errors_;
    const std::uint64_t compact_above_;

    mutable std::mutex mutex_;
    mutable std::mutex error_mutex_;
    std::string last_error_;
    int fd_ = -1;
    std::uint64_t size_ = 0;             // bytes of whole records in the log
    std::uint64_t live_bytes_ = 0;       // encoded size of the entries in `entries_`
    bool need_rewrite_ = false;          // the log's tail or inode cannot be trusted
    std::uint64_t next_compaction_ = 0;  // no runtime compaction below this size
    std::unordered_map<std::string, std::string> entries_;  // live on disk
    std::vector<std::string> deferred_;            // commands Paho deleted, still in the log
    std::vector<std::filesystem::path> migrated_;  // per-key files, deleted after a rewrite
};

}  // namespace errbridge::daemon
