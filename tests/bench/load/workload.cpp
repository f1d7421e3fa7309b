#include "workload.h"

#include <rapidjson/document.h>
#include <rapidjson/reader.h>

#include <algorithm>
#include <charconv>
#include <fstream>
#include <map>
#include <set>
#include <stdexcept>
#include <utility>

namespace errbridge::bench {

namespace {

std::uint64_t splitmix64(std::uint64_t x) {
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

bool all_digits(std::string_view s) {
    return !s.empty() &&
           std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::optional<std::uint64_t> to_u64(std::string_view s) {
    std::uint64_t v = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || end != s.data() + s.size() || s.empty()) return std::nullopt;
    return v;
}

// Digits right after `marker` in `text`.
std::optional<std::uint64_t> digits_after(std::string_view text, std::string_view marker) {
    auto at = text.find(marker);
    if (at == std::string_view::npos) return std::nullopt;
    std::string_view rest = text.substr(at + marker.size());
    std::size_t n = 0;
    while (n < rest.size() && rest[n] >= '0' && rest[n] <= '9')
        ++n;
    return to_u64(rest.substr(0, n));
}

struct Ranges {
    std::set<std::string> codes;
    std::vector<std::pair<long long, long long>> ranges;
    bool covers(long long code) const {
        if (codes.count(std::to_string(code))) return true;
        for (auto [lo, hi] : ranges)
            if (code >= lo && code <= hi) return true;
        return false;
    }
};

// Numbers from `start` up that no entry or range of the vendor covers.
std::vector<std::string> unknown_codes(const Ranges& known, long long start) {
    std::vector<std::string> out;
    for (long long c = start; out.size() < 8; ++c)
        if (!known.covers(c)) out.push_back(std::to_string(c));
    return out;
}

}  // namespace

std::string_view vendor_of(Shape shape) {
    switch (shape) {
        case Shape::aliyun:
            return "aliyun";
        case Shape::neuron:
            return "neuron";
        case Shape::camera:
            return "camera";
    }
    return "?";
}

CodeLists load_codes(const std::string& path) {
    std::ifstream in(path);
    if (!in) throw std::runtime_error("cannot read the catalog export " + path);
    std::map<std::string, Ranges> all;
    CodeLists lists;
    std::string line;
    while (std::getline(in, line)) {
        rapidjson::Document d;
        d.Parse(line.c_str());
        if (d.HasParseError() || !d.IsObject() || !d.HasMember("vendor")) continue;
        std::string vendor = d["vendor"].GetString();
        Ranges& r = all[vendor];
        if (d.HasMember("code_range")) {
            const auto& range = d["code_range"];
            r.ranges.emplace_back(range[0].GetInt64(), range[1].GetInt64());
            continue;
        }
        if (!d.HasMember("code") || !d["code"].IsString()) continue;
        std::string code = d["code"].GetString();
        r.codes.insert(code);
        bool error = d.HasMember("kind") && std::string_view(d["kind"].GetString()) == "error";
        if (!error || !all_digits(code)) continue;  // payloads carry numeric codes only
        if (vendor == "aliyun" && code != "200" && code != "1000") lists.aliyun.push_back(code);
        if (vendor == "neuron" && code != "0") lists.neuron.push_back(code);
        if (vendor == "camera" && code != "0") lists.camera.push_back(code);
    }
    if (lists.aliyun.empty() || lists.neuron.empty() || lists.camera.empty())
        throw std::runtime_error(path + ": no error codes for aliyun, neuron or camera");
    lists.aliyun_x = unknown_codes(all["aliyun"], 900001);
    lists.neuron_x = unknown_codes(all["neuron"], 60001);
    lists.camera_x = unknown_codes(all["camera"], 901);
    return lists;
}

std::string raw_topic(const Workload& w, std::string_view topic) {
    std::string out = w.raw_prefix;
    if (topic.empty() || topic.front() != '/') out += '/';
    out += topic;
    return out;
}

void make_message(const Workload& w, std::uint64_t seq, Message& m) {
    const std::uint64_t h = splitmix64(seq);
    const unsigned total = w.weight_aliyun + w.weight_neuron + w.weight_camera;
    const auto pick = static_cast<unsigned>(h % total);
    m.shape = pick < w.weight_aliyun                     ? Shape::aliyun
              : pick < w.weight_aliyun + w.weight_neuron ? Shape::neuron
                                                         : Shape::camera;
    const std::string device = std::to_string((h >> 16) % w.devices);
    m.known = static_cast<double>((h >> 32) % 10000) >= w.unknown_share * 10000.0;
    const std::vector<std::string>* list = nullptr;
    switch (m.shape) {
        case Shape::aliyun:
            list = m.known ? &w.codes.aliyun : &w.codes.aliyun_x;
            break;
        case Shape::neuron:
            list = m.known ? &w.codes.neuron : &w.codes.neuron_x;
            break;
        case Shape::camera:
            list = m.known ? &w.codes.camera : &w.codes.camera_x;
            break;
    }
    m.code = (*list)[(h >> 44) % list->size()];
    const std::string s = std::to_string(seq);
    switch (m.shape) {
        case Shape::aliyun:
            m.topic = "/sys/a1BenchPK/dev-" + device + "/thing/event/property/post_reply";
            m.payload = R"({"code":)" + m.code + R"(,"data":{},"id":")" + s +
                        R"(","message":"bench error","method":"thing.event.property.post",)"
                        R"("version":"1.0"})";
            m.event_topic = "errors/" + w.site + "/aliyun/a1BenchPK/dev-" + device;
            break;
        case Shape::neuron:
            m.topic = "/neuron/bench/modbus-" + device + "/grp-1";
            m.payload = R"({"node": "modbus-)" + device +
                        R"(", "group": "grp-1", "timestamp": 1717000000123, )"
                        R"("values": {"tag0": 123}, "errors": {"t)" +
                        s + R"(": )" + m.code + R"(}, "metas": {}})";
            m.event_topic = "errors/" + w.site + "/neuron/modbus-" + device;
            break;
        case Shape::camera:
            m.topic = "bridge/camera/cam-" + device + "/http/GetImageConfig/" + s + "/response";
            m.payload = R"(<config xmlns="http://www.ipc.com/ver10" status="failed" errorCode=")" +
                        m.code + R"(" errorDesc="bench error"/>)";
            m.event_topic = "errors/" + w.site + "/camera/cam-" + device;
            break;
    }
}

Message make_message(const Workload& w, std::uint64_t seq) {
    Message m;
    make_message(w, seq, m);
    return m;
}

namespace {

// SAX handler: top-level kind, vendor, code; device.channel; context.request_id and
// context.tag. Stops (returns false) at the end of "context", before "raw".
struct EventHandler : rapidjson::BaseReaderHandler<rapidjson::UTF8<>, EventHandler> {
    EventFields& out;
    int depth = 0;
    std::string top;  // current top-level key
    std::string key;  // current key at depth 2
    bool done = false;
    explicit EventHandler(EventFields& o) : out(o) {}

    bool String(const char* s, rapidjson::SizeType n, bool) {
        std::string_view v(s, n);
        if (depth == 1) {
            if (top == "kind") out.kind = v;
            if (top == "vendor") out.vendor = v;
            if (top == "code") out.code = v;
        } else if (depth == 2) {
            if (top == "device" && key == "channel") out.seq = to_u64(v);
            if (top == "context" && key == "request_id") out.seq = to_u64(v);
            if (top == "context" && key == "tag" && !v.empty() && v[0] == 't')
                out.seq = to_u64(v.substr(1));
        }
        return true;
    }
    bool Key(const char* s, rapidjson::SizeType n, bool) {
        if (depth == 1) top.assign(s, n);
        if (depth == 2) key.assign(s, n);
        return true;
    }
    bool Bool(bool b) {
        if (depth == 1 && top == "known") out.known = b;
        return true;
    }
    bool StartObject() {
        ++depth;
        return true;
    }
    bool EndObject(rapidjson::SizeType) {
        --depth;
        if (depth == 1 && top == "context") {
            done = true;
            return false;
        }
        return true;
    }
    bool Default() { return true; }
};

}  // namespace

bool parse_event(std::string_view json, EventFields& out) {
    out = EventFields{};
    EventHandler handler(out);
    rapidjson::Reader reader;
    rapidjson::MemoryStream ms(json.data(), json.size());
    rapidjson::EncodedInputStream<rapidjson::UTF8<>, rapidjson::MemoryStream> is(ms);
    rapidjson::ParseResult r = reader.Parse(is, handler);
    return handler.done || !r.IsError();
}

std::optional<std::uint64_t> seq_of_raw(std::string_view topic, std::string_view payload,
                                        const Workload& w) {
    if (topic.substr(0, w.raw_prefix.size()) != w.raw_prefix) return std::nullopt;
    std::string_view rest = topic.substr(w.raw_prefix.size());
    if (rest.substr(0, 5) == "/sys/") return digits_after(payload, R"("id":")");
    if (rest.substr(0, 8) == "/neuron/") return digits_after(payload, R"("errors": {"t)");
    if (rest.substr(0, 15) == "/bridge/camera/") {
        constexpr std::string_view tail = "/response";
        if (rest.size() < tail.size() || rest.substr(rest.size() - tail.size()) != tail)
            return std::nullopt;
        rest.remove_suffix(tail.size());
        return to_u64(rest.substr(rest.rfind('/') + 1));
    }
    return std::nullopt;
}

}  // namespace errbridge::bench
