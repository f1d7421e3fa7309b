#include "errbridge/daemon/state_dir.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>

namespace errbridge::daemon {

namespace {

constexpr const char* subscriptions_file = "subscriptions";
constexpr const char* session_file = "session";

std::string errno_text() {
    return std::strerror(errno);
}

// Writes `content` to `path` through a temporary file, fsync and rename.
std::optional<std::string> write_atomically(const std::filesystem::path& path,
                                            const std::string& content) {
    std::filesystem::path tmp = path;
    tmp += ".tmp";
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return "cannot create " + tmp.string() + ": " + errno_text();
    // Every failure after the open leaves no temporary file behind.
    auto fail = [&](const char* what) -> std::optional<std::string> {
        std::string why = std::string(what) + " " + tmp.string() + ": " + errno_text();
        if (fd >= 0) ::close(fd);
        ::unlink(tmp.c_str());
        return why;
    };
    std::size_t done = 0;
    while (done < content.size()) {
        ssize_t n = ::write(fd, content.data() + done, content.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return fail("cannot write");
        done += static_cast<std::size_t>(n);
    }
    if (::fsync(fd) != 0) return fail("cannot sync");
    ::close(fd);
    fd = -1;
    if (::rename(tmp.c_str(), path.c_str()) != 0) return fail("cannot rename");
    return std::nullopt;
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
    if (auto why = write_atomically(path_ / subscriptions_file, content)) {
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
    if (auto why = write_atomically(path_ / session_file, "1\n")) throw StateDirError(*why);
}

std::optional<std::string> StateDir::probe_write() const {
    // About one event's size: a filesystem that cannot take this cannot take Paho's writes.
    const std::string block(4096, 'x');
    std::filesystem::path probe = path_ / ".probe";
    auto why = write_atomically(probe, block);
    std::error_code ec;
    std::filesystem::remove(probe, ec);
    return why;
}

}  // namespace errbridge::daemon
