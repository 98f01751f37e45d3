// The version exactly reports in HELLO, INFO and --version.
#pragma once

namespace exactly::base {

inline constexpr const char* kVersion = "0.1.0";

}  // namespace exactly::base
