#pragma once

// The benchmark workload: which message the load generator sends as number `seq`, and what
// a bridge must make of it. Every choice is a pure function of `seq`, so the sink checks a
// message by regenerating what was sent instead of storing it.
//
// Three vendor shapes that errbridge's embedded default config routes (SPEC §5):
//   aliyun  Alink cloud reply on /sys/{pk}/{dn}/thing/event/property/post_reply, the sequence
//           number in "id" (-> event context.request_id)
//   neuron  Values-format upload on /neuron/{app}/{driver}/{group} with one tag error, the
//           sequence number in the tag name "t<seq>" (-> event context.tag)
//   camera  XML answer on bridge/camera/{host}/http/{command}/{channel}/response, the sequence
//           number as the channel (-> event device.channel)
// Each message carries exactly one error code, so each yields exactly one event.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace errbridge::bench {

enum class Shape { aliyun, neuron, camera };
std::string_view vendor_of(Shape shape);

struct CodeLists {
    std::vector<std::string> aliyun, neuron, camera;        // known error codes
    std::vector<std::string> aliyun_x, neuron_x, camera_x;  // codes in no catalog entry
};

// Reads `errbridge catalog --format json` output (one JSON object per line): every code of
// kind "error" of the three vendors, and a few numbers no entry or range covers.
CodeLists load_codes(const std::string& path);

struct Workload {
    CodeLists codes;
    unsigned devices = 100;
    unsigned weight_aliyun = 6, weight_neuron = 3, weight_camera = 1;
    double unknown_share = 0.1;
    std::string site = "bench";
    std::string raw_prefix = "errors/raw";  // where a pass-through republishes (mapped topics)
};

struct Message {
    Shape shape;
    std::string topic;
    std::string payload;
    std::string code;  // as the event must spell it
    bool known;
    std::string event_topic;  // errbridge's default output topic errors/{site}/{vendor}/{device}
};

Message make_message(const Workload& w, std::uint64_t seq);
void make_message(const Workload& w, std::uint64_t seq, Message& out);

// The topic a pass-through republishes `topic` on: raw_prefix + "/" + topic without a
// leading "/" (no empty level).
std::string raw_topic(const Workload& w, std::string_view topic);

// The sequence number a received message carries, per shape. For an event: from
// context.request_id / context.tag / device.channel; for a raw (pass-through) message: from
// the vendor payload or topic. nullopt when absent or malformed.
struct EventFields {
    std::string kind, vendor, code;
    std::optional<bool> known;
    std::optional<std::uint64_t> seq;
};
// Parses just enough of an event (stops after "context"; never reads "raw").
bool parse_event(std::string_view json, EventFields& out);
std::optional<std::uint64_t> seq_of_raw(std::string_view topic, std::string_view payload,
                                        const Workload& w);

}  // namespace errbridge::bench
