#include "errbridge/catalog/export.h"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>

#include "errbridge/catalog/code.h"

namespace errbridge::catalog {
namespace {

struct Row {
    const Vendor* vendor;
    const Entry* entry;
    std::string code;  // empty for an open range
    std::int64_t sort_key;
};

std::vector<Row> rows_of(const Catalog& catalog, std::string_view vendor_filter) {
    std::vector<Row> rows;
    for (const auto& vendor : catalog.vendors()) {
        if (!vendor_filter.empty() && vendor.id != vendor_filter) continue;
        std::vector<Row> own;
        for (const auto& entry : vendor.entries) {
            if (!entry.is_range) {
                own.push_back({&vendor, &entry, entry.code, entry.range_lo});
            } else if (entry.expand) {
                for (std::int64_t key = entry.range_lo; key <= entry.range_hi; ++key) {
                    // A single entry inside an expanded range is more specific: it wins.
                    if (catalog.find(vendor.id, key) != &entry) continue;
                    own.push_back({&vendor, &entry, canonical_code(vendor.code_style, key), key});
                }
            } else {
                own.push_back({&vendor, &entry, "", entry.range_lo});
            }
        }
        std::stable_sort(own.begin(), own.end(),
                         [](const Row& a, const Row& b) { return a.sort_key < b.sort_key; });
        rows.insert(rows.end(), own.begin(), own.end());
    }
    return rows;
}

std::string csv_field(std::string_view text) {
    if (text.find_first_of(",\"\n\r") == std::string_view::npos) return std::string(text);
    std::string out = "\"";
    for (char c : text) {
        if (c == '"') out += '"';
        out += c;
    }
    return out + "\"";
}

}  // namespace

std::string export_catalog(const Catalog& catalog, std::string_view vendor_filter,
                           ExportFormat format, Lang lang) {
    std::string out;
    if (format == ExportFormat::csv) {
        out += "vendor,code,code_range,kind,category,severity,retryable,message,fix,source\n";
    }
    for (const Row& row : rows_of(catalog, vendor_filter)) {
        const Entry& e = *row.entry;
        std::string range = row.code.empty()
                                ? std::to_string(e.range_lo) + "-" + std::to_string(e.range_hi)
                                : std::string();
        if (format == ExportFormat::csv) {
            out += csv_field(row.vendor->id) + ',' + csv_field(row.code) + ',' + range + ',' +
                   std::string(to_string(e.kind)) + ',' + e.category + ',' +
                   std::string(to_string(e.severity)) + ',' + (e.retryable ? "true" : "false") +
                   ',' + csv_field(e.message.in(lang)) + ',' + csv_field(e.fix.in(lang)) + ',' +
                   csv_field(e.source) + '\n';
            continue;
        }
        rapidjson::StringBuffer buffer;
        rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
        w.StartObject();
        w.Key("vendor");
        w.String(row.vendor->id.c_str());
        if (row.code.empty()) {
            w.Key("code_range");
            w.StartArray();
            w.Int64(e.range_lo);
            w.Int64(e.range_hi);
            w.EndArray();
        } else {
            w.Key("code");
            w.String(row.code.c_str());
        }
        w.Key("kind");
        w.String(to_string(e.kind).data());
        w.Key("category");
        w.String(e.category.c_str());
        w.Key("severity");
        w.String(to_string(e.severity).data());
        w.Key("retryable");
        w.Bool(e.retryable);
        w.Key("message");
        w.String(e.message.in(lang).c_str());
        w.Key("fix");
        w.String(e.fix.in(lang).c_str());
        w.Key("source");
        w.String(e.source.c_str());
        w.EndObject();
        out.append(buffer.GetString(), buffer.GetSize());
        out += '\n';
    }
    return out;
}

}  // namespace errbridge::catalog
