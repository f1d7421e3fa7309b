#include "seed_parser.h"

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <stdexcept>

namespace errbridge::seeds {

namespace {

bool is_space(char c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f';
}
bool is_digit(char c) {
    return c >= '0' && c <= '9';
}
bool is_alpha(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

std::string_view trim(std::string_view text) {
    while (!text.empty() && is_space(text.front()))
        text.remove_prefix(1);
    while (!text.empty() && is_space(text.back()))
        text.remove_suffix(1);
    return text;
}

std::size_t indent_of(std::string_view line) {
    std::size_t n = 0;
    while (n < line.size() && line[n] == ' ')
        ++n;
    return n;
}

bool starts_with(std::string_view text, std::string_view prefix) {
    return text.substr(0, prefix.size()) == prefix;
}

std::vector<std::string_view> split_lines(std::string_view document) {
    std::vector<std::string_view> lines;
    while (!document.empty()) {
        auto end = document.find('\n');
        lines.push_back(document.substr(0, end));
        if (end == std::string_view::npos) break;
        document.remove_prefix(end + 1);
    }
    return lines;
}

std::size_t count_digits(std::string_view text) {
    std::size_t n = 0;
    while (n < text.size() && is_digit(text[n]))
        ++n;
    return n;
}

// Decimal digits as the catalog spells numeric codes: no leading zeros.
std::string canonical_number(std::string_view digits) {
    while (digits.size() > 1 && digits.front() == '0')
        digits.remove_prefix(1);
    return std::string(digits);
}

std::int64_t to_int(std::string_view digits) {
    std::int64_t value = 0;
    for (char c : digits)
        value = value * 10 + (c - '0');
    return value;
}

int line_number(std::size_t index) {
    return static_cast<int>(index) + 1;
}

SeedRow make_row(std::string code, std::string_view spelling, std::string_view text,
                 std::size_t index) {
    SeedRow row;
    row.code = std::move(code);
    row.spelling = std::string(spelling);
    row.text = std::string(trim(text));
    row.line = line_number(index);
    return row;
}

// The bullet the Alibaba document uses for lists, U+2022 in UTF-8.
constexpr std::string_view bullet = "\xE2\x80\xA2";

std::string_view strip_bullet(std::string_view trimmed) {
    if (starts_with(trimmed, bullet)) return trim(trimmed.substr(bullet.size()));
    return trimmed;
}

}  // namespace

std::string normalise_whitespace(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    bool pending_space = false;
    for (char c : trim(text)) {
        if (is_space(c)) {
            pending_space = true;
            continue;
        }
        if (pending_space) out.push_back(' ');
        pending_space = false;
        out.push_back(c);
    }
    return out;
}

std::string topic_pattern(std::string_view topic) {
    topic = trim(topic);
    constexpr std::string_view reply = "_reply";
    if (topic.size() > reply.size() && topic.substr(topic.size() - reply.size()) == reply) {
        topic.remove_suffix(reply.size());
    }
    std::string out;
    while (true) {
        auto end = topic.find('/');
        std::string_view level = topic.substr(0, end);
        out += level.find('{') != std::string_view::npos ? std::string_view("+") : level;
        if (end == std::string_view::npos) break;
        out.push_back('/');
        topic.remove_prefix(end + 1);
    }
    return out;
}

std::size_t count_distinct_codes(const std::vector<SeedRow>& rows) {
    std::set<std::string> codes;
    for (const auto& row : rows)
        codes.insert(row.code);
    return codes.size();
}

// Lines "- 1000 Common error" or "2002 Node already exists"; "10701 10744 EtherNet/IP
// error" is a range whose dash the snapshot lost, so it stands for every code in it.
std::vector<SeedRow> parse_neuron(std::string_view document) {
    std::vector<SeedRow> rows;
    auto lines = split_lines(document);
    for (std::size_t i = 0; i < lines.size(); ++i) {
        std::string_view line = trim(lines[i]);
        if (starts_with(line, "- ")) line = trim(line.substr(2));
        std::size_t digits = count_digits(line);
        if (digits == 0 || digits >= line.size() || line[digits] != ' ') continue;
        std::string_view code = line.substr(0, digits);
        std::string_view text = trim(line.substr(digits));
        std::size_t hi_digits = count_digits(text);
        if (hi_digits > 0 && hi_digits < text.size() && text[hi_digits] == ' ' &&
            to_int(text.substr(0, hi_digits)) > to_int(code)) {
            std::int64_t lo = to_int(code);
            std::int64_t hi = to_int(text.substr(0, hi_digits));
            std::string_view range_text = trim(text.substr(hi_digits));
            for (std::int64_t value = lo; value <= hi; ++value) {
                std::string spelled = std::to_string(value);
                SeedRow row = make_row(spelled, spelled, range_text, i);
                row.form = Form::range;
                rows.push_back(std::move(row));
            }
            continue;
        }
        rows.push_back(make_row(canonical_number(code), code, text, i));
    }
    return rows;
}

// Rows "code message Description" with message and description run together; "1,000"
// carries a thousands separator from web rendering.
std::vector<SeedRow> parse_tuya(std::string_view document) {
    std::vector<SeedRow> rows;
    auto lines = split_lines(document);
    for (std::size_t i = 0; i < lines.size(); ++i) {
        std::string_view line = trim(lines[i]);
        if (line.empty() || !is_digit(line.front())) continue;
        auto space = line.find(' ');
        if (space == std::string_view::npos) continue;
        std::string_view spelling = line.substr(0, space);
        std::string digits;
        bool numeric = true;
        for (char c : spelling) {
            if (is_digit(c)) {
                digits.push_back(c);
            } else if (c != ',') {
                numeric = false;
            }
        }
        if (!numeric) continue;
        rows.push_back(make_row(canonical_number(digits), spelling, line.substr(space), i));
    }
    return rows;
}

// Lines "<digits><Text>" with no separator: "5Network Port Error — network port ...".
std::vector<SeedRow> parse_camera(std::string_view document) {
    std::vector<SeedRow> rows;
    auto lines = split_lines(document);
    for (std::size_t i = 0; i < lines.size(); ++i) {
        std::string_view line = trim(lines[i]);
        std::size_t digits = count_digits(line);
        if (digits == 0 || digits >= line.size() || !is_alpha(line[digits])) continue;
        std::string_view code = line.substr(0, digits);
        rows.push_back(make_row(canonical_number(code), code, line.substr(digits), i));
    }
    return rows;
}

// A pipe table "状态码 | 错误码 | 错误信息 | 描述 | 处理措施 |" that the page holds twice. The
// copies differ and the first is the current one, so a code seen again is ignored.
std::vector<SeedRow> parse_huawei(std::string_view document) {
    constexpr std::string_view prefix = "IoTEdge.";
    std::vector<SeedRow> rows;
    std::set<std::string> seen;
    auto lines = split_lines(document);
    for (std::size_t i = 0; i < lines.size(); ++i) {
        std::vector<std::string_view> cells;
        std::string_view rest = lines[i];
        for (auto bar = rest.find('|'); bar != std::string_view::npos; bar = rest.find('|')) {
            cells.push_back(trim(rest.substr(0, bar)));
            rest.remove_prefix(bar + 1);
        }
        if (!trim(rest).empty()) cells.push_back(trim(rest));
        if (cells.size() < 5) continue;
        std::string_view status = cells[0];
        std::string_view code = cells[1];
        if (status.empty() || count_digits(status) != status.size()) continue;
        if (!starts_with(code, prefix) || code.size() != prefix.size() + 8 ||
            count_digits(code.substr(prefix.size())) != 8) {
            continue;
        }
        if (!seen.insert(std::string(code)).second) continue;
        SeedRow row = make_row(std::string(code), code, cells[2], i);
        row.http_status = static_cast<int>(to_int(status));
        row.zh_message = std::string(cells[3]);
        row.zh_fix = std::string(cells[4]);
        rows.push_back(std::move(row));
    }
    return rows;
}

namespace {

// What one line of the Alibaba document is, judged by its trimmed text alone.
struct AliyunLine {
    std::string_view trimmed;
    std::size_t indent = 0;
    bool is_row = false;  // "6288 Dynamic registration is ..." or a bare "6313"
    std::string_view code;
    std::string_view text;
    std::optional<std::string_view> topic;  // "Request topic...: /sys/..."
    bool is_code_list = false;              // "Error codes: 460, 500, and 6203"
};

AliyunLine classify_aliyun(std::string_view raw) {
    AliyunLine line;
    line.trimmed = trim(raw);
    line.indent = indent_of(raw);
    std::string_view t = line.trimmed;
    std::size_t digits = count_digits(t);
    if (digits >= 3 && digits <= 6 && (digits == t.size() || t[digits] == ' ')) {
        line.is_row = true;
        line.code = t.substr(0, digits);
        line.text = trim(t.substr(digits));
        return line;
    }
    std::string_view unbulleted = strip_bullet(t);
    auto colon = unbulleted.find(": ");
    if ((starts_with(unbulleted, "Request topic") ||
         starts_with(unbulleted, "Topic to which error messages are sent")) &&
        colon != std::string_view::npos) {
        line.topic = trim(unbulleted.substr(colon + 2));
        return line;
    }
    line.is_code_list = starts_with(t, "Error codes: ") || starts_with(t, "Error code: ");
    return line;
}

// Whether line `i` ends the cause/solution text of the row above it. Causes continue over
// bullets and plain lines ("Note You cannot run ..."); a section heading does not, and a
// bulleted heading is told from a bulleted cause by what follows it: a blank line or a
// deeper bullet ("    • Request topic ...").
bool ends_aliyun_row(const std::vector<std::string_view>& lines, std::size_t i) {
    AliyunLine line = classify_aliyun(lines[i]);
    std::string_view t = line.trimmed;
    if (t.empty() || line.is_row || line.topic || line.is_code_list) return true;
    if (t == "System error codes" || t == "Error code Cause Solution") return true;
    if (starts_with(t, "Table ") && t.size() > 6 && is_digit(t[6])) return true;
    if (starts_with(t, bullet)) {
        if (i + 1 >= lines.size()) return true;
        std::string_view next = lines[i + 1];
        if (trim(next).empty()) return true;
        return indent_of(next) > line.indent && starts_with(trim(next), bullet);
    }
    return false;
}

}  // namespace

// Rows "<3-6 digits> cause solution" (indented inside sections) whose text continues
// until the next row, blank line or heading; bare codes under "System error codes"; and
// "Error codes: ..." lists, which name 6200 and 6201 and nothing else does. Each row
// carries the request topics of its section: an indented row those of its bulleted
// subsection, a row at the margin those of its whole top-level section (the sub-device
// table follows all four of its subsections).
std::vector<SeedRow> parse_aliyun(std::string_view document) {
    std::vector<SeedRow> rows;
    std::map<std::string, std::size_t> listed;  // code -> first line index
    std::vector<std::string> section_topics;
    std::vector<std::string> subsection_topics;
    auto lines = split_lines(document);
    bool row_open = false;
    for (std::size_t i = 0; i < lines.size(); ++i) {
        if (row_open) {
            if (!ends_aliyun_row(lines, i)) {
                rows.back().text += ' ';
                rows.back().text += trim(lines[i]);
                continue;
            }
            row_open = false;
        }
        AliyunLine line = classify_aliyun(lines[i]);
        std::string_view t = line.trimmed;
        if (t.empty()) continue;
        if (line.is_row) {
            SeedRow row = make_row(canonical_number(line.code), line.code, line.text, i);
            if (line.text.empty()) row.form = Form::bare;
            row.request_topics = line.indent > 0 ? subsection_topics : section_topics;
            rows.push_back(std::move(row));
            row_open = !line.text.empty();
            continue;
        }
        if (line.topic) {
            std::string pattern = topic_pattern(*line.topic);
            for (auto* topics : {&subsection_topics, &section_topics}) {
                if (std::find(topics->begin(), topics->end(), pattern) == topics->end()) {
                    topics->push_back(pattern);
                }
            }
            continue;
        }
        if (line.is_code_list) {
            std::string_view list = t.substr(t.find(':') + 1);
            while (!list.empty()) {
                std::size_t digits = count_digits(list);
                if (digits == 0) {
                    list.remove_prefix(1);
                    continue;
                }
                listed.emplace(canonical_number(list.substr(0, digits)), i);
                list.remove_prefix(digits);
            }
            continue;
        }
        if (t == "Error code Cause Solution") continue;
        if (starts_with(t, bullet) && line.indent <= 2) {
            subsection_topics.clear();
            continue;
        }
        // A top-level heading: at the margin and not a sentence ("The following table
        // describes ... topic.", "Note ...").
        if (line.indent == 0 && t.back() != '.') {
            section_topics.clear();
            subsection_topics.clear();
        }
    }
    std::set<std::string> described;
    for (const auto& row : rows)
        described.insert(row.code);
    for (const auto& [code, index] : listed) {
        if (described.count(code) != 0) continue;
        SeedRow row = make_row(code, code, "", index);
        row.form = Form::listed;
        rows.push_back(std::move(row));
    }
    return rows;
}

std::optional<SeedFiles> locate_seed_files(const std::filesystem::path& dir, std::string& why) {
    namespace fs = std::filesystem;
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) {
        why = dir.string() + " is not a directory";
        return std::nullopt;
    }
    std::vector<fs::path> found[5];
    for (const auto& item : fs::directory_iterator(dir, ec)) {
        std::string name = item.path().filename().string();
        if (name.size() < 8 || name.substr(name.size() - 4) != ".txt") continue;
        for (int n = 0; n < 5; ++n) {
            if (starts_with(name, "00" + std::to_string(n) + "_")) found[n].push_back(item.path());
        }
    }
    if (ec) {
        why = dir.string() + ": cannot list: " + ec.message();
        return std::nullopt;
    }
    for (int n = 0; n < 5; ++n) {
        if (found[n].size() != 1) {
            why = dir.string() + " holds " + std::to_string(found[n].size()) + " files 00" +
                  std::to_string(n) + "_*.txt, expected exactly one";
            return std::nullopt;
        }
    }
    return SeedFiles{found[0][0], found[1][0], found[2][0], found[3][0], found[4][0]};
}

std::string read_document(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error(path.string() + ": cannot open");
    std::ostringstream text;
    text << in.rdbuf();
    if (in.bad()) throw std::runtime_error(path.string() + ": read error");
    return text.str();
}

}  // namespace errbridge::seeds
