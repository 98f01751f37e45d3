// `exactly race`: fires synchronized requests at an HTTP or RESP endpoint and checks
// invariants over the outcomes (docs/race.md).
#pragma once

namespace exactly::race {

// Runs `exactly race`; argv[0] is "race". Prints the summary to stdout and progress
// to stderr (when it is a terminal). Returns the exit code: 0 every expectation held,
// 1 an expectation was violated, 2 usage or connection error or an unknown outcome.
int RaceMain(int argc, char** argv);

}  // namespace exactly::race
