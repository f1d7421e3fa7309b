#include "errbridge/daemon/inflight_store.h"

#include <fcntl.h>
#include <mqtt/exception.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <system_error>

#include "atomic_file.h"

namespace errbridge::daemon {

namespace fs = std::filesystem;

namespace {

// Paho's key prefixes: queued commands (3.1.1 and 5) and in-flight copies of sent
// publishes.
bool is_queued_command(const std::string& key) {
    return key.starts_with("c-") || key.starts_with("c5-");
}

bool is_sent_publish(const std::string& key) {
    return key.starts_with("s-") || key.starts_with("s5-");
}

}  // namespace

InflightStore::InflightStore(fs::path dir, std::atomic<std::uint64_t>& write_errors)
    : dir_(std::move(dir)), write_errors_(write_errors) {}

void InflightStore::open(const std::string&, const std::string&) {
    // The client id is already in the path; the server URI is deliberately not (Paho's
    // default puts it there, which orphans undelivered events when the port changes).
    std::error_code ec;
    fs::create_directories(dir_, ec);
    if (ec) {
        ++write_errors_;
        throw mqtt::persistence_exception("cannot create " + dir_.string() + ": " + ec.message());
    }
    // A temporary file is a write the process did not finish: never a valid entry.
    for (const auto& entry : fs::directory_iterator(dir_, ec)) {
        if (entry.path().filename().string().starts_with(".")) fs::remove(entry.path(), ec);
    }
}

void InflightStore::put(const std::string& key, const std::vector<mqtt::string_view>& buffers) {
    std::vector<std::string_view> parts;
    for (const auto& b : buffers)
        parts.emplace_back(b.data(), b.size());
    if (auto why = write_file_atomically(file(key), parts, false)) {
        ++write_errors_;
        throw mqtt::persistence_exception(*why);
    }
    if (is_sent_publish(key)) {
        // The in-flight copy is in place: the commands Paho deleted before writing it (see
        // the header) can go now.
        std::vector<std::string> ready;
        {
            std::lock_guard lock(mutex_);
            ready.swap(deferred_);
        }
        for (const auto& k : ready)
            delete_file(k);
    }
}

std::string InflightStore::get(const std::string& key) const {
    std::ifstream in(file(key), std::ios::binary);
    if (!in) throw mqtt::persistence_exception("no entry " + key);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void InflightStore::remove(const std::string& key) {
    if (is_queued_command(key)) {
        std::lock_guard lock(mutex_);
        deferred_.push_back(key);
        return;
    }
    delete_file(key);
}

bool InflightStore::contains_key(const std::string& key) {
    {
        std::lock_guard lock(mutex_);
        if (std::find(deferred_.begin(), deferred_.end(), key) != deferred_.end()) return false;
    }
    std::error_code ec;
    return fs::exists(file(key), ec);
}

mqtt::string_collection InflightStore::keys() const {
    std::vector<std::string> deferred;
    {
        std::lock_guard lock(mutex_);
        deferred = deferred_;
    }
    mqtt::string_collection result;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(dir_, ec)) {
        std::string name = entry.path().filename().string();
        if (name.starts_with(".")) continue;  // an unfinished write
        if (std::find(deferred.begin(), deferred.end(), name) != deferred.end()) continue;
        result.push_back(name);
    }
    return result;
}

void InflightStore::clear() {
    {
        std::lock_guard lock(mutex_);
        deferred_.clear();
    }
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(dir_, ec))
        fs::remove(entry.path(), ec);
}

void InflightStore::delete_file(const std::string& key) const {
    // A missing file is fine: Paho removes keys it never wrote (QoS 0, cleared sessions).
    if (::unlink(file(key).c_str()) != 0 && errno != ENOENT) ++write_errors_;
}

}  // namespace errbridge::daemon
