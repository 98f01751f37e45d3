// The repair tool's cut: recovery allowed to drop everything after the first bad record.
#include "storage/repair.h"

namespace exactly::storage {

base::Result<RecoveryReport> Repair(FileSystem& fs, const std::string& dir) {
  RecoveryOptions options;
  options.cut_torn_tail = true;
  options.cut_corruption = true;
  auto ignore = [](Lsn, std::string_view) { return base::Status::Ok(); };
  return Recover(fs, dir, options, ignore, ignore);
}

}  // namespace exactly::storage
