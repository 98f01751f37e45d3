// Loads the server's TLS certificate and key into an OpenSSL context.
#include "net/tls_context.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <string>
#include <utility>

namespace exactly::net {
namespace {

// OpenSSL's reasons for the last failure, oldest first, then clears its queue.
std::string OpenSslErrors() {
  std::string text;
  while (const unsigned long code = ERR_get_error()) {
    char reason[256];
    ERR_error_string_n(code, reason, sizeof(reason));
    if (!text.empty()) text += "; ";
    text += reason;
  }
  return text.empty() ? std::string("unknown error") : text;
}

base::Status LoadFailure(std::string_view flag, const std::string& path, std::string_view what) {
  return base::Status::InvalidArgument(std::string(flag) + " " + path + ": " + std::string(what) +
                                       " (" + OpenSslErrors() + ")");
}

}  // namespace

base::Result<std::shared_ptr<TlsContext>> TlsContext::Load(const TlsFiles& files) {
  ERR_clear_error();
  if (files.cert.empty() || files.key.empty()) {
    return base::Status::InvalidArgument("TLS needs both --tls-cert and --tls-key");
  }
  SSL_CTX* context = SSL_CTX_new(TLS_server_method());
  if (context == nullptr) {
    return base::Status::IoError("cannot make a TLS context: " + OpenSslErrors());
  }
  // Owned here until the context object takes it.
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> owned(context, SSL_CTX_free);
  SSL_CTX_set_min_proto_version(context, TLS1_2_VERSION);
  SSL_CTX_set_options(context, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  SSL_CTX_set_mode(context, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                                SSL_MODE_RELEASE_BUFFERS);
  if (SSL_CTX_use_certificate_chain_file(context, files.cert.c_str()) != 1) {
    return LoadFailure("--tls-cert", files.cert, "cannot load the certificate chain");
  }
  if (SSL_CTX_use_PrivateKey_file(context, files.key.c_str(), SSL_FILETYPE_PEM) != 1) {
    // OpenSSL compares the key with the certificate as it loads it.
    const bool mismatch = ERR_GET_REASON(ERR_peek_last_error()) == X509_R_KEY_VALUES_MISMATCH;
    return LoadFailure(
        "--tls-key", files.key,
        mismatch ? "does not match the certificate of --tls-cert" : "cannot load the private key");
  }
  if (SSL_CTX_check_private_key(context) != 1) {
    return LoadFailure("--tls-key", files.key, "does not match the certificate of --tls-cert");
  }
  const bool verifies_clients = !files.ca_cert.empty();
  if (verifies_clients) {
    if (SSL_CTX_load_verify_locations(context, files.ca_cert.c_str(), nullptr) != 1) {
      return LoadFailure("--tls-ca-cert", files.ca_cert, "cannot load the CA certificates");
    }
    STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(files.ca_cert.c_str());
    if (names == nullptr) {
      return LoadFailure("--tls-ca-cert", files.ca_cert, "holds no CA certificate");
    }
    SSL_CTX_set_client_CA_list(context, names);  // takes `names`
    SSL_CTX_set_verify(context, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  }
  // Session resumption needs a context id when clients are verified.
  static constexpr unsigned char kSessionId[] = "exactly";
  SSL_CTX_set_session_id_context(context, kSessionId, sizeof(kSessionId) - 1);
  return std::make_shared<TlsContext>(Key{}, owned.release(), verifies_clients);
}

TlsContext::~TlsContext() { SSL_CTX_free(context_); }

ssl_st* TlsContext::NewSession(int fd) const {
  SSL* session = SSL_new(context_);
  if (session == nullptr) return nullptr;
  if (SSL_set_fd(session, fd) != 1) {
    SSL_free(session);
    return nullptr;
  }
  SSL_set_accept_state(session);
  return session;
}

}  // namespace exactly::net
