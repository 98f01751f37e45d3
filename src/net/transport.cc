// TLS reads and writes through OpenSSL on a non-blocking socket (transport.h).
#include "net/transport.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <unistd.h>

#include <algorithm>
#include <climits>

#include "net/tls_context.h"

namespace exactly::net {
namespace {

int ClampToInt(size_t size) { return static_cast<int>(std::min<size_t>(size, INT_MAX)); }

}  // namespace

Transport::Transport(int fd, const TlsContext* tls) : fd_(fd) {
  if (tls == nullptr || fd < 0) return;
  tls_ = true;
  ssl_ = tls->NewSession(fd);
  // Out of memory: the transport reads as failed, so the connection closes.
  if (ssl_ == nullptr) failed_ = true;
}

Transport::~Transport() { Close(); }

bool Transport::handshaking() const {
  return tls_ && ssl_ != nullptr && SSL_is_init_finished(ssl_) == 0;
}

ptrdiff_t Transport::TlsRead(char* data, size_t size) {
  read_needs_writable_ = false;
  if (ssl_ == nullptr || failed_) return 0;
  size_t total = 0;
  while (total < size) {
    ERR_clear_error();  // SSL_get_error reads the thread's queue: stale entries mislead it
    const int got = SSL_read(ssl_, data + total, ClampToInt(size - total));
    if (got > 0) {
      total += static_cast<size_t>(got);
      if (SSL_pending(ssl_) == 0) break;  // the rest, if any, is still in the socket
      continue;
    }
    const int error = SSL_get_error(ssl_, got);
    if (error == SSL_ERROR_WANT_READ) break;
    if (error == SSL_ERROR_WANT_WRITE) {
      read_needs_writable_ = true;
      break;
    }
    if (error == SSL_ERROR_SYSCALL && errno == EINTR && ERR_peek_error() == 0) break;
    // The peer's close_notify, a reset, or bytes that are not TLS (a plain client
    // on the TLS port, a failed handshake): the stream ends here.
    if (error != SSL_ERROR_ZERO_RETURN) failed_ = true;
    ERR_clear_error();
    return total > 0 ? static_cast<ptrdiff_t>(total) : 0;
  }
  return total > 0 ? static_cast<ptrdiff_t>(total) : kIoWouldBlock;
}

ptrdiff_t Transport::TlsWrite(const char* data, size_t size) {
  write_needs_readable_ = false;
  if (ssl_ == nullptr || failed_) return 0;
  ERR_clear_error();
  // With SSL_MODE_ENABLE_PARTIAL_WRITE this returns once a record is written, so
  // a large reply leaves record by record as the socket takes them.
  const int sent = SSL_write(ssl_, data, ClampToInt(size));
  if (sent > 0) return sent;
  const int error = SSL_get_error(ssl_, sent);
  if (error == SSL_ERROR_WANT_WRITE) return kIoWouldBlock;
  if (error == SSL_ERROR_WANT_READ) {
    write_needs_readable_ = true;
    return kIoWouldBlock;
  }
  if (error == SSL_ERROR_SYSCALL && errno == EINTR && ERR_peek_error() == 0) return kIoWouldBlock;
  failed_ = true;
  ERR_clear_error();
  return 0;
}

void Transport::Shutdown() {
  if (fd_ < 0) return;
  if (ssl_ != nullptr && !failed_ && SSL_is_init_finished(ssl_) != 0) {
    ERR_clear_error();
    SSL_shutdown(ssl_);  // queues and tries to send close_notify; never waits
    ERR_clear_error();
  }
  ::shutdown(fd_, SHUT_RDWR);
}

void Transport::Close() {
  if (ssl_ != nullptr) {
    SSL_free(ssl_);
    ssl_ = nullptr;
  }
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
}

}  // namespace exactly::net
