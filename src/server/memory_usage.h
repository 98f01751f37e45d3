// What the process spends on memory, for --maxmemory and INFO memory.
#pragma once

#include <cstdint>

namespace exactly::server {

// Heap bytes in use (malloc'ed and not freed, mmapped chunks included), as the
// allocator counts them: what the tables and buffers hold, without the pages
// the allocator keeps free. Costs a walk of the allocator's free lists: sample
// it, don't call it per command.
uint64_t UsedMemoryBytes();

// Resident set size of this process; 0 if /proc cannot be read.
uint64_t RssBytes();

// Half the physical memory: the default --maxmemory. A snapshot's fork may need up
// to as much again while the loop changes pages the child still reads.
uint64_t DefaultMaxMemoryBytes();

}  // namespace exactly::server
