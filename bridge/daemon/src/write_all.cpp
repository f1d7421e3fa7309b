#include "write_all.h"

#include <sys/uio.h>

#include <algorithm>
#include <cerrno>
#include <climits>
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

}  // namespace errbridge::daemon
