// SocketConnection: what a RESP connection (net/connection.h) and an HTTP one
// (http/http_connection.h) share about their socket: its Transport (plain or
// TLS), its registration in the SocketPoller and the readiness asked of it, when
// the client was last heard from, and closing it. Each subclass keeps its own
// framing, reply order and buffers.
//
// Readiness: a subclass sets want_read_ / want_write_ and calls UpdateWatch,
// which also asks for what a TLS session waits for (a read that needs the socket
// writable, a write that needs it readable), and costs an epoll_ctl only when the
// answer changed. A subclass's OnReadable and OnWritable first retry the other
// direction when the session waited for it (read_waits_for_write(),
// write_waits_for_read()).
//
// Thread-safety: none; a connection lives on the event-loop thread.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "base/monotonic_clock.h"
#include "net/socket_poller.h"
#include "net/transport.h"

namespace exactly::net {

class TlsContext;

// How long a TLS client may take to finish its handshake before the idle sweep
// closes it, whatever --timeout says: until then it has sent no command that
// could make it "active". Listed in docs/limits.md.
inline constexpr int64_t kTlsHandshakeMsMax = 10'000;

class SocketConnection : public PollClient {
 public:
  ~SocketConnection() override;
  SocketConnection(const SocketConnection&) = delete;
  SocketConnection& operator=(const SocketConnection&) = delete;

  uint64_t id() const { return id_; }
  // When the client last sent bytes (monotonic ms), for --timeout.
  int64_t last_activity_ms() const { return last_activity_ms_; }
  // "ip:port" of the client, "?" once closed or unknown.
  std::string remote_address() const;
  // The address the client reached ("ip:port"), which a single node names in CLUSTER
  // SLOTS: the one address it knows the client can dial.
  std::string local_address() const;
  bool tls() const { return transport_.tls(); }
  // Whether a sweep at `now_ms` should close it: a TLS handshake unfinished past
  // kTlsHandshakeMsMax, or (idle_ms > 0) nothing heard for idle_ms while no reply
  // is pending.
  bool Expired(int64_t now_ms, int64_t idle_ms, bool replies_pending) const;
  // Closes at once, dropping unsent output.
  virtual void Close() = 0;

 protected:
  // Takes the descriptor over from `socket`; with `tls`, speaks TLS on it.
  SocketConnection(boost::asio::ip::tcp::socket socket, uint64_t id, SocketPoller& poller,
                   const TlsContext* tls);

  // Registers with the poller, watching reads; false when it could not.
  bool Register(std::shared_ptr<PollClient> self);
  // Transport::Read, noting when the client was last heard from.
  ptrdiff_t Receive(char* data, size_t size) {
    const ptrdiff_t got = transport_.Read(data, size);
    if (got > 0) [[likely]] {
      last_activity_ms_ = base::MonotonicNowMs();
    } else if (got == kIoWouldBlock && transport_.tls()) {
      UpdateWatch();  // the session may wait for writability now
    }
    return got;
  }
  ptrdiff_t Send(const char* data, size_t size) { return transport_.Write(data, size); }
  // Tells the poller what to report (want_read_, want_write_ and the TLS
  // session's needs), if that changed. Inline: it runs several times per
  // request and nearly always finds nothing changed.
  void UpdateWatch() {
    const bool read = want_read_ || transport_.write_needs_readable();
    const bool write = want_write_ || transport_.read_needs_writable();
    if (read == watching_read_ && write == watching_write_) [[likely]] {
      return;
    }
    ChangeWatch(read, write);
  }
  bool read_waits_for_write() const { return transport_.read_needs_writable(); }
  bool write_waits_for_read() const { return transport_.write_needs_readable(); }
  // Ends the stream both ways (TLS: close_notify first) without closing.
  void ShutdownSocket() { transport_.Shutdown(); }
  // Leaves the poller and closes the descriptor; sets closed_. The subclass
  // frees its buffers and tells its handler.
  void ReleaseSocket();

  SocketPoller& poller_;
  bool want_read_ = true;  // what the subclass wants reported
  bool want_write_ = false;
  bool closed_ = false;

 private:
  void ChangeWatch(bool read, bool write);

  Transport transport_;
  uint64_t id_;
  uint64_t poll_key_ = 0;      // 0 until Register
  bool watching_read_ = true;  // what the poller was last told
  bool watching_write_ = false;
  int64_t opened_ms_ = 0;
  int64_t last_activity_ms_ = 0;
};

}  // namespace exactly::net
