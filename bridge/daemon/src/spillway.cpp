#include "errbridge/daemon/spillway.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <vector>

#include "atomic_file.h"

namespace errbridge::daemon {

namespace fs = std::filesystem;

namespace {

// File names are the sequence number, zero-padded so that name order is queue order.
constexpr int name_width = 20;
constexpr std::string_view magic = "ebs1";

void put_field(std::string& out, std::string_view field) {
    auto n = static_cast<std::uint32_t>(field.size());
    char size[4] = {static_cast<char>(n >> 24), static_cast<char>(n >> 16),
                    static_cast<char>(n >> 8), static_cast<char>(n)};
    out.append(size, 4);
    out.append(field);
}

std::optional<std::string_view> take_field(std::string_view& in) {
    if (in.size() < 4) return std::nullopt;
    std::uint32_t n = 0;
    for (int i = 0; i < 4; ++i)
        n = (n << 8) | static_cast<unsigned char>(in[static_cast<std::size_t>(i)]);
    in.remove_prefix(4);
    if (in.size() < n) return std::nullopt;
    std::string_view field = in.substr(0, n);
    in.remove_prefix(n);
    return field;
}

}  // namespace

std::string encode(const SpilledEvent& e) {
    std::string out(magic);
    out += static_cast<char>('0' + e.qos);
    out += e.retain ? 'r' : '-';
    out += e.dead_letter ? 'd' : '-';
    for (std::string_view field :
         {std::string_view(e.topic), std::string_view(e.vendor), std::string_view(e.code),
          std::string_view(e.severity), std::string_view(e.payload)})
        put_field(out, field);
    return out;
}

std::optional<SpilledEvent> decode_spilled(std::string_view in) {
    if (!in.starts_with(magic) || in.size() < magic.size() + 3) return std::nullopt;
    in.remove_prefix(magic.size());
    SpilledEvent e;
    if (in[0] < '0' || in[0] > '2') return std::nullopt;
    e.qos = in[0] - '0';
    e.retain = in[1] == 'r';
    e.dead_letter = in[2] == 'd';
    in.remove_prefix(3);
    std::string* fields[] = {&e.topic, &e.vendor, &e.code, &e.severity, &e.payload};
    for (std::string* field : fields) {
        auto value = take_field(in);
        if (!value) return std::nullopt;
        field->assign(*value);
    }
    if (!in.empty()) return std::nullopt;
    return e;
}

Spillway::Spillway(std::optional<fs::path> dir, std::atomic<std::uint64_t>& write_errors)
    : dir_(std::move(dir)), write_errors_(write_errors) {}

fs::path Spillway::file(std::uint64_t seq) const {
    std::string name(name_width, '0');
    std::string digits = std::to_string(seq);
    name.replace(name.size() - digits.size(), digits.size(), digits);
    return *dir_ / name;
}

std::size_t Spillway::load() {
    if (!dir_) return 0;
    std::error_code ec;
    fs::create_directories(*dir_, ec);
    if (ec) throw std::runtime_error("cannot create " + dir_->string() + ": " + ec.message());
    std::vector<std::pair<std::uint64_t, fs::path>> found;
    for (const auto& entry : fs::directory_iterator(*dir_, ec)) {
        std::string name = entry.path().filename().string();
        if (name.starts_with(".")) {  // a write the previous process did not finish
            fs::remove(entry.path(), ec);
            continue;
        }
        std::uint64_t seq = 0;
        auto [end, error] = std::from_chars(name.data(), name.data() + name.size(), seq);
        if (error != std::errc() || end != name.data() + name.size()) continue;
        found.emplace_back(seq, entry.path());
    }
    std::sort(found.begin(), found.end());
    for (const auto& [seq, path] : found) {
        std::ifstream in(path, std::ios::binary);
        std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        auto event = decode_spilled(bytes);
        if (!event) {
            ++write_errors_;
            continue;
        }
        bytes_ += static_cast<std::int64_t>(event->payload.size());
        events_.push_back({seq, std::move(*event)});
        next_seq_ = std::max(next_seq_, seq + 1);
    }
    return events_.size();
}

void Spillway::push(SpilledEvent event) {
    std::uint64_t seq = next_seq_++;
    if (dir_) {
        std::string bytes = encode(event);
        const std::string_view parts[] = {bytes};
        if (auto why = write_file_atomically(file(seq), parts, false)) {
            ++write_errors_;
            throw std::runtime_error(*why);
        }
    }
    bytes_ += static_cast<std::int64_t>(event.payload.size());
    events_.push_back({seq, std::move(event)});
}

void Spillway::pop() {
    if (events_.empty()) return;
    if (dir_ && ::unlink(file(events_.front().seq).c_str()) != 0 && errno != ENOENT)
        ++write_errors_;
    bytes_ -= static_cast<std::int64_t>(events_.front().event.payload.size());
    events_.pop_front();
}

}  // namespace errbridge::daemon
