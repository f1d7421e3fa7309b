#pragma once

// An independent reader of the five vendor seed documents in ../shared/seeds. It shares no
// code with the catalog loader on purpose: the seed test compares what this reader finds
// with what the catalog stores, so a bug in one cannot hide the same bug in the other.

#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace errbridge::seeds {

// How a code appears in its document.
enum class Form {
    row,     // a code followed by its text
    range,   // one code of a "lo hi text" line (Neuron 10701 10744)
    bare,    // a code with no text (Alibaba's merged "System error codes" cell)
    listed,  // named only in an Alibaba "Error codes: ..." list, never described
};

struct SeedRow {
    std::string code;      // canonical spelling: "1000", "IoTEdge.02100305"
    std::string spelling;  // as the document writes it: "1,000"
    // The document's text after the code, continuation lines joined by one space. Tuya:
    // message and description run together; camera: "Message — description"; Alibaba:
    // cause and solution run together; Huawei: the English 错误信息 column.
    std::string text;
    std::optional<int> http_status;  // Huawei 状态码
    std::string zh_message;          // Huawei 描述
    std::string zh_fix;              // Huawei 处理措施
    // Alibaba: the request topics of the row's section, placeholders turned into `+`.
    std::vector<std::string> request_topics;
    Form form = Form::row;
    int line = 0;  // 1-based line of the document
};

// One pure function per document; each takes the whole text of the file.
std::vector<SeedRow> parse_neuron(std::string_view document);  // 000_*.txt
std::vector<SeedRow> parse_tuya(std::string_view document);    // 001_*.txt
std::vector<SeedRow> parse_aliyun(std::string_view document);  // 002_*.txt
std::vector<SeedRow> parse_huawei(std::string_view document);  // 003_*.txt, first copy wins
std::vector<SeedRow> parse_camera(std::string_view document);  // 004_*.txt

std::size_t count_distinct_codes(const std::vector<SeedRow>& rows);

// Trims and collapses every run of ASCII whitespace to one space: the documents wrap and
// indent text in ways that carry no meaning.
std::string normalise_whitespace(std::string_view text);

// "/sys/{productKey}/${deviceName}/thing/event/{tsl.identifier}/post" ->
// "/sys/+/+/thing/event/+/post"; a trailing "_reply" is removed so reply topics name
// their request.
std::string topic_pattern(std::string_view topic);

struct SeedFiles {
    std::filesystem::path neuron;
    std::filesystem::path tuya;
    std::filesystem::path aliyun;
    std::filesystem::path huawei;
    std::filesystem::path camera;
};

// The five documents in `dir`, found by their prefixes 000_ ... 004_. When one is missing
// (or ambiguous), nullopt and `why` says which.
std::optional<SeedFiles> locate_seed_files(const std::filesystem::path& dir, std::string& why);

// Throws std::runtime_error naming the file when it cannot be read.
std::string read_document(const std::filesystem::path& path);

// The seed folder: $ERRBRIDGE_SEEDS_DIR when set, else the one CMake configured. Defined
// in seed_main.cpp, which decides whether the test runs at all.
std::filesystem::path seeds_dir();

}  // namespace errbridge::seeds
