#include <algorithm>

#include "errbridge/daemon/metrics.h"

namespace errbridge::daemon {

namespace {

std::uint64_t total(const LabeledValues& values) {
    std::uint64_t sum = 0;
    for (const auto& [labels, value] : values)
        sum += value;
    return sum;
}

// One metric family as the renderer sees it: a value, labeled series or a histogram.
struct Family {
    std::string_view name;
    std::string_view type;
    std::string_view help;
    std::string value;                      // unlabeled counter or gauge
    const LabeledValues* series = nullptr;  // labeled counter
    std::string_view label;                 // its label names
    std::string_view label2;                // "" for one-label counters
    const HistogramSnapshot* histogram = nullptr;
};

// Label values: backslash, double quote and line feed are escaped (exposition 0.0.4).
void append_label_value(std::string& out, std::string_view value) {
    for (char c : value) {
        switch (c) {
            case '\\':
                out += "\\\\";
                break;
            case '"':
                out += "\\\"";
                break;
            case '\n':
                out += "\\n";
                break;
            default:
                out += c;
        }
    }
}

// HELP text: backslash and line feed are escaped, quotes are not.
void append_help(std::string& out, std::string_view help) {
    for (char c : help) {
        if (c == '\\') {
            out += "\\\\";
        } else if (c == '\n') {
            out += "\\n";
        } else {
            out += c;
        }
    }
}

void append_label(std::string& out, std::string_view name, std::string_view value) {
    out += name;
    out += "=\"";
    append_label_value(out, value);
    out += '"';
}

void render_family(std::string& out, const Family& f) {
    out += "# HELP ";
    out += f.name;
    out += ' ';
    append_help(out, f.help);
    out += "\n# TYPE ";
    out += f.name;
    out += ' ';
    out += f.type;
    out += '\n';
    if (f.series) {
        for (const auto& [labels, value] : *f.series) {
            out += f.name;
            out += '{';
            append_label(out, f.label, labels.first);
            if (!f.label2.empty()) {
                out += ',';
                append_label(out, f.label2, labels.second);
            }
            out += "} ";
            out += std::to_string(value);
            out += '\n';
        }
    } else if (f.histogram) {
        const HistogramSnapshot& h = *f.histogram;
        std::uint64_t cumulative = 0;
        for (std::size_t i = 0; i < h.counts.size(); ++i) {
            cumulative += h.counts[i];
            out += f.name;
            out += "_bucket{le=\"";
            out += i < h.bounds_ns.size() ? format_seconds(h.bounds_ns[i]) : "+Inf";
            out += "\"} ";
            out += std::to_string(cumulative);
            out += '\n';
        }
        out += f.name;
        out += "_sum ";
        out += format_seconds(h.sum_ns);
        out += '\n';
        out += f.name;
        out += "_count ";
        out += std::to_string(cumulative);
        out += '\n';
    } else {
        out += f.name;
        out += ' ';
        out += f.value;
        out += '\n';
    }
}

Family family(std::string_view name, std::string_view type, std::string_view help) {
    Family f;
    f.name = name;
    f.type = type;
    f.help = help;
    return f;
}

Family counter(std::string_view name, std::string_view help, std::uint64_t value) {
    Family f = family(name, "counter", help);
    f.value = std::to_string(value);
    return f;
}

Family gauge(std::string_view name, std::string_view help, std::int64_t value) {
    Family f = family(name, "gauge", help);
    f.value = std::to_string(value);
    return f;
}

Family labeled(std::string_view name, std::string_view help, const LabeledValues& series,
               std::string_view label, std::string_view label2 = {}) {
    Family f = family(name, "counter", help);
    f.series = &series;
    f.label = label;
    f.label2 = label2;
    return f;
}

Family histogram(std::string_view name, std::string_view help, const HistogramSnapshot& h) {
    Family f = family(name, "histogram", help);
    f.histogram = &h;
    return f;
}

}  // namespace

std::string format_seconds(std::uint64_t ns) {
    std::string out = std::to_string(ns / 1'000'000'000);
    std::uint64_t fraction = ns % 1'000'000'000;
    if (fraction == 0) return out;
    std::string digits = std::to_string(fraction);
    digits.insert(0, 9 - digits.size(), '0');
    digits.erase(digits.find_last_not_of('0') + 1);
    return out + "." + digits;
}

std::string render_prometheus(const MetricsSnapshot& s) {
    std::vector<Family> families{
        labeled("errbridge_messages_received_total",
                "Messages received on a route (after subscription de-duplication).",
                s.messages_received, "route"),
        labeled("errbridge_events_published_total", "Events handed to the broker.",
                s.events_published, "vendor", "category"),
        labeled("errbridge_dead_letters_total", "Payloads that could not be decoded, by reason.",
                s.dead_letters, "reason"),
        labeled("errbridge_unknown_codes_total", "Events for codes the catalog does not know.",
                s.unknown_codes, "vendor"),
        labeled("errbridge_no_code_total", "Messages on a route that carried no error code.",
                s.no_code, "route"),
        counter("errbridge_empty_payloads_total", "Messages with an empty payload.",
                s.empty_payloads),
        counter("errbridge_unrouted_total",
                "Messages on a subscribed filter that no route matched.", s.unrouted),
        labeled("errbridge_suppressed_total", "Events counted inside a suppression window.",
                s.suppressed, "vendor"),
        counter("errbridge_summaries_published_total", "Suppression summaries published.",
                s.summaries_published),
        counter("errbridge_buffer_overflow_total",
                "Events dropped because the output buffer was full.", s.buffer_overflow),
        counter("errbridge_sessions_lost_total",
                "Connections where the broker kept no session although one was expected.",
                s.sessions_lost),
        counter("errbridge_persist_errors_total", "Failed writes to the state directory.",
                s.persist_errors),
        counter("errbridge_stale_reconnects_total",
                "Reconnects because the probe did not come back in time.", s.stale_reconnects),
        counter("errbridge_reconnects_total", "Successful connections after the first.",
                s.reconnects),
        counter("errbridge_publish_errors_total",
                "Events the MQTT client refused to publish (not overflow).", s.publish_errors),
        counter("errbridge_republished_total",
                "Unacknowledged events sent again because the broker kept no session.",
                s.republished),
        counter("errbridge_handler_errors_total", "Messages whose handling raised an error.",
                s.handler_errors),
        gauge("errbridge_broker_connected", "1 while connected to the broker, else 0.",
              s.broker_connected),
        gauge("errbridge_buffered_events",
              "Events awaiting delivery (in flight, or while the broker is away).",
              s.buffered_events),
        gauge("errbridge_suppression_keys", "Suppression keys inside their window.",
              s.suppression_keys),
        histogram("errbridge_decode_seconds", "Time to decode one message and build its events.",
                  s.decode_seconds),
    };

    std::sort(families.begin(), families.end(),
              [](const Family& a, const Family& b) { return a.name < b.name; });
    std::string out;
    out.reserve(4096);
    for (const Family& f : families)
        render_family(out, f);
    return out;
}

std::string render_summary(const MetricsSnapshot& s) {
    std::string out;
    auto add = [&](std::string_view name, std::uint64_t value) {
        if (!out.empty()) out += ' ';
        out += name;
        out += '=';
        out += std::to_string(value);
    };
    add("messages_received", total(s.messages_received));
    add("events_published", total(s.events_published));
    add("dead_letters", total(s.dead_letters));
    add("unknown_codes", total(s.unknown_codes));
    add("no_code", total(s.no_code));
    add("empty_payloads", s.empty_payloads);
    add("unrouted", s.unrouted);
    add("suppressed", total(s.suppressed));
    add("summaries_published", s.summaries_published);
    add("buffer_overflow", s.buffer_overflow);
    add("sessions_lost", s.sessions_lost);
    add("persist_errors", s.persist_errors);
    add("stale_reconnects", s.stale_reconnects);
    add("reconnects", s.reconnects);
    add("publish_errors", s.publish_errors);
    add("republished", s.republished);
    add("handler_errors", s.handler_errors);
    add("buffered_events",
        static_cast<std::uint64_t>(std::max<std::int64_t>(s.buffered_events, 0)));
    add("suppression_keys",
        static_cast<std::uint64_t>(std::max<std::int64_t>(s.suppression_keys, 0)));
    return out;
}

std::string render_status(const MetricsSnapshot& s, std::string_view broker_uri) {
    std::string out = s.broker_connected ? "connected to " : "not connected to ";
    out += broker_uri;
    if (!s.broker_connected) out += " (retrying)";
    out += "; received " + std::to_string(total(s.messages_received));
    out += ", published " + std::to_string(total(s.events_published));
    out += ", dead letters " + std::to_string(total(s.dead_letters));
    out += ", suppressed " + std::to_string(total(s.suppressed));
    out += ", buffered " + std::to_string(std::max<std::int64_t>(s.buffered_events, 0));
    return out;
}

}  // namespace errbridge::daemon
