#pragma once

#include <span>
#include <string_view>

namespace errbridge::daemon {

// Writes every byte of `parts` to `fd`, continuing after short writes (disk nearly full, a
// file size limit) and interrupted calls, at most IOV_MAX parts per writev. False with errno
// set when a write fails.
bool write_all(int fd, std::span<const std::string_view> parts);

}  // namespace errbridge::daemon
