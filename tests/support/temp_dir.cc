// Creates and removes per-test directories.
#include "support/temp_dir.h"

#include <stdlib.h>

#include <filesystem>

#include "base/assert.h"

namespace exactly::testing {

TempDir::TempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string pattern = std::string(base != nullptr ? base : "/tmp") + "/exactly-test-XXXXXX";
  char* made = mkdtemp(pattern.data());
  EXACTLY_ASSERT(made != nullptr);
  path_ = made;
}

TempDir::~TempDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

std::string TempDir::File(const std::string& name) const { return path_ + "/" + name; }

}  // namespace exactly::testing
