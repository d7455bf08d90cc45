// Wall-clock timestamps as stored and shown: ISO 8601 in UTC with milliseconds.
#pragma once

#include <string>

namespace timbre {

std::string NowIso8601();

}  // namespace timbre
