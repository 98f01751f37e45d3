// TlsContext: the server's certificate, key and TLS settings (an OpenSSL SSL_CTX),
// loaded once at start-up and shared by every TLS connection of the RESP and HTTP
// ports (docs/tls.md).
//
// Settings: TLS 1.2 or newer, no renegotiation (a client could otherwise make
// the server redo the expensive half of a handshake at will, and a read could need
// the socket writable again mid-stream), partial writes with a buffer that may move
// between retries (a connection's output buffer is compacted while a record waits
// for the socket), and buffers released while a connection is idle. With a CA file
// every client must present a certificate it signed (mutual TLS).
//
// Thread-safety: the context is read-only once loaded; sessions are made on the
// event-loop thread.
#pragma once

#include <memory>
#include <string>

#include "base/status.h"

struct ssl_st;
struct ssl_ctx_st;

namespace exactly::net {

// The files of --tls-cert, --tls-key and --tls-ca-cert (PEM).
struct TlsFiles {
  std::string cert;     // the server's certificate chain, leaf first
  std::string key;      // its private key
  std::string ca_cert;  // empty: clients are not asked for certificates
};

class TlsContext {
  struct Key {};  // only Load makes contexts

 public:
  // Loads and checks the files: InvalidArgument naming the file and OpenSSL's
  // reason when one cannot be read or parsed, or the key does not match the
  // certificate, so a server with bad TLS files refuses to start.
  static base::Result<std::shared_ptr<TlsContext>> Load(const TlsFiles& files);

  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  // A new server-side session on `fd`, in accept state (the handshake runs inside
  // its first reads); the caller owns it (Transport frees it). nullptr when
  // OpenSSL is out of memory.
  ssl_st* NewSession(int fd) const;
  bool verifies_clients() const { return verifies_clients_; }

  // Takes `context` over; for Load only (Key is private).
  TlsContext(Key, ssl_ctx_st* context, bool verifies_clients)
      : context_(context), verifies_clients_(verifies_clients) {}

 private:
  ssl_ctx_st* context_;
  bool verifies_clients_;
};

}  // namespace exactly::net
