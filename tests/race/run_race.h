// Runs `exactly race ...` in-process, as the binary would, for the race tool's
// tests; and reads back the files it writes (--json, --html).
#pragma once

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "race/race_main.h"

namespace exactly::race::testing {

// `args` follow `race` on the command line; --quiet is added so tests print nothing.
inline int RunRace(std::vector<std::string> args) {
  args.insert(args.begin(), "race");
  args.push_back("--quiet");
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  return RaceMain(static_cast<int>(argv.size()), argv.data());
}

inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace exactly::race::testing
