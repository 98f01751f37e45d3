// Transport: the bytes of one client socket, in the clear or through TLS, for the
// RESP and the HTTP connections alike (net/socket_connection.h).
//
// Plain reads and writes are one recv or send, inline, as they were before TLS
// existed: the plain path pays one well-predicted branch. TLS goes through an
// OpenSSL session on the same non-blocking descriptor, run by the same epoll loop:
// the handshake happens inside the first reads (the session is in accept state),
// and OpenSSL's WANT_READ / WANT_WRITE become "would block", with a note of which
// readiness the session waits for, so the connection can watch for it.
//
// A record is never left half-read inside OpenSSL, where epoll could not see it:
// read-ahead is off, so OpenSSL holds at most the record being read, and a read
// goes on while OpenSSL still has bytes of it (callers offer kTlsRecordBytes of
// room anyway, a whole record's plaintext).
//
// Thread-safety: none; a transport lives on the event-loop thread.
#pragma once

#include <errno.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <cstddef>

struct ssl_st;

namespace exactly::net {

class TlsContext;

// What Read and Write return when nothing can move until the socket is ready.
inline constexpr ptrdiff_t kIoWouldBlock = -1;
// The most plaintext one TLS record carries (RFC 8446 5.1).
inline constexpr size_t kTlsRecordBytes = 16 * 1024;

class Transport {
 public:
  // Owns `fd` from now on; with `tls` the bytes go through a TLS session made for it.
  Transport(int fd, const TlsContext* tls);
  ~Transport();
  Transport(const Transport&) = delete;
  Transport& operator=(const Transport&) = delete;

  int fd() const { return fd_; }
  bool tls() const { return tls_; }
  // TLS, and the handshake has not finished.
  bool handshaking() const;

  // Reads up to `size` bytes into `data`: how many (> 0); 0 when the stream ended,
  // failed, or was not TLS on a TLS socket (close it); kIoWouldBlock when nothing
  // more can be read until the socket is ready again.
  ptrdiff_t Read(char* data, size_t size) {
    if (!tls_) [[likely]] {
      const ssize_t got = ::recv(fd_, data, size, 0);
      if (got >= 0) return got;
      return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? kIoWouldBlock : 0;
    }
    return TlsRead(data, size);
  }
  // Writes up to `size` bytes of `data`: how many (> 0); 0 when the socket failed
  // (close it); kIoWouldBlock when it is full. After kIoWouldBlock, TLS must be
  // given the same bytes again (more may follow them; they may have moved).
  ptrdiff_t Write(const char* data, size_t size) {
    if (!tls_) [[likely]] {
      for (;;) {
        const ssize_t sent = ::send(fd_, data, size, MSG_NOSIGNAL);
        if (sent >= 0) return sent;
        if (errno == EINTR) continue;
        return errno == EAGAIN || errno == EWOULDBLOCK ? kIoWouldBlock : 0;
      }
    }
    return TlsWrite(data, size);
  }

  // TLS only: the last Read would block until the socket is writable (a handshake
  // message or a session ticket waits to be sent), or the last Write until it is
  // readable. Always false in the clear.
  bool read_needs_writable() const { return read_needs_writable_; }
  bool write_needs_readable() const { return write_needs_readable_; }

  // Ends the stream both ways: TLS first sends its close_notify if the session is
  // sound (best effort; the socket is not waited for).
  void Shutdown();
  // Closes the descriptor and frees the TLS session; idempotent.
  void Close();

 private:
  ptrdiff_t TlsRead(char* data, size_t size);
  ptrdiff_t TlsWrite(const char* data, size_t size);

  int fd_;
  ssl_st* ssl_ = nullptr;
  bool tls_ = false;
  bool read_needs_writable_ = false;
  bool write_needs_readable_ = false;
  bool failed_ = false;  // a fatal TLS error: OpenSSL forbids a close_notify after it
};

}  // namespace exactly::net
