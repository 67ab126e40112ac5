// Rendering a ChainReport: readable text for people, JSON for machines (schema in README).
#pragma once

#include <string>

#include "engine/pki/validate/chain_report.hpp"

namespace pkiflow::pki {

std::string report_text(const ChainReport& report, bool color = false);
std::string report_json(const ChainReport& report, int indent = 2);

}  // namespace pkiflow::pki
