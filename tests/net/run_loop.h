// RunLoopUntil: drives a test's io_context a millisecond at a time until a
// condition holds, so a test waits on what the server did rather than on a sleep.
#pragma once

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <functional>

namespace exactly::net {

// Runs `io` until `done` holds; fails the calling test after 5 s. Call it through
// ASSERT_NO_FATAL_FAILURE where what follows needs `done` to hold.
inline void RunLoopUntil(boost::asio::io_context& io, const std::function<bool()>& done) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!done()) {
    ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "timed out";
    io.run_for(std::chrono::milliseconds(1));
    io.restart();
  }
}

}  // namespace exactly::net
