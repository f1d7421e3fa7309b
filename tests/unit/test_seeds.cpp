// Every code of the five seed documents must be in the built-in catalog with the seed's
// text. The seeds are read by seed_parser, never by the catalog loader, and texts are
// compared after whitespace normalisation under the invariants of catalog/README.md.

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstddef>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "errbridge/catalog/catalog.h"
#include "errbridge/catalog/code.h"
#include "seed_parser.h"

namespace errbridge::seeds {
namespace {

using catalog::Catalog;
using catalog::Entry;
using catalog::Text;
using catalog::Vendor;

struct SeedDocument {
    std::string_view vendor_id;
    std::vector<SeedRow> (*parse)(std::string_view);
    std::filesystem::path SeedFiles::*file;
    // Distinct codes, counted by hand from the documents (seeds/README.md agrees).
    std::size_t distinct_codes;
};

const SeedDocument documents[] = {
    {"neuron", parse_neuron, &SeedFiles::neuron, 207},
    {"tuya", parse_tuya, &SeedFiles::tuya, 83},
    {"aliyun", parse_aliyun, &SeedFiles::aliyun, 74},
    {"huawei-iotedge", parse_huawei, &SeedFiles::huawei, 72},
    {"camera", parse_camera, &SeedFiles::camera, 54},
};

const SeedDocument& document_of(std::string_view vendor_id) {
    for (const auto& document : documents) {
        if (document.vendor_id == vendor_id) return document;
    }
    throw std::logic_error("no seed document for " + std::string(vendor_id));
}

std::vector<SeedRow> read_rows(const SeedDocument& document) {
    std::string why;
    auto files = locate_seed_files(seeds_dir(), why);
    if (!files) throw std::runtime_error(why);
    return document.parse(read_document((*files).*document.file));
}

std::string in_quotes(std::string_view text) {
    return "\"" + std::string(text) + "\"";
}

std::string where(const Vendor& vendor, const SeedRow& row) {
    return vendor.id + " " + row.code + " (seed line " + std::to_string(row.line) + "): ";
}

// Whether `seed` is `message` followed by the start of `fix`: Alibaba runs cause and
// solution together, and a catalog fix starts with the vendor's solution verbatim before
// our own advice. The part taken from `fix` ends at a word boundary.
bool is_message_then_fix(const std::string& seed, const std::string& message,
                         const std::string& fix) {
    std::string s = normalise_whitespace(seed);
    std::string m = normalise_whitespace(message);
    if (m.empty()) return false;
    if (s == m) return true;
    if (s.size() <= m.size() + 1 || s.compare(0, m.size(), m) != 0 || s[m.size()] != ' ') {
        return false;
    }
    std::string rest = s.substr(m.size() + 1);
    std::string f = normalise_whitespace(fix);
    return f == rest || (f.size() > rest.size() && f.compare(0, rest.size(), rest) == 0 &&
                         f[rest.size()] == ' ');
}

// Topic levels match when equal or when either is `+`; a `#` matches the rest.
bool topics_match(std::string_view a, std::string_view b) {
    while (true) {
        auto a_end = a.find('/');
        auto b_end = b.find('/');
        std::string_view a_level = a.substr(0, a_end);
        std::string_view b_level = b.substr(0, b_end);
        if (a_level == "#" || b_level == "#") return true;
        if (a_level != "+" && b_level != "+" && a_level != b_level) return false;
        if (a_end == std::string_view::npos || b_end == std::string_view::npos) {
            return a_end == std::string_view::npos && b_end == std::string_view::npos;
        }
        a.remove_prefix(a_end + 1);
        b.remove_prefix(b_end + 1);
    }
}

// Adds a mismatch when the normalised texts differ.
void compare_text(std::vector<std::string>& out, const Vendor& vendor, const SeedRow& row,
                  std::string_view field, std::string_view expected, std::string_view actual) {
    std::string e = normalise_whitespace(expected);
    std::string a = normalise_whitespace(actual);
    if (e == a) return;
    out.push_back(where(vendor, row) + std::string(field) + ": expected " + in_quotes(e) +
                  ", catalog has " + in_quotes(a));
}

// What every seed code needs whatever its vendor: the fields the daemon emits.
void check_basics(std::vector<std::string>& out, const Vendor& vendor, const SeedRow& row,
                  const Entry& entry) {
    if (entry.category.empty() || !catalog::is_category(entry.category) ||
        entry.category == "unknown") {
        out.push_back(where(vendor, row) + "category " + in_quotes(entry.category) +
                      " is not a catalog category");
    }
    if (entry.message.en.empty()) out.push_back(where(vendor, row) + "message.en is empty");
    if (entry.fix.en.empty()) out.push_back(where(vendor, row) + "fix.en is empty");
    if (row.spelling != row.code && std::find(entry.aliases.begin(), entry.aliases.end(),
                                              row.spelling) == entry.aliases.end()) {
        out.push_back(where(vendor, row) + "the seed spells it " + in_quotes(row.spelling) +
                      ", which is not among the entry's aliases");
    }
}

void check_aliyun_row(std::vector<std::string>& out, const Vendor& vendor, const SeedRow& row,
                      const Entry& entry) {
    if (is_message_then_fix(row.text, entry.message.en, entry.fix.en)) return;
    std::string tried;
    for (const auto& context : entry.contexts) {
        bool applies = std::any_of(
            row.request_topics.begin(), row.request_topics.end(),
            [&](const std::string& topic) { return topics_match(context.topic, topic); });
        if (!applies) continue;
        if (is_message_then_fix(row.text, context.message.en, context.fix.en)) return;
        tried += "; context " + context.topic + ": message.en " + in_quotes(context.message.en) +
                 ", fix.en " + in_quotes(context.fix.en);
    }
    std::string topics;
    for (const auto& topic : row.request_topics)
        topics += (topics.empty() ? "" : ", ") + topic;
    out.push_back(where(vendor, row) + "expected message.en + \" \" + the start of fix.en to be " +
                  in_quotes(normalise_whitespace(row.text)) + " (request topics: " +
                  (topics.empty() ? "none" : topics) + "), catalog has message.en " +
                  in_quotes(entry.message.en) + ", fix.en " + in_quotes(entry.fix.en) + tried);
}

// The bare codes of the "System error codes" cell take 6318's text (SPEC §5); 6301 keeps
// its TSL meaning and carries the system-error one among its variants.
void check_aliyun_bare(std::vector<std::string>& out, const Vendor& vendor, const SeedRow& row,
                       const Entry& entry, const Entry* system_error) {
    if (system_error == nullptr) {
        out.push_back(where(vendor, row) + "6318, whose text the bare code takes, is missing");
        return;
    }
    std::string expected = normalise_whitespace(system_error->message.en);
    if (row.code != "6301") {
        compare_text(out, vendor, row, "message.en (6318's message)", expected, entry.message.en);
        return;
    }
    // The older "Device log" document's text for 6301 is the other acceptable variant.
    bool found = std::any_of(entry.variants.begin(), entry.variants.end(), [&](const auto& v) {
        std::string text = normalise_whitespace(v.message);
        std::transform(text.begin(), text.end(), text.begin(),
                       [](char c) { return c >= 'A' && c <= 'Z' ? char(c - 'A' + 'a') : c; });
        return normalise_whitespace(v.message) == expected ||
               text == "error verifying input parameter type";
    });
    if (!found) {
        out.push_back(where(vendor, row) + "the bare system-error 6301 needs a variant with " +
                      in_quotes(expected) + " (6318's message); catalog has " +
                      std::to_string(entry.variants.size()) + " variant(s)");
    }
}

// Mismatches between `rows` (one vendor's seed) and `vendor` as found in `catalog`, each
// naming vendor, code, seed line, expected and actual text. Empty when they agree.
std::vector<std::string> check_vendor(const Vendor& vendor, const Catalog& catalog,
                                      const std::vector<SeedRow>& rows) {
    std::vector<std::string> out;
    const Entry* system_error = nullptr;
    if (vendor.id == "aliyun") {
        if (auto key = catalog::parse_wire_code(vendor.code_style, "6318")) {
            system_error = catalog.find(vendor.id, *key);
        }
    }
    for (const auto& row : rows) {
        auto key = catalog::parse_wire_code(vendor.code_style, row.code);
        if (!key) {
            out.push_back(where(vendor, row) + "the code does not parse as a " + vendor.id +
                          " wire code");
            continue;
        }
        if (std::string canonical = catalog::canonical_code(vendor.code_style, *key);
            canonical != row.code) {
            out.push_back(where(vendor, row) + "canonical spelling is " + in_quotes(canonical));
        }
        const Entry* entry = catalog.find(vendor.id, *key);
        if (entry == nullptr) {
            out.push_back(where(vendor, row) + "not in the catalog; seed text " +
                          in_quotes(normalise_whitespace(row.text)));
            continue;
        }
        check_basics(out, vendor, row, *entry);
        if (vendor.id == "neuron") {
            compare_text(out, vendor, row, "message.en", row.text, entry->message.en);
        } else if (vendor.id == "tuya") {
            compare_text(out, vendor, row, "message.en + \" \" + description.en", row.text,
                         entry->message.en + " " + entry->description.en);
        } else if (vendor.id == "camera") {
            std::string joined = entry->message.en;
            if (!entry->description.en.empty()) joined += " \xE2\x80\x94 " + entry->description.en;
            if (normalise_whitespace(row.text) != normalise_whitespace(entry->message.en)) {
                compare_text(out, vendor, row, "message.en [+ \" — \" + description.en]", row.text,
                             joined);
            }
        } else if (vendor.id == "huawei-iotedge") {
            if (entry->http_status != row.http_status) {
                out.push_back(where(vendor, row) + "http_status: expected " +
                              std::to_string(row.http_status.value_or(0)) + ", catalog has " +
                              (entry->http_status ? std::to_string(*entry->http_status)
                                                  : std::string("none")));
            }
            compare_text(out, vendor, row, "message.en", row.text, entry->message.en);
            compare_text(out, vendor, row, "message.zh", row.zh_message, entry->message.zh);
            compare_text(out, vendor, row, "fix.zh", row.zh_fix, entry->fix.zh);
        } else if (vendor.id == "aliyun") {
            switch (row.form) {
                case Form::row:
                case Form::range:
                    check_aliyun_row(out, vendor, row, *entry);
                    break;
                case Form::bare:
                    check_aliyun_bare(out, vendor, row, *entry, system_error);
                    break;
                case Form::listed:
                    break;  // text from an older document, not the seed's
            }
        } else {
            out.push_back(where(vendor, row) + "no comparison rule for this vendor");
        }
    }
    return out;
}

// Replaces the code point in the middle of `text` with another one: a one-character
// edit that keeps UTF-8 valid.
void change_one_character(std::string& text) {
    auto continuation = [&](std::size_t i) {
        return (static_cast<unsigned char>(text[i]) & 0xC0) == 0x80;
    };
    std::size_t pos = text.size() / 2;
    while (pos > 0 && continuation(pos))
        --pos;
    std::size_t len = 1;
    while (pos + len < text.size() && continuation(pos + len))
        ++len;
    std::string old = text.substr(pos, len);
    std::string replacement = len == 1 ? (old == "x" ? "y" : "x") : (old == "某" ? "甲" : "某");
    text.replace(pos, len, replacement);
}

std::vector<std::string> only_in(const std::vector<std::string>& after,
                                 const std::vector<std::string>& before) {
    std::set<std::string> known(before.begin(), before.end());
    std::vector<std::string> out;
    for (const auto& item : after) {
        if (known.count(item) == 0) out.push_back(item);
    }
    return out;
}

}  // namespace

TEST_CASE("seed parsers read the documents' quirks", "[seed]") {
    SECTION("Neuron: a range line stands for every code in it") {
        auto rows = parse_neuron(
            "EtherNet/IP error codes\n- 10701 10744 EtherNet/IP error\n- 10797 EtherNet/IP has "
            "no CIP connection\n2002 Node already exists\n");
        REQUIRE(rows.size() == 46);
        CHECK(rows.front().code == "10701");
        CHECK(rows[43].code == "10744");
        CHECK(rows[43].text == "EtherNet/IP error");
        CHECK(rows[43].line == 2);
        CHECK(rows[44].text == "EtherNet/IP has no CIP connection");
        CHECK(rows[45].code == "2002");
    }
    SECTION("Tuya: 1,000 is code 1000") {
        auto rows = parse_tuya(
            "Error code Error message Description\n1,000 data not exist The data does not "
            "exist.\nLast Updated on : 2021\n");
        REQUIRE(rows.size() == 1);
        CHECK(rows[0].code == "1000");
        CHECK(rows[0].spelling == "1,000");
        CHECK(rows[0].text == "data not exist The data does not exist.");
    }
    SECTION("camera: the code runs into its text") {
        auto rows = parse_camera(
            "<?xml version=\"1.0\"?>\nCodeDescription\n0Successful\n"
            "5Network Port Error — network port number error (v1.9)\n");
        REQUIRE(rows.size() == 2);
        CHECK(rows[1].code == "5");
        CHECK(rows[1].text == "Network Port Error — network port number error (v1.9)");
    }
    SECTION("Huawei: the first copy of the table wins") {
        auto rows = parse_huawei(
            "状态码 | 错误码 | 错误信息 | 描述 | 处理措施 |\n|---|---|---|---|---|\n"
            "400 | IoTEdge.02100211 | The app does not support this node's architecture. | 甲。 | "
            "乙。 |\n400 | IoTEdge.02100211 | The app does not support this node's arch. | 甲。 | "
            "乙。 |\n");
        REQUIRE(rows.size() == 1);
        CHECK(rows[0].text == "The app does not support this node's architecture.");
        CHECK(rows[0].http_status == 400);
        CHECK(rows[0].zh_message == "甲。");
        CHECK(rows[0].zh_fix == "乙。");
        CHECK(rows[0].line == 3);
    }
    SECTION("Alibaba: continuations, bare codes, lists and request topics") {
        auto rows = parse_aliyun(
            "Common error codes\n"
            "6306 When the system verifies, the following errors may be found:\n"
            "  • The data types differ.\n"
            "Log on to the console.\n"
            "System error codes\n"
            "6318 An error occurred. Submit a ticket.\n"
            "6313\n"
            "\n"
            "Error codes about topological relationships\n"
            "\n"
            "  • Add topological relationships\n"
            "\n"
            "    Request topic: /sys/{productKey}/${deviceName}/thing/topo/add\n"
            "\n"
            "    Error codes: 460, 6200, and 6402\n"
            "\n"
            "    Error code Cause Solution\n"
            "    6402 The gateway and sub-device are the same. View them.\n"
            "  • Delete topological relationships\n"
            "\n"
            "    6401 The relationship does not exist. Log on.\n");
        REQUIRE(rows.size() == 7);
        CHECK(rows[0].text ==
              "When the system verifies, the following errors may be found: • The data types "
              "differ. Log on to the console.");
        CHECK(rows[0].request_topics.empty());
        CHECK(rows[1].text == "An error occurred. Submit a ticket.");
        CHECK(rows[2].code == "6313");
        CHECK(rows[2].form == Form::bare);
        CHECK(rows[3].code == "6402");
        CHECK(rows[3].request_topics == std::vector<std::string>{"/sys/+/+/thing/topo/add"});
        CHECK(rows[4].code == "6401");
        CHECK(rows[4].request_topics.empty());
        CHECK(rows[5].code == "460");
        CHECK(rows[5].form == Form::listed);
        CHECK(rows[6].code == "6200");
        CHECK(rows[6].line == 15);
    }
    SECTION("whitespace normalisation and topic patterns") {
        CHECK(normalise_whitespace("  a \n\t b  ") == "a b");
        CHECK(topic_pattern("/ext/session/{productKey}/{deviceName}/combine/logout_reply") ==
              "/ext/session/+/+/combine/logout");
        CHECK(topic_pattern("/ota/device/request/${YourProductKey}/${YourDeviceName}") ==
              "/ota/device/request/+/+");
    }
}

TEST_CASE("each seed document holds the documented number of distinct codes", "[seed]") {
    for (const auto& document : documents) {
        DYNAMIC_SECTION(document.vendor_id) {
            auto rows = read_rows(document);
            REQUIRE(count_distinct_codes(rows) == document.distinct_codes);
        }
    }
}

TEST_CASE("every seed code is in the catalog with the seed's text", "[seed]") {
    const Catalog catalog = Catalog::built_in();
    for (const auto& document : documents) {
        DYNAMIC_SECTION(document.vendor_id) {
            auto rows = read_rows(document);
            REQUIRE(count_distinct_codes(rows) == document.distinct_codes);
            const Vendor* vendor = catalog.vendor(document.vendor_id);
            REQUIRE(vendor != nullptr);
            auto mismatches = check_vendor(*vendor, catalog, rows);
            for (const auto& mismatch : mismatches)
                FAIL_CHECK(mismatch);
            CHECK(mismatches.empty());
        }
    }
}

TEST_CASE("a one-character change in one stored message fails the seed check", "[seed]") {
    struct Mutation {
        std::string_view vendor_id;
        std::string_view code;
        bool zh;
    };
    const Mutation mutations[] = {
        {"neuron", "3002", false},
        {"neuron", "10720", false},
        {"huawei-iotedge", "IoTEdge.02100305", true},
        {"huawei-iotedge", "IoTEdge.00000001", false},
        {"tuya", "1010", false},
        {"camera", "5", false},
        {"aliyun", "6207", false},
        {"aliyun", "6318", false},
    };
    const Catalog built_in = Catalog::built_in();
    for (const auto& mutation : mutations) {
        DYNAMIC_SECTION(mutation.vendor_id << " " << mutation.code
                                           << (mutation.zh ? " message.zh" : " message.en")) {
            const Vendor* vendor = built_in.vendor(mutation.vendor_id);
            REQUIRE(vendor != nullptr);
            auto rows = read_rows(document_of(mutation.vendor_id));
            auto key = catalog::parse_wire_code(vendor->code_style, mutation.code);
            REQUIRE(key);
            const Entry* entry = built_in.find(vendor->id, *key);
            REQUIRE(entry != nullptr);
            auto index = static_cast<std::size_t>(entry - vendor->entries.data());

            Vendor changed = *vendor;
            Text& message = changed.entries[index].message;
            std::string& text = mutation.zh ? message.zh : message.en;
            REQUIRE(!text.empty());
            Vendor reflowed = changed;
            Text& reflowed_message = reflowed.entries[index].message;
            (mutation.zh ? reflowed_message.zh : reflowed_message.en) = " " + text + " \n";
            change_one_character(text);

            auto before = check_vendor(*vendor, built_in, rows);

            Catalog mutated;
            REQUIRE_NOTHROW(mutated.merge(changed));
            auto added = only_in(check_vendor(*mutated.vendor(changed.id), mutated, rows), before);
            INFO("mutated text: " << text);
            REQUIRE(!added.empty());
            std::string report;
            for (const auto& mismatch : added)
                report += "\n  " + mismatch;
            INFO("new mismatches:" << report);
            std::string named = " " + std::string(mutation.code) + " ";
            CHECK(std::any_of(added.begin(), added.end(), [&](const std::string& mismatch) {
                return mismatch.find(named) != std::string::npos;
            }));

            // Whitespace alone is not a difference: the seeds wrap text freely.
            Catalog rewrapped;
            REQUIRE_NOTHROW(rewrapped.merge(reflowed));
            CHECK(only_in(check_vendor(*rewrapped.vendor(reflowed.id), rewrapped, rows), before)
                      .empty());
        }
    }
}

}  // namespace errbridge::seeds
