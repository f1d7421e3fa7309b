#include "atomic_file.h"

#include <fcntl.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <vector>

namespace errbridge::daemon {

bool write_all(int fd, std::span<const std::string_view> parts) {
    std::vector<iovec> left;
    left.reserve(parts.size());
    for (auto part : parts) {
        if (!part.empty()) left.push_back({const_cast<char*>(part.data()), part.size()});
    }
    std::size_t first = 0;
    while (first < left.size()) {
        int count = static_cast<int>(std::min<std::size_t>(left.size() - first, IOV_MAX));
        ssize_t n = ::writev(fd, left.data() + first, count);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return false;
        if (n == 0) {
            errno = EIO;
            return false;
        }
        auto done = static_cast<std::size_t>(n);
        while (first < left.size() && done >= left[first].iov_len)
            done -= left[first++].iov_len;
        if (first < left.size()) {
            left[first].iov_base = static_cast<char*>(left[first].iov_base) + done;
            left[first].iov_len -= done;
        }
    }
    return true;
}

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
