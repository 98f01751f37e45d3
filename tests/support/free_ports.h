// FreePorts: loopback TCP ports nothing listens on, for tests that start servers.
#pragma once

#include <vector>

namespace exactly::testing {

// `n` distinct free ports on 127.0.0.1, each held bound while the next is chosen
// so they differ. Free when returned; a test binds them soon after.
std::vector<int> FreePorts(int n);

}  // namespace exactly::testing
