#pragma once

// Output topic templates and the `{device}` template (SPEC §4, §5): literal text with
// `{name}` placeholders. Rendered values are sanitised so an id can never add levels or
// wildcards to a topic: `+`, `#` and NUL become `_`, `/` becomes `_` (except inside the
// already-rendered `{device}`), and an empty value renders `_`.

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace errbridge::config {

class TopicTemplate {
  public:
    struct Part {
        bool placeholder;
        std::string text;  // literal text or placeholder name
    };

    // Throws std::invalid_argument with a one-line reason.
    static TopicTemplate parse(std::string_view text);

    const std::string& text() const { return text_; }
    const std::vector<Part>& parts() const { return parts_; }
    std::vector<std::string> placeholders() const;

    // `lookup` returns the raw value of a placeholder, or nullopt when unknown (renders `_`).
    // `keep_slashes` names the one placeholder whose `/` are kept (`device`).
    using Lookup = std::function<std::optional<std::string_view>(std::string_view)>;
    std::string render(const Lookup& lookup, std::string_view keep_slashes = "device") const;

    // Whether every placeholder has a non-empty value (device templates: first complete wins).
    bool complete(const Lookup& lookup) const;

    // As a topic pattern that matches every topic this template can produce: used to refuse
    // output topics our own routes would match.
    std::string as_pattern(std::string_view multi_level = "device") const;

  private:
    std::string text_;
    std::vector<Part> parts_;
};

// `+`, `#`, NUL (and `/` unless keep_slashes) -> `_`; empty -> `_`.
void append_sanitised(std::string& out, std::string_view value, bool keep_slashes);

}  // namespace errbridge::config
