#include "errbridge/config/topic_template.h"

#include <algorithm>
#include <stdexcept>

namespace errbridge::config {

void append_sanitised(std::string& out, std::string_view value, bool keep_slashes) {
    if (value.empty()) {
        out += '_';
        return;
    }
    std::size_t level_start = out.size();
    for (char c : value) {
        if (c == '+' || c == '#' || c == '\0' || (c == '/' && !keep_slashes)) {
            out += '_';
        } else if (c == '/') {
            if (out.size() == level_start) out += '_';  // no empty level inside {device}
            out += '/';
            level_start = out.size();
        } else {
            out += c;
        }
    }
    if (out.size() == level_start) out += '_';
}

TopicTemplate TopicTemplate::parse(std::string_view text) {
    if (text.empty()) throw std::invalid_argument("empty template");
    TopicTemplate t;
    t.text_ = std::string(text);
    std::size_t i = 0;
    while (i < text.size()) {
        if (text[i] == '{') {
            auto close = text.find('}', i);
            if (close == std::string_view::npos) throw std::invalid_argument("unclosed '{'");
            std::string name(text.substr(i + 1, close - i - 1));
            bool ok = !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
                return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
            });
            if (!ok) {
                throw std::invalid_argument("placeholder {" + name +
                                            "} must be lower-case letters, digits and _");
            }
            t.parts_.push_back({true, name});
            i = close + 1;
        } else if (text[i] == '}') {
            throw std::invalid_argument("unmatched '}'");
        } else {
            auto next = text.find_first_of("{}", i);
            if (next == std::string_view::npos) next = text.size();
            std::string literal(text.substr(i, next - i));
            if (literal.find_first_of("+#") != std::string::npos) {
                throw std::invalid_argument("'+' and '#' are not allowed in a published topic");
            }
            if (literal.find('\0') != std::string::npos) {
                throw std::invalid_argument("NUL character in template");
            }
            t.parts_.push_back({false, literal});
            i = next;
        }
    }
    // Placeholders always render non-empty, so only literal text can make an empty level.
    std::string shape;
    for (const auto& part : t.parts_)
        shape += part.placeholder ? std::string("x") : part.text;
    if (shape.front() == '/' || shape.back() == '/' || shape.find("//") != std::string::npos) {
        throw std::invalid_argument("empty topic level");
    }
    return t;
}

std::vector<std::string> TopicTemplate::placeholders() const {
    std::vector<std::string> names;
    for (const auto& part : parts_) {
        if (part.placeholder) names.push_back(part.text);
    }
    return names;
}

std::string TopicTemplate::render(const Lookup& lookup, std::string_view keep_slashes) const {
    std::string out;
    for (const auto& part : parts_) {
        if (!part.placeholder) {
            out += part.text;
            continue;
        }
        auto value = lookup(part.text);
        append_sanitised(out, value.value_or(""), part.text == keep_slashes);
    }
    return out;
}

bool TopicTemplate::complete(const Lookup& lookup) const {
    for (const auto& part : parts_) {
        if (!part.placeholder) continue;
        auto value = lookup(part.text);
        if (!value || value->empty()) return false;
    }
    return true;
}

std::string TopicTemplate::as_pattern(std::string_view multi_level) const {
    // Each level becomes: literal text, `+` when it holds a single-level placeholder, or
    // `**` when it holds the multi-level one (which may also span several levels).
    std::string out;
    std::string level;
    bool wild = false;
    bool multi = false;
    auto flush = [&] {
        if (!out.empty() || !level.empty() || wild || multi) {
            if (!out.empty()) out += '/';
            out += multi ? "**" : wild ? "+" : level;
        }
        level.clear();
        wild = multi = false;
    };
    for (const auto& part : parts_) {
        if (part.placeholder) {
            (part.text == multi_level ? multi : wild) = true;
            continue;
        }
        for (char c : part.text) {
            if (c == '/') {
                flush();
            } else {
                level += c;
            }
        }
    }
    flush();
    return out;
}

}  // namespace errbridge::config
