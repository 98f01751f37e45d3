// Closes idle clients and stalled TLS handshakes once a second (idle_sweep.h).
#include "server/idle_sweep.h"

#include <chrono>

namespace exactly::server {

void IdleSweep::Arm() {
  timer_.expires_after(std::chrono::seconds(1));
  timer_.async_wait([this](const boost::system::error_code& error) {
    if (error) return;
    // Collected first: closing a connection takes it out of the map being walked.
    Expired expired;
    collect_(base::MonotonicNowMs(), idle_ms_, &expired);
    for (auto& connection : expired) connection->Close();
    Arm();
  });
}

}  // namespace exactly::server
