#include "atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "write_all.h"

namespace errbridge::daemon {

std::filesystem::path temporary_path(const std::filesystem::path& path) {
    return path.parent_path() / ("." + path.filename().string() + ".tmp");
}

std::optional<std::string> write_file_atomically(const std::filesystem::path& path,
                                                 std::span<const std::string_view> parts,
                                                 bool sync) {
    const std::filesystem::path temp = temporary_path(path);
    int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return "cannot create " + temp.string() + ": " + std::strerror(errno);
    // Every failure after the open leaves no temporary file behind.
    auto fail = [&](const char* what) -> std::optional<std::string> {
        std::string why = std::string(what) + " " + temp.string() + ": " + std::strerror(errno);
        if (fd >= 0) ::close(fd);
        ::unlink(temp.c_str());
        return why;
    };
    if (!write_all(fd, parts)) return fail("cannot write");
    if (sync && ::fsync(fd) != 0) return fail("cannot sync");
    if (::close(fd) != 0) {
        fd = -1;
        return fail("cannot close");
    }
    fd = -1;
    if (::rename(temp.c_str(), path.c_str()) != 0) return fail("cannot rename");
    return std::nullopt;
}

}  // namespace errbridge::daemon
