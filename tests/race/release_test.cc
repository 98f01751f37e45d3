// The release of a round's last bytes: every method delivers each socket's byte once,
// skips the sockets it is told to, and says which method it used. Timings are
// bench/race_spread.sh's business, not a test's.
#include "race/release.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <vector>

namespace exactly::race {
namespace {

TEST(ReleaseTest, EveryMethodDeliversEachByteOnce) {
  for (const char* name : {"auto", "parallel", "io_uring", "send"}) {
    ReleaseMethod method;
    ASSERT_TRUE(ParseReleaseMethod(name, method));
    constexpr size_t kSockets = 40;  // enough for the parallel release to use threads
    std::vector<int> ours(kSockets, -1);
    std::vector<int> theirs(kSockets, -1);
    std::vector<char> bytes(kSockets);
    for (size_t k = 0; k < kSockets; ++k) {
      int pair[2];
      ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, pair), 0);
      ours[k] = pair[0];
      theirs[k] = pair[1];
      bytes[k] = static_cast<char>('a' + k % 26);
    }
    std::vector<int> fds = ours;
    fds[7] = -1;  // a request whose prefix failed is not released
    const ReleaseTimes t = ReleaseLastBytes(fds, bytes, method);
    EXPECT_FALSE(t.method.empty()) << name;
    EXPECT_GE(t.done_us, t.origin_us) << name;
    for (size_t k = 0; k < kSockets; ++k) {
      char got[2];
      const ssize_t n = ::recv(theirs[k], got, sizeof(got), MSG_DONTWAIT);
      if (k == 7) {
        EXPECT_EQ(n, -1) << name;
        EXPECT_EQ(t.sent_us[k], -1) << name;
      } else {
        ASSERT_EQ(n, 1) << name << " socket " << k;
        EXPECT_EQ(got[0], bytes[k]);
        EXPECT_GE(t.sent_us[k], t.origin_us) << name;
        EXPECT_TRUE(t.errors[k].empty()) << t.errors[k];
      }
      ::close(ours[k]);
      ::close(theirs[k]);
    }
  }
  ReleaseMethod m;
  EXPECT_FALSE(ParseReleaseMethod("fast", m));
}

TEST(ReleaseTest, AClosedPeerIsAnErrorNotACrash) {
  for (const char* name : {"send", "io_uring"}) {
    ReleaseMethod method;
    ASSERT_TRUE(ParseReleaseMethod(name, method));
    int pair[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, pair), 0);
    ::close(pair[1]);
    const ReleaseTimes t = ReleaseLastBytes({pair[0]}, {'x'}, method);
    EXPECT_EQ(t.sent_us[0], -1) << name;
    EXPECT_FALSE(t.errors[0].empty()) << name;
    ::close(pair[0]);
  }
}

}  // namespace
}  // namespace exactly::race
