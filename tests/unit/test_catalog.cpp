// Loading, validating, merging and looking up catalog documents.

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "errbridge/catalog/catalog.h"

using namespace errbridge::catalog;
namespace fs = std::filesystem;

namespace {

// A minimal valid document; tests change one thing at a time.
std::string document(const std::string& entries, const std::string& extra = "") {
    return R"({"schema": "errbridge-catalog/1", "vendor": "acme", "code_style": "numeric",
      "sources": {"acme-manual": "ACME gateway manual v3"},
      "decode": {"format": "json", "code": ["/code"]},)" +
           extra + R"( "entries": [)" + entries + "]}";
}

const std::string good_entry = R"({"code": "42", "kind": "error", "category": "connectivity",
    "severity": "warning", "retryable": true, "message": {"en": "link down"},
    "fix": {"en": "Check the RS-485 cable."}, "source": "acme-manual"})";

std::string rejection(const std::string& json) {
    try {
        parse_document(json, "site/acme.json");
    } catch (const CatalogError& e) {
        return e.what();
    }
    return "accepted";
}

struct TempDir {
    fs::path path;
    TempDir() {
        path = fs::temp_directory_path() /
               ("errbridge-catalog-test-" + std::to_string(::getpid()) + "-" +
                std::to_string(reinterpret_cast<std::uintptr_t>(this)));
        fs::create_directories(path);
    }
    ~TempDir() { fs::remove_all(path); }
    fs::path write(const std::string& name, const std::string& text) const {
        std::ofstream(path / name) << text;
        return path / name;
    }
};

}  // namespace

TEST_CASE("a valid document parses into plain structs", "[catalog]") {
    Vendor vendor = parse_document(document(good_entry), "site/acme.json");
    REQUIRE(vendor.id == "acme");
    REQUIRE(vendor.entries.size() == 1);
    const Entry& e = vendor.entries[0];
    CHECK(e.code == "42");
    CHECK(e.category == "connectivity");
    CHECK(e.severity == Severity::warning);
    CHECK(e.retryable);
    CHECK(e.message.en == "link down");
    CHECK(e.message.in(Lang::zh) == "link down");  // falls back to English
}

TEST_CASE("broken documents are rejected with the path and the reason", "[catalog]") {
    struct Row {
        std::string json;
        std::string message;
    };
    auto with = [](const std::string& from, const std::string& to) {
        std::string entry = good_entry;
        entry.replace(entry.find(from), from.size(), to);
        return document(entry);
    };
    const Row rows[] = {
        {"{\n  \"schema\": \"errbridge-catalog/1\",\n}",
         "site/acme.json:3: Missing a name for object member."},
        {with("\"category\": \"connectivity\"", "\"category\": \"network\""),
         "site/acme.json: entries[0] (code 42).category: unknown category \"network\" (see "
         "catalog/README.md)"},
        {with("\"severity\": \"warning\"", "\"severity\": \"fatal\""),
         "site/acme.json: entries[0] (code 42).severity: must be info, warning, error or "
         "critical"},
        {with("\"retryable\": true", "\"retriable\": true"),
         "site/acme.json: entries[0] (code 42).retryable: missing"},
        {with("\"source\": \"acme-manual\"", "\"source\": \"forum\""),
         "site/acme.json: entries[0] (code 42).source: \"forum\" is not declared in sources"},
        {with("\"code\": \"42\"", "\"code\": \"042\""),
         "site/acme.json: entries[0] (code 042).code: not in canonical spelling (expected \"42\")"},
        {with("\"code\": \"42\"", "\"code\": \"4x\""),
         "site/acme.json: entries[0] (code 4x).code: not a valid code for this vendor's code "
         "style"},
        {with("\"fix\": {\"en\": \"Check the RS-485 cable.\"}", "\"fix\": {\"en\": \"\"}"),
         "site/acme.json: entries[0] (code 42).fix.en: must not be empty"},
        {with("\"kind\": \"error\"", "\"kind\": \"error\", \"colour\": \"red\""),
         "site/acme.json: entries[0] (code 42).colour: unknown key"},
        {document(good_entry + "," + good_entry),
         "site/acme.json: entries[1] (code 42): code listed twice (first copy wins: put other "
         "texts in variants)"},
        {with("\"kind\": \"error\"", "\"kind\": \"success\""),
         "site/acme.json: entries[0] (code 42).category: \"success\" is the category of kind "
         "success entries, and only theirs"},
    };
    for (const auto& row : rows) {
        CHECK(rejection(row.json) == row.message);
    }
}

TEST_CASE("built-in catalog has every vendor and no entry lacks the essentials", "[catalog]") {
    Catalog catalog = Catalog::built_in();
    for (const char* id : {"aliyun", "neuron", "tuya", "tuya-link", "huawei-iotedge", "camera"}) {
        INFO(id);
        const Vendor* vendor = catalog.vendor(id);
        REQUIRE(vendor != nullptr);
        CHECK(vendor->decode.format.has_value());
        CHECK_FALSE(vendor->routes.empty());
        for (const auto& entry : vendor->entries) {
            INFO(entry.code);
            CHECK_FALSE(entry.category.empty());
            CHECK_FALSE(entry.fix.en.empty());
            CHECK_FALSE(entry.message.en.empty());
        }
    }
}

TEST_CASE("codes collide across vendors; the vendor decides", "[catalog]") {
    Catalog catalog = Catalog::built_in();
    const Entry* neuron = catalog.find("neuron", 1001);
    const Entry* tuya = catalog.find("tuya", 1001);
    REQUIRE(neuron);
    REQUIRE(tuya);
    CHECK(neuron->message.en == "Internal error");
    CHECK(tuya->message.en == "secret invalid");
    CHECK(catalog.find("no-such-vendor", 1001) == nullptr);
    CHECK(catalog.find("neuron", 999999) == nullptr);
}

TEST_CASE("site files merge over the built-in catalog", "[catalog]") {
    TempDir dir;
    Catalog catalog = Catalog::built_in();
    const std::size_t neuron_entries = catalog.vendor("neuron")->entries.size();
    dir.write("10-neuron.json", R"({"schema": "errbridge-catalog/1", "vendor": "neuron",
      "sources": {"site-notes": "plant-a maintenance notes"},
      "entries": [
        {"code": "3002", "kind": "error", "category": "connectivity", "severity": "critical",
         "retryable": true, "message": {"en": "Plugin is not connected"},
         "fix": {"en": "Line 3 PLC: power-cycle the Moxa NPort in cabinet B."}, "source": "site-notes"},
        {"code": "60001", "kind": "error", "category": "field-protocol", "severity": "error",
         "retryable": false, "message": {"en": "custom driver fault"},
         "fix": {"en": "See plant-a runbook 7."}, "source": "site-notes"}]})");
    dir.write("20-acme.json", document(good_entry));
    dir.write("notes.txt", "not a catalog");
    catalog.merge_paths({dir.path});

    const Entry* replaced = catalog.find("neuron", 3002);
    REQUIRE(replaced);
    CHECK(replaced->severity == Severity::critical);
    CHECK(replaced->fix.en == "Line 3 PLC: power-cycle the Moxa NPort in cabinet B.");
    REQUIRE(catalog.find("neuron", 60001));
    CHECK(catalog.vendor("neuron")->entries.size() == neuron_entries + 1);
    CHECK(catalog.vendor("neuron")->decode.code.has_value());  // kept from the built-in
    REQUIRE(catalog.find("acme", 42));
    CHECK(catalog.find("acme", 42)->message.en == "link down");
}

TEST_CASE("a broken extra file is rejected and leaves the catalog unchanged", "[catalog]") {
    TempDir dir;
    Catalog catalog = Catalog::built_in();
    auto good = dir.write("a.json", document(good_entry));
    auto bad = dir.write("b.json", R"({"schema": "errbridge-catalog/1", "vendor": "tuya",
      "entries": [{"code": "1010", "kind": "error"}]})");
    try {
        catalog.merge_paths({good, bad});
        FAIL("accepted a broken file");
    } catch (const CatalogError& e) {
        CHECK(std::string(e.what()) == bad.string() + ": entries[0] (code 1010).category: missing");
    }
    CHECK(catalog.vendor("acme") == nullptr);  // all or nothing

    CHECK_THROWS_WITH(catalog.merge_paths({dir.path / "missing.json"}),
                      (dir.path / "missing.json").string() + ": cannot read file");
    auto newcomer = dir.write("c.json", R"({"schema": "errbridge-catalog/1", "vendor": "newco",
      "entries": []})");
    CHECK_THROWS_WITH(catalog.merge_paths({newcomer}),
                      newcomer.string() +
                          ": vendor \"newco\" is new, so its document needs "
                          "decode.format and decode.code");
}

TEST_CASE("copies of a catalog stay valid", "[catalog]") {
    Catalog original = Catalog::built_in();
    Catalog copy = original;
    original = Catalog();
    REQUIRE(copy.find("camera", 5));
    CHECK(copy.find("camera", 5)->message.en == "Network Port Error");
}
