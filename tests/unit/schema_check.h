#pragma once

// Validates one published payload against schema/errbridge-event.schema.json (SPEC §6:
// every test that checks events validates against it).

#include <string>
#include <string_view>

namespace errbridge::test {

// "" when `json` is a valid event, summary or dead letter; otherwise what is wrong, naming
// the shape it was checked as, the offending member and the rule it breaks.
std::string schema_violation(std::string_view json);

}  // namespace errbridge::test
