#include "errbridge/daemon/state_dir.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include "atomic_file.h"

namespace errbridge::daemon {

namespace {

constexpr const char* subscriptions_file = "subscriptions";
constexpr const char* session_file = "session";

// Small state written rarely: synced, so it also survives a power cut.
std::optional<std::string> write_state(const std::filesystem::path& path,
                                       std::string_view content) {
    const std::string_view parts[] = {content};
    return write_file_atomically(path, parts, true);
}

}  // namespace

StateDir StateDir::open(const std::filesystem::path& root, const std::string& client_id) {
    if (root.empty()) throw StateDirError("state_dir is empty");
    std::filesystem::path path = root / client_id;
    std::error_code ec;
    std::filesystem::create_directories(path, ec);
    if (ec) {
        throw StateDirError("cannot create state directory " + path.string() + ": " + ec.message());
    }
    if (!std::filesystem::is_directory(path, ec)) {
        throw StateDirError("state directory " + path.string() + " is not a directory");
    }
    ::chmod(path.c_str(), 0700);  // in-flight events may carry device data
    StateDir dir(path);
    if (auto why = dir.probe_write()) throw StateDirError("state directory unusable: " + *why);
    return dir;
}

std::vector<std::string> StateDir::load_subscriptions() const {
    std::vector<std::string> filters;
    std::ifstream in(path_ / subscriptions_file);
    std::string line;
    while (std::getline(in, line)) {
        if (!line.empty()) filters.push_back(line);
    }
    return filters;
}

void StateDir::store_subscriptions(const std::vector<std::string>& filters) const {
    std::string content;
    for (const auto& f : filters) {
        content += f;
        content += '\n';
    }
    if (auto why = write_state(path_ / subscriptions_file, content)) {
        throw StateDirError(*why);
    }
}

bool StateDir::session_expected() const {
    std::error_code ec;
    return std::filesystem::exists(path_ / session_file, ec);
}

void StateDir::mark_session(bool expected) const {
    std::error_code ec;
    if (!expected) {
        std::filesystem::remove(path_ / session_file, ec);
        return;
    }
    if (session_expected()) return;
    if (auto why = write_state(path_ / session_file, "1\n")) throw StateDirError(*why);
}

std::optional<std::string> StateDir::probe_write() const {
    // About one event's size: a filesystem that cannot take this cannot take Paho's writes.
    const std::string block(4096, 'x');
    std::filesystem::path probe = path_ / ".probe";
    auto why = write_state(probe, block);
    std::error_code ec;
    std::filesystem::remove(probe, ec);
    return why;
}

}  // namespace errbridge::daemon
