#include "explain.h"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

namespace errbridge::cli {
namespace {

using catalog::Entry;
using catalog::Lang;
using catalog::Text;
using catalog::Vendor;

std::string source_line(const Vendor& vendor, const std::string& source) {
    auto it = vendor.sources.find(source);
    return it == vendor.sources.end() ? source : source + " (" + it->second + ")";
}

void field(std::string& out, const char* label, const std::string& value) {
    if (value.empty()) return;
    out += label;
    out += value;
    out += '\n';
}

void write_text(rapidjson::Writer<rapidjson::StringBuffer>& w, const char* key, const Text& text,
                Lang lang) {
    if (text.empty()) return;
    w.Key(key);
    w.String(text.in(lang).c_str());
}

}  // namespace

std::string explain_text(const Vendor& vendor, const Entry& entry, const std::string& code,
                         Lang lang) {
    std::string out = vendor.id + " " + code;
    if (!vendor.title.empty()) out += " — " + vendor.title;
    out += '\n';
    if (entry.is_range) {
        out += "range:       " + std::to_string(entry.range_lo) + "-" +
               std::to_string(entry.range_hi) + "\n";
    }
    field(out, "message:     ", entry.message.in(lang));
    field(out, "description: ", entry.description.in(lang));
    out += "kind:        " + std::string(catalog::to_string(entry.kind)) + "\n";
    out += "category:    " + entry.category + "\n";
    out += "severity:    " + std::string(catalog::to_string(entry.severity)) + "\n";
    out += std::string("retryable:   ") + (entry.retryable ? "yes" : "no") + "\n";
    if (entry.http_status) out += "http status: " + std::to_string(*entry.http_status) + "\n";
    field(out, "fix:         ", entry.fix.in(lang));
    out += "source:      " + source_line(vendor, entry.source) + "\n";
    if (!entry.aliases.empty()) {
        out += "also written:";
        for (const auto& alias : entry.aliases)
            out += " " + alias;
        out += '\n';
    }
    if (!entry.contexts.empty()) {
        out += "contexts (replies to these request topics mean something more specific):\n";
        for (const auto& context : entry.contexts) {
            out += "  " + context.topic + "\n";
            field(out, "    message: ", context.message.in(lang));
            field(out, "    fix:     ", context.fix.in(lang));
        }
    }
    if (!entry.firmware.empty()) {
        out += "firmware:\n";
        for (const auto& meaning : entry.firmware) {
            bool own = !meaning.message.empty() || !meaning.description.empty();
            out += "  " + meaning.firmware + (own ? "" : ": defined on this firmware") + "\n";
            field(out, "    message:     ", meaning.message.in(lang));
            field(out, "    description: ", meaning.description.in(lang));
            field(out, "    fix:         ", meaning.fix.in(lang));
        }
    }
    if (!entry.variants.empty()) {
        out += "variants (other meanings of this number; never chosen automatically):\n";
        for (const auto& variant : entry.variants) {
            out +=
                "  - \"" + variant.message + "\" — " + source_line(vendor, variant.source) + "\n";
            field(out, "    note: ", variant.note);
        }
    }
    return out;
}

std::string explain_json(const Vendor& vendor, const Entry& entry, const std::string& code,
                         Lang lang) {
    rapidjson::StringBuffer buffer;
    rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
    w.StartObject();
    w.Key("vendor");
    w.String(vendor.id.c_str());
    w.Key("code");
    w.String(code.c_str());
    if (entry.is_range) {
        w.Key("code_range");
        w.StartArray();
        w.Int64(entry.range_lo);
        w.Int64(entry.range_hi);
        w.EndArray();
    }
    w.Key("kind");
    w.String(catalog::to_string(entry.kind).data());
    w.Key("category");
    w.String(entry.category.c_str());
    w.Key("severity");
    w.String(catalog::to_string(entry.severity).data());
    w.Key("retryable");
    w.Bool(entry.retryable);
    w.Key("http_status");
    if (entry.http_status) {
        w.Int(*entry.http_status);
    } else {
        w.Null();
    }
    write_text(w, "message", entry.message, lang);
    write_text(w, "description", entry.description, lang);
    write_text(w, "fix", entry.fix, lang);
    w.Key("source");
    w.String(entry.source.c_str());
    w.Key("contexts");
    w.StartArray();
    for (const auto& context : entry.contexts) {
        w.StartObject();
        w.Key("topic");
        w.String(context.topic.c_str());
        write_text(w, "message", context.message, lang);
        write_text(w, "fix", context.fix, lang);
        w.EndObject();
    }
    w.EndArray();
    w.Key("firmware");
    w.StartObject();
    for (const auto& meaning : entry.firmware) {
        w.Key(meaning.firmware.c_str());
        w.StartObject();
        write_text(w, "message", meaning.message, lang);
        write_text(w, "description", meaning.description, lang);
        write_text(w, "fix", meaning.fix, lang);
        w.EndObject();
    }
    w.EndObject();
    w.Key("variants");
    w.StartArray();
    for (const auto& variant : entry.variants) {
        w.StartObject();
        w.Key("message");
        w.String(variant.message.c_str());
        w.Key("source");
        w.String(variant.source.c_str());
        w.Key("note");
        w.String(variant.note.c_str());
        w.EndObject();
    }
    w.EndArray();
    w.EndObject();
    return std::string(buffer.GetString(), buffer.GetSize()) + "\n";
}

}  // namespace errbridge::cli
