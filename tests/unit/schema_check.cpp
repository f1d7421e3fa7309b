#include "schema_check.h"

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>
#include <rapidjson/pointer.h>
#include <rapidjson/schema.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <utility>

namespace errbridge::test {
namespace {

using rapidjson::Document;
using rapidjson::Pointer;
using rapidjson::SchemaDocument;
using rapidjson::SchemaValidator;
using rapidjson::Value;

std::string to_json(const Value& value) {
    rapidjson::StringBuffer buffer;
    rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
    value.Accept(writer);
    return buffer.GetString();
}

std::string stringify(const Pointer& pointer) {
    rapidjson::StringBuffer buffer;
    pointer.Stringify(buffer);
    return buffer.GetString();
}

// RapidJSON 1.1 reports only the outermost failing keyword: for the root `oneOf` that says
// "none of the three shapes", for an `allOf` of rules "one of them". So every definition
// also gets a schema of its own, and a failure is narrowed down by validating again against
// the one shape (or rule) concerned.
struct Schemas {
    Document source;
    std::unique_ptr<SchemaDocument> whole;
    struct Definition {
        std::unique_ptr<Document> source;  // outlives the schema built from it
        std::unique_ptr<SchemaDocument> schema;
    };
    std::map<std::string, Definition> definitions;

    Schemas() {
        const std::string path = ERRBRIDGE_SOURCE_DIR "/schema/errbridge-event.schema.json";
        std::ifstream in(path, std::ios::binary);
        if (!in) throw std::runtime_error("cannot read " + path);
        std::ostringstream text;
        text << in.rdbuf();
        if (source.Parse(text.str().c_str()).HasParseError()) {
            throw std::runtime_error(path + ": " + GetParseError_En(source.GetParseError()));
        }
        whole = std::make_unique<SchemaDocument>(source);
        // Const iterators: RapidJSON 1.1's mutable ones make clang's C++20 `!=` ambiguous.
        for (const auto& member : std::as_const(source)["definitions"].GetObject()) {
            definitions.emplace(member.name.GetString(), definition(member.name.GetString()));
        }
    }

    // {"definitions": <the same>, "$ref": "#/definitions/<name>"}: schema pointers in its
    // errors resolve in `source` too.
    Definition definition(const std::string& name) {
        Definition d{std::make_unique<Document>(), nullptr};
        auto& alloc = d.source->GetAllocator();
        d.source->SetObject();
        d.source->AddMember("definitions", Value(source["definitions"], alloc), alloc);
        d.source->AddMember("$ref", Value(("#/definitions/" + name).c_str(), alloc), alloc);
        d.schema = std::make_unique<SchemaDocument>(*d.source);
        return d;
    }
};

const Schemas& schemas() {
    static const Schemas loaded;
    return loaded;
}

// `value` failed `validator`; `at` is where `value` sits in the whole document.
std::string describe(const Schemas& s, const SchemaValidator& validator, const Value& value,
                     const std::string& at) {
    const std::string keyword = validator.GetInvalidSchemaKeyword();
    const std::string where = at + stringify(validator.GetInvalidDocumentPointer());
    const Value* rule = validator.GetInvalidSchemaPointer().Get(s.source);
    const Value* culprit = validator.GetInvalidDocumentPointer().Get(value);

    if (keyword == "allOf" && rule && rule->HasMember("allOf") && culprit) {
        for (const auto& item : (*rule)["allOf"].GetArray()) {
            if (!item.IsObject() || !item.HasMember("$ref")) continue;
            std::string ref = item["$ref"].GetString();
            auto it = s.definitions.find(ref.substr(ref.rfind('/') + 1));
            if (it == s.definitions.end()) continue;
            SchemaValidator one(*it->second.schema);
            if (!culprit->Accept(one)) return describe(s, one, *culprit, where);
        }
    }

    std::string out = (where.empty() ? "/" : where) + ": ";
    if (keyword == "required" && rule && culprit && culprit->IsObject() &&
        rule->HasMember("required")) {
        out += "missing";
        for (const auto& name : (*rule)["required"].GetArray()) {
            if (!culprit->HasMember(name)) out += std::string(" \"") + name.GetString() + "\"";
        }
    } else if (keyword == "additionalProperties") {
        // RapidJSON points at the extra member itself: its name is the last token.
        const Pointer& pointer = validator.GetInvalidDocumentPointer();
        const auto count = pointer.GetTokenCount();
        const auto* tokens = pointer.GetTokens();
        out += count == 0
                   ? std::string("a member is not allowed")
                   : "member \"" + std::string(tokens[count - 1].name, tokens[count - 1].length) +
                         "\" is not allowed in this closed shape";
    } else {
        const bool scalar = culprit && !culprit->IsObject() && !culprit->IsArray();
        out +=
            (scalar ? to_json(*culprit) : std::string("the value")) + " breaks \"" + keyword + "\"";
        if (rule && rule->HasMember(keyword.c_str())) {
            const Value& expected = (*rule)[keyword.c_str()];
            if (!expected.IsArray() || (!expected.Empty() && !expected[0].IsObject())) {
                out += " " + to_json(expected);
            }
        }
    }
    out += " (schema #" + stringify(validator.GetInvalidSchemaPointer()) + ")";
    if (rule && rule->IsObject() && rule->HasMember("description")) {
        out += ": " + std::string((*rule)["description"].GetString());
    }
    return out;
}

}  // namespace

std::string schema_violation(std::string_view json) {
    const Schemas& s = schemas();
    Document doc;
    doc.Parse(json.data(), json.size());
    if (doc.HasParseError()) {
        return std::string("not JSON: ") + GetParseError_En(doc.GetParseError()) + " at byte " +
               std::to_string(doc.GetErrorOffset());
    }
    SchemaValidator whole(*s.whole);
    if (doc.Accept(whole)) return "";

    // The shape it claims to be: dead letters say so, summaries have first_ts/last_ts.
    std::string shape = "event";
    if (doc.IsObject() && doc.HasMember("dead_letter")) {
        shape = "dead_letter";
    } else if (doc.IsObject() && (doc.HasMember("first_ts") || doc.HasMember("last_ts"))) {
        shape = "summary";
    }
    SchemaValidator one(*s.definitions.at(shape).schema);
    if (doc.Accept(one)) {
        return "valid as a " + shape + ", yet not exactly one of event, summary, dead_letter";
    }
    return shape + ": " + describe(s, one, doc, "");
}

}  // namespace errbridge::test
