#pragma once

#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace errbridge::daemon {

// Writes `parts` to `path` all or nothing: a hidden temporary file (".<name>.tmp" in the
// same directory) renamed into place, so a killed process leaves the old file or the new
// one, never half of one. `sync` adds an fsync for state that must also survive a power
// cut; per-event writes skip it. Returns why it failed, or nothing.
std::optional<std::string> write_file_atomically(const std::filesystem::path& path,
                                                 std::span<const std::string_view> parts,
                                                 bool sync);

// The temporary name write_file_atomically uses for `path`.
std::filesystem::path temporary_path(const std::filesystem::path& path);

}  // namespace errbridge::daemon
