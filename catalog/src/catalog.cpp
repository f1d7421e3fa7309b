#include "errbridge/catalog/catalog.h"

#include <algorithm>
#include <bit>
#include <fstream>
#include <sstream>

namespace errbridge::catalog {

std::string_view to_string(Kind kind) {
    return kind == Kind::success ? "success" : "error";
}

std::string_view to_string(Severity severity) {
    switch (severity) {
        case Severity::info:
            return "info";
        case Severity::warning:
            return "warning";
        case Severity::error:
            return "error";
        case Severity::critical:
            return "critical";
    }
    return "error";
}

std::optional<Severity> parse_severity(std::string_view text) {
    if (text == "info") return Severity::info;
    if (text == "warning") return Severity::warning;
    if (text == "error") return Severity::error;
    if (text == "critical") return Severity::critical;
    return std::nullopt;
}

const std::vector<std::string_view>& categories() {
    static const std::vector<std::string_view> names = {
        "auth",           "permission",    "license",     "rate-limit", "quota",   "payload-format",
        "invalid-param",  "data-model",    "not-found",   "conflict",   "state",   "connectivity",
        "field-protocol", "configuration", "unsupported", "script",     "storage", "firmware",
        "platform",       "success",       "unknown"};
    return names;
}

bool is_category(std::string_view name) {
    const auto& names = categories();
    return std::find(names.begin(), names.end(), name) != names.end();
}

namespace {

// Seed request topics use `+` for single levels; replies are matched with `_reply`
// already removed by the caller.
bool topic_matches(std::string_view pattern, std::string_view topic) {
    while (true) {
        auto p_end = pattern.find('/');
        auto t_end = topic.find('/');
        std::string_view p_level = pattern.substr(0, p_end);
        std::string_view t_level = topic.substr(0, t_end);
        if (p_level == "#") return true;
        if (p_level != "+" && p_level != t_level) return false;
        if (p_end == std::string_view::npos || t_end == std::string_view::npos) {
            return p_end == std::string_view::npos && t_end == std::string_view::npos;
        }
        pattern.remove_prefix(p_end + 1);
        topic.remove_prefix(t_end + 1);
    }
}

}  // namespace

const Context* Entry::context_for(std::string_view request_topic) const {
    for (const auto& context : contexts) {
        if (topic_matches(context.topic, request_topic)) return &context;
    }
    return nullptr;
}

const FirmwareMeaning* Entry::meaning_on(std::string_view firmware_version) const {
    for (const auto& meaning : firmware) {
        if (meaning.firmware == firmware_version) return &meaning;
    }
    return nullptr;
}

DecodeRules DecodeRules::merged_over(const DecodeRules& defaults) const {
    DecodeRules out = defaults;
    auto take = [](auto& target, const auto& source) {
        if (source) target = source;
    };
    take(out.format, format);
    take(out.xml_root, xml_root);
    take(out.code, code);
    take(out.message, message);
    take(out.tag, tag);
    take(out.request_id, request_id);
    take(out.method, method);
    take(out.success, success);
    take(out.success_when, success_when);
    take(out.fan_out, fan_out);
    take(out.ids, ids);
    take(out.device_keys, device_keys);
    take(out.device, device);
    take(out.firmware, firmware);
    return out;
}

void Catalog::merge(Vendor vendor) {
    auto existing = std::find_if(vendors_.begin(), vendors_.end(),
                                 [&](const Vendor& v) { return v.id == vendor.id; });
    if (existing == vendors_.end()) {
        if (!vendor.decode.format || !vendor.decode.code) {
            throw CatalogError(vendor.origin + ": vendor \"" + vendor.id +
                               "\" is new, so its document needs decode.format and decode.code");
        }
        vendors_.push_back(std::move(vendor));
        rebuild_index();
        return;
    }
    Vendor& target = *existing;
    if (vendor.code_style != target.code_style) {
        throw CatalogError(vendor.origin + ": code_style differs from the existing " + target.id +
                           " catalog (" + target.origin + ")");
    }
    for (auto& [id, text] : vendor.sources)
        target.sources[id] = text;
    if (vendor.decode.format || vendor.decode.code) target.decode = vendor.decode;
    if (!vendor.routes.empty()) target.routes = std::move(vendor.routes);
    if (!vendor.title.empty()) target.title = vendor.title;
    for (auto& entry : vendor.entries) {
        auto same = std::find_if(target.entries.begin(), target.entries.end(), [&](const Entry& e) {
            return e.is_range == entry.is_range && e.range_lo == entry.range_lo &&
                   e.range_hi == entry.range_hi;
        });
        if (same != target.entries.end()) {
            *same = std::move(entry);
        } else {
            target.entries.push_back(std::move(entry));
        }
    }
    target.origin += ", " + vendor.origin;
    rebuild_index();
}

void Catalog::merge_paths(const std::vector<std::filesystem::path>& paths) {
    namespace fs = std::filesystem;
    std::vector<fs::path> files;
    for (const auto& path : paths) {
        std::error_code ec;
        if (fs::is_directory(path, ec)) {
            std::vector<fs::path> found;
            for (const auto& item : fs::directory_iterator(path, ec)) {
                if (item.path().extension() == ".json") found.push_back(item.path());
            }
            if (ec) throw CatalogError(path.string() + ": cannot list directory: " + ec.message());
            std::sort(found.begin(), found.end());
            files.insert(files.end(), found.begin(), found.end());
        } else {
            files.push_back(path);
        }
    }
    Catalog staged = *this;  // all or nothing
    for (const auto& file : files) {
        std::ifstream in(file, std::ios::binary);
        if (!in) throw CatalogError(file.string() + ": cannot read file");
        std::ostringstream text;
        text << in.rdbuf();
        if (in.bad()) throw CatalogError(file.string() + ": read error");
        staged.merge(parse_document(text.str(), file.string()));
    }
    *this = std::move(staged);
}

const Vendor* Catalog::vendor(std::string_view id) const {
    int index = vendor_index(id);
    return index < 0 ? nullptr : &vendors_[static_cast<std::size_t>(index)];
}

int Catalog::vendor_index(std::string_view id) const {
    for (std::size_t i = 0; i < vendors_.size(); ++i) {
        if (vendors_[i].id == id) return static_cast<int>(i);
    }
    return -1;
}

namespace {

// Fibonacci hashing: the top bits of key * 2^64/phi spread consecutive codes (which catalogs
// are full of) over the table.
std::size_t slot_of(std::int64_t key, int shift) {
    return static_cast<std::size_t>((static_cast<std::uint64_t>(key) * 0x9e3779b97f4a7c15ULL) >>
                                    shift);
}

}  // namespace

void Catalog::rebuild_index() {
    index_.assign(vendors_.size(), Index{});
    for (std::size_t v = 0; v < vendors_.size(); ++v) {
        const auto& entries = vendors_[v].entries;
        Index& index = index_[v];
        std::vector<std::pair<std::int64_t, std::uint32_t>> singles;
        for (std::uint32_t i = 0; i < entries.size(); ++i) {
            if (entries[i].is_range) {
                index.ranges.push_back(i);
            } else {
                singles.emplace_back(entries[i].range_lo, i);
            }
        }
        std::size_t size = 8;
        while (size < 2 * singles.size())
            size *= 2;
        index.shift = 64 - std::countr_zero(size);
        index.keys.assign(size, 0);
        index.entries.assign(size, Index::empty);
        for (auto& [key, i] : singles) {
            std::size_t slot = slot_of(key, index.shift);
            while (index.entries[slot] != Index::empty)
                slot = (slot + 1) & (size - 1);
            index.keys[slot] = key;
            index.entries[slot] = i;
        }
        std::sort(index.ranges.begin(), index.ranges.end(), [&](std::uint32_t a, std::uint32_t b) {
            return entries[a].range_hi - entries[a].range_lo <
                   entries[b].range_hi - entries[b].range_lo;
        });
    }
}

const Entry* Catalog::find(int vendor_index, std::int64_t key) const {
    if (vendor_index < 0 || static_cast<std::size_t>(vendor_index) >= index_.size()) return nullptr;
    const Index& index = index_[static_cast<std::size_t>(vendor_index)];
    const auto& entries = vendors_[static_cast<std::size_t>(vendor_index)].entries;
    const std::size_t last = index.keys.size() - 1;
    for (std::size_t slot = slot_of(key, index.shift);; slot = (slot + 1) & last) {
        std::uint32_t entry = index.entries[slot];
        if (entry == Index::empty) break;
        if (index.keys[slot] == key) return &entries[entry];
    }
    for (std::uint32_t i : index.ranges) {
        if (entries[i].range_lo <= key && key <= entries[i].range_hi) return &entries[i];
    }
    return nullptr;
}

const Entry* Catalog::find(std::string_view vendor_id, std::int64_t key) const {
    return find(vendor_index(vendor_id), key);
}

}  // namespace errbridge::catalog
