#include "errbridge/daemon/inflight_store.h"

#include <fcntl.h>
#include <mqtt/exception.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <system_error>

#include "atomic_file.h"
#include "write_all.h"

namespace errbridge::daemon {

namespace fs = std::filesystem;

namespace {

// Record: [type u32][key length u32][data length u32][key][data][crc32 u32], integers
// little-endian, the CRC over everything before it. A DEL record has no data.
constexpr std::uint32_t put_record = 0x31505245;  // "ERP1"
constexpr std::uint32_t del_record = 0x31445245;  // "ERD1"
constexpr std::size_t header_size = 12;
constexpr std::size_t trailer_size = 4;
constexpr std::size_t max_key = 4096;  // Paho's keys are a prefix and a number
constexpr std::size_t max_data = std::size_t{1} << 30;

// Paho's key prefixes: queued commands (3.1.1 and 5) and in-flight copies of sent
// publishes.
bool is_queued_command(const std::string& key) {
    return key.starts_with("c-") || key.starts_with("c5-");
}

bool is_sent_publish(const std::string& key) {
    return key.starts_with("s-") || key.starts_with("s5-");
}

// CRC-32 (IEEE 802.3, as zlib), slicing by 8.
struct CrcTables {
    std::array<std::array<std::uint32_t, 256>, 8> t{};
    constexpr CrcTables() {
        for (std::uint32_t i = 0; i < 256; ++i) {
            std::uint32_t c = i;
            for (int k = 0; k < 8; ++k)
                c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            t[0][i] = c;
        }
        for (std::uint32_t i = 0; i < 256; ++i) {
            for (std::size_t s = 1; s < 8; ++s)
                t[s][i] = (t[s - 1][i] >> 8) ^ t[0][t[s - 1][i] & 0xFF];
        }
    }
};
constexpr CrcTables crc_tables;

std::uint32_t load32(const unsigned char* p) {
    return std::uint32_t{p[0]} | std::uint32_t{p[1]} << 8 | std::uint32_t{p[2]} << 16 |
           std::uint32_t{p[3]} << 24;
}

void store32(char* p, std::uint32_t v) {
    for (int i = 0; i < 4; ++i)
        p[i] = static_cast<char>((v >> (8 * i)) & 0xFF);
}

// Running CRC: start with 0, feed pieces, the result is the CRC of their concatenation.
std::uint32_t crc32(std::uint32_t crc, std::string_view bytes) {
    const auto& t = crc_tables.t;
    const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
    std::size_t n = bytes.size();
    crc = ~crc;
    while (n >= 8) {
        std::uint32_t a = load32(p) ^ crc;
        std::uint32_t b = load32(p + 4);
        crc = t[7][a & 0xFF] ^ t[6][(a >> 8) & 0xFF] ^ t[5][(a >> 16) & 0xFF] ^ t[4][a >> 24] ^
              t[3][b & 0xFF] ^ t[2][(b >> 8) & 0xFF] ^ t[1][(b >> 16) & 0xFF] ^ t[0][b >> 24];
        p += 8;
        n -= 8;
    }
    while (n-- > 0)
        crc = t[0][(crc ^ *p++) & 0xFF] ^ (crc >> 8);
    return ~crc;
}

std::size_t record_size(std::size_t key, std::size_t data) {
    return header_size + key + data + trailer_size;
}

using Header = std::array<char, header_size>;
using Trailer = std::array<char, trailer_size>;

Header header(std::uint32_t type, std::size_t key, std::size_t data) {
    Header h;
    store32(h.data(), type);
    store32(h.data() + 4, static_cast<std::uint32_t>(key));
    store32(h.data() + 8, static_cast<std::uint32_t>(data));
    return h;
}

// One whole record appended to `out`.
void encode(std::string& out, std::uint32_t type, std::string_view key, std::string_view data) {
    Header h = header(type, key.size(), data.size());
    std::string_view hv(h.data(), h.size());
    std::uint32_t crc = crc32(crc32(crc32(0, hv), key), data);
    Trailer tr;
    store32(tr.data(), crc);
    out.append(hv).append(key).append(data).append(tr.data(), tr.size());
}

std::string describe(const char* what, const fs::path& path) {
    return std::string(what) + " " + path.string() + ": " + std::strerror(errno);
}

}  // namespace

InflightStore::InflightStore(fs::path dir, std::atomic<std::uint64_t>& write_errors,
                             std::uint64_t compact_above)
    : dir_(std::move(dir)), write_errors_(write_errors), compact_above_(compact_above) {}

InflightStore::~InflightStore() {
    close_fd();
}

void InflightStore::close_fd() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
}

std::uint64_t InflightStore::log_size() const {
    std::lock_guard lock(mutex_);
    return size_;
}

void InflightStore::open(const std::string&, const std::string&) {
    // The client id is already in the path; the server URI is deliberately not (Paho's
    // default puts it there, which orphans undelivered events when the port changes).
    std::lock_guard lock(mutex_);
    std::error_code ec;
    fs::create_directories(dir_, ec);
    if (ec) {
        failed("cannot create " + dir_.string() + ": " + ec.message());
        throw mqtt::persistence_exception("cannot create " + dir_.string() + ": " + ec.message());
    }
    // Opened again (a client rebuilt on the same store): the log is the truth; commands
    // deleted but not yet released stay hidden, as they were.
    close_fd();
    entries_.clear();
    live_bytes_ = 0;
    migrated_.clear();
    std::string why;
    if (!replay(why)) {
        failed(why);
        throw mqtt::persistence_exception(why);
    }
    // A temporary file is a write the process did not finish: never a valid entry. Any
    // other file but the log is an entry of the per-key store this one replaced.
    for (const auto& entry : fs::directory_iterator(dir_, ec)) {
        const fs::path& path = entry.path();
        std::string name = path.filename().string();
        if (name.starts_with(".")) {
            fs::remove(path, ec);
            continue;
        }
        if (name == "log" || !entry.is_regular_file(ec)) continue;
        if (!entries_.contains(name)) {
            int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
            if (fd < 0) continue;
            std::string data;
            char buf[65536];
            ssize_t n;
            while ((n = ::read(fd, buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR)) {
                if (n > 0) data.append(buf, static_cast<std::size_t>(n));
            }
            ::close(fd);
            if (n < 0) continue;  // unreadable: left in place, not imported
            live_bytes_ += record_size(name.size(), data.size());
            entries_.emplace(std::move(name), std::move(data));
        }
        migrated_.push_back(path);
    }
    // Start from a log of the live entries only (the torn tail, dead records and imported
    // files gone).
    if (!rewrite(why)) {
        // Not fatal: every append tries the rewrite again first (and fails loudly).
        failed(why);
        need_rewrite_ = true;
    }
}

bool InflightStore::replay(std::string& why) {
    const fs::path log = log_path();
    int fd = ::open(log.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT) return true;
        why = describe("cannot open", log);
        return false;
    }
    std::string bytes;
    struct stat st {};
    if (::fstat(fd, &st) == 0 && st.st_size > 0)
        bytes.reserve(static_cast<std::size_t>(st.st_size));
    char buf[65536];
    for (;;) {
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            why = describe("cannot read", log);
            ::close(fd);
            return false;
        }
        if (n == 0) break;
        bytes.append(buf, static_cast<std::size_t>(n));
    }
    ::close(fd);

    const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
    std::size_t pos = 0;
    // Stops at the first record that is not whole: a write the process did not finish
    // (or garbage). Nothing after it was written by a process that saw it whole.
    while (bytes.size() - pos >= header_size + trailer_size) {
        std::uint32_t type = load32(p + pos);
        std::size_t key_len = load32(p + pos + 4);
        std::size_t data_len = load32(p + pos + 8);
        if (type != put_record && type != del_record) break;
        if (key_len == 0 || key_len > max_key || data_len > max_data) break;
        if (type == del_record && data_len != 0) break;
        std::size_t total = record_size(key_len, data_len);
        if (total > bytes.size() - pos) break;
        std::string_view body(bytes.data() + pos, total - trailer_size);
        if (crc32(0, body) != load32(p + pos + total - trailer_size)) break;
        std::string key(bytes.data() + pos + header_size, key_len);
        if (auto it = entries_.find(key); it != entries_.end()) {
            live_bytes_ -= record_size(it->first.size(), it->second.size());
            entries_.erase(it);
        }
        if (type == put_record) {
            live_bytes_ += total;
            entries_.emplace(std::move(key),
                             std::string(bytes.data() + pos + header_size + key_len, data_len));
        }
        pos += total;
    }
    size_ = pos;
    return true;
}

bool InflightStore::rewrite(std::string& why) {
    const fs::path log = log_path();
    const fs::path temp = temporary_path(log);
    int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0) {
        why = describe("cannot create", temp);
        return false;
    }
    std::string out;
    out.reserve(live_bytes_);
    for (const auto& [key, data] : entries_)
        encode(out, put_record, key, data);
    const std::string_view whole = out;
    if (!write_all(fd, {&whole, 1}) || ::rename(temp.c_str(), log.c_str()) != 0) {
        why = describe("cannot write", temp);
        ::close(fd);
        ::unlink(temp.c_str());
        return false;
    }
    // The new file, already open for appending: there is no moment without a log.
    close_fd();
    fd_ = fd;
    size_ = out.size();
    need_rewrite_ = false;
    next_compaction_ = 0;
    for (const auto& path : migrated_) {
        if (::unlink(path.c_str()) != 0 && errno != ENOENT) failed(describe("cannot remove", path));
    }
    migrated_.clear();
    return true;
}

bool InflightStore::append(const std::vector<std::string_view>& parts, std::string& why) {
    // The log deleted or its directory replaced under us: appending to the orphaned inode
    // would succeed and protect nothing, so write the live entries to a new log first.
    struct stat st {};
    if (!need_rewrite_ && (fd_ < 0 || ::fstat(fd_, &st) != 0 || st.st_nlink == 0))
        need_rewrite_ = true;
    if (need_rewrite_ && !rewrite(why)) return false;
    if (write_all(fd_, parts)) {
        for (auto part : parts)
            size_ += part.size();
        return true;
    }
    why = describe("cannot append to", log_path());
    // Part of the records may be in the log: cut them off, or the next append would
    // follow a torn record that ends the replay.
    if (::ftruncate(fd_, static_cast<off_t>(size_)) != 0) need_rewrite_ = true;
    return false;
}

void InflightStore::maybe_compact() {
    if (size_ <= compact_above_ || live_bytes_ * 4 >= size_ || size_ < next_compaction_) return;
    std::string why;
    if (!rewrite(why)) {
        // The old log is intact; try again once it has grown by another threshold.
        failed(why);
        next_compaction_ = size_ + compact_above_;
    }
}

void InflightStore::forget(const std::string& key) {
    if (auto it = entries_.find(key); it != entries_.end()) {
        live_bytes_ -= record_size(it->first.size(), it->second.size());
        entries_.erase(it);
    }
}

void InflightStore::put(const std::string& key, const std::vector<mqtt::string_view>& buffers) {
    std::string data;
    std::size_t length = 0;
    for (const auto& b : buffers)
        length += b.size();
    data.reserve(length);
    for (const auto& b : buffers)
        data.append(b.data(), b.size());
    if (key.empty() || key.size() > max_key || data.size() > max_data) {
        failed("entry too large: " + key);
        throw mqtt::persistence_exception("entry too large: " + key);
    }

    std::lock_guard lock(mutex_);
    Header h = header(put_record, key.size(), data.size());
    std::string_view hv(h.data(), h.size());
    Trailer tr;
    store32(tr.data(), crc32(crc32(crc32(0, hv), key), data));
    std::vector<std::string_view> parts{hv, key, data, std::string_view(tr.data(), tr.size())};

    // Writing a key again takes it back from the deferred deletions.
    std::erase(deferred_, key);
    // The in-flight copy is in the log: the commands Paho deleted before writing it (see
    // the header) can go, their DEL records after its PUT record.
    std::string deletions;
    std::vector<std::string> released;
    if (is_sent_publish(key) && !deferred_.empty()) {
        for (const auto& k : deferred_) {
            if (!entries_.contains(k)) continue;
            encode(deletions, del_record, k, {});
            released.push_back(k);
        }
        parts.emplace_back(deletions);
    }

    std::string why;
    if (!append(parts, why)) {
        // Not in the log: Paho must not be told it is, nor may a later rewrite add it.
        // The deferred commands stay, as no copy replaces them.
        forget(key);
        failed(why);
        throw mqtt::persistence_exception(why);
    }
    if (is_sent_publish(key)) deferred_.clear();
    for (const auto& k : released)
        forget(k);
    forget(key);
    live_bytes_ += record_size(key.size(), data.size());
    entries_.emplace(key, std::move(data));
    maybe_compact();
}

std::string InflightStore::get(const std::string& key) const {
    std::lock_guard lock(mutex_);
    // A deferred command is still in the log, and readable, as it was with a file per key.
    auto it = entries_.find(key);
    if (it == entries_.end()) throw mqtt::persistence_exception("no entry " + key);
    return it->second;
}

void InflightStore::remove(const std::string& key) {
    std::lock_guard lock(mutex_);
    if (!entries_.contains(key)) return;  // Paho removes keys it never wrote (QoS 0)
    if (is_queued_command(key)) {
        if (std::find(deferred_.begin(), deferred_.end(), key) == deferred_.end())
            deferred_.push_back(key);
        return;
    }
    std::string record;
    encode(record, del_record, key, {});
    std::string why;
    // Paho has let go of the entry either way; a DEL that did not reach the log leaves
    // it there, a duplicate after a restart, and a rewrite drops it.
    forget(key);
    if (!append({record}, why)) failed(why);
    maybe_compact();
}

bool InflightStore::contains_key(const std::string& key) {
    std::lock_guard lock(mutex_);
    if (std::find(deferred_.begin(), deferred_.end(), key) != deferred_.end()) return false;
    return entries_.contains(key);
}

mqtt::string_collection InflightStore::keys() const {
    std::lock_guard lock(mutex_);
    mqtt::string_collection result;
    for (const auto& [key, data] : entries_) {
        if (std::find(deferred_.begin(), deferred_.end(), key) != deferred_.end()) continue;
        result.push_back(key);
    }
    return result;
}

void InflightStore::close() {
    std::lock_guard lock(mutex_);
    close_fd();
    need_rewrite_ = true;  // appends after a close (there should be none) reopen the log
}

void InflightStore::clear() {
    std::lock_guard lock(mutex_);
    entries_.clear();
    deferred_.clear();
    migrated_.clear();
    live_bytes_ = 0;
    // No log at all is an empty store; the next append starts a new one.
    close_fd();
    need_rewrite_ = true;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(dir_, ec)) {
        if (!fs::remove(entry.path(), ec) && ec)
            failed("cannot remove " + entry.path().string() + ": " + ec.message());
    }
}

void InflightStore::failed(std::string why) {
    ++write_errors_;
    std::lock_guard lock(error_mutex_);
    last_error_ = std::move(why);
}

std::string InflightStore::last_error() const {
    std::lock_guard lock(error_mutex_);
    return last_error_;
}

}  // namespace errbridge::daemon
