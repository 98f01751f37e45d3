// Transport and TlsContext: plain and TLS bytes over a non-blocking socket pair,
// the handshake driven by would-block results as the epoll loop drives it, large
// writes that leave record by record, bytes that are not TLS, and the refusal of
// unusable certificate files.
#include "net/transport.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <string>

#include "net/tls_context.h"
#include "support/temp_dir.h"

namespace exactly::net {
namespace {

// Writes a self-signed P-256 certificate and its key (PEM) to `cert` and `key`.
void WriteSelfSigned(const std::string& cert, const std::string& key) {
  EVP_PKEY* pkey = EVP_EC_gen("P-256");
  ASSERT_NE(pkey, nullptr);
  X509* x509 = X509_new();
  ASSERT_NE(x509, nullptr);
  ASN1_INTEGER_set(X509_get_serialNumber(x509), 1);
  X509_gmtime_adj(X509_getm_notBefore(x509), -60);
  X509_gmtime_adj(X509_getm_notAfter(x509), 3600);
  X509_set_pubkey(x509, pkey);
  X509_NAME* name = X509_get_subject_name(x509);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("exactly test"), -1, -1, 0);
  X509_set_issuer_name(x509, name);
  ASSERT_GT(X509_sign(x509, pkey, EVP_sha256()), 0);
  FILE* cert_file = std::fopen(cert.c_str(), "w");
  ASSERT_NE(cert_file, nullptr);
  PEM_write_X509(cert_file, x509);
  std::fclose(cert_file);
  FILE* key_file = std::fopen(key.c_str(), "w");
  ASSERT_NE(key_file, nullptr);
  PEM_write_PrivateKey(key_file, pkey, nullptr, nullptr, 0, nullptr, nullptr);
  std::fclose(key_file);
  X509_free(x509);
  EVP_PKEY_free(pkey);
}

class TransportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    WriteSelfSigned(dir_.File("cert.pem"), dir_.File("key.pem"));
    auto loaded = TlsContext::Load({dir_.File("cert.pem"), dir_.File("key.pem"), ""});
    ASSERT_TRUE(loaded.ok()) << loaded.status().message();
    server_context_ = *loaded;
    int fds[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fds), 0);
    server_fd_ = fds[0];
    client_fd_ = fds[1];
    client_context_ = SSL_CTX_new(TLS_client_method());
    client_ = SSL_new(client_context_);
    SSL_set_fd(client_, client_fd_);
    SSL_set_connect_state(client_);
  }

  void TearDown() override {
    if (client_ != nullptr) SSL_free(client_);
    if (client_context_ != nullptr) SSL_CTX_free(client_context_);
    ::close(client_fd_);
  }

  // Runs the client's side of the handshake and the server's reads until both
  // are done, as the loop would on each readiness report.
  void Handshake(Transport& server) {
    char byte;
    for (int turn = 0; turn < 100; ++turn) {
      const int connected = SSL_do_handshake(client_);
      const ptrdiff_t got = server.Read(&byte, 1);
      ASSERT_EQ(got, kIoWouldBlock);  // no application bytes yet
      if (connected == 1 && !server.handshaking()) return;
    }
    FAIL() << "the handshake did not finish";
  }

  // Reads `size` bytes on the server, letting the client write `data` meanwhile.
  std::string ServerReads(Transport& server, const std::string& data) {
    std::string got;
    size_t written = 0;
    char buffer[kTlsRecordBytes];
    for (int turn = 0; turn < 10000 && got.size() < data.size(); ++turn) {
      if (written < data.size()) {
        const int n =
            SSL_write(client_, data.data() + written, static_cast<int>(data.size() - written));
        if (n > 0) written += static_cast<size_t>(n);
      }
      const ptrdiff_t n = server.Read(buffer, sizeof(buffer));
      EXPECT_NE(n, 0);
      if (n > 0) got.append(buffer, static_cast<size_t>(n));
    }
    return got;
  }

  testing::TempDir dir_;
  std::shared_ptr<TlsContext> server_context_;
  int server_fd_ = -1;
  int client_fd_ = -1;
  SSL_CTX* client_context_ = nullptr;
  SSL* client_ = nullptr;
};

TEST_F(TransportTest, PlainReadsWritesAndEndOfStream) {
  Transport server(server_fd_, nullptr);
  EXPECT_FALSE(server.tls());
  EXPECT_FALSE(server.handshaking());
  char buffer[16];
  EXPECT_EQ(server.Read(buffer, sizeof(buffer)), kIoWouldBlock);
  ASSERT_EQ(::write(client_fd_, "PING\r\n", 6), 6);
  ASSERT_EQ(server.Read(buffer, sizeof(buffer)), 6);
  EXPECT_EQ(std::string(buffer, 6), "PING\r\n");
  EXPECT_EQ(server.Write("+PONG\r\n", 7), 7);
  ASSERT_EQ(::read(client_fd_, buffer, sizeof(buffer)), 7);
  ::shutdown(client_fd_, SHUT_WR);
  EXPECT_EQ(server.Read(buffer, sizeof(buffer)), 0);
}

TEST_F(TransportTest, TlsHandshakeThenBytesBothWays) {
  Transport server(server_fd_, server_context_.get());
  EXPECT_TRUE(server.tls());
  EXPECT_TRUE(server.handshaking());
  Handshake(server);
  EXPECT_EQ(ServerReads(server, "PING\r\n"), "PING\r\n");
  EXPECT_EQ(server.Write("+PONG\r\n", 7), 7);
  char buffer[16];
  ASSERT_EQ(SSL_read(client_, buffer, sizeof(buffer)), 7);
  EXPECT_EQ(std::string(buffer, 7), "+PONG\r\n");
}

TEST_F(TransportTest, LargeWritesStopWhenTheSocketIsFullAndResume) {
  Transport server(server_fd_, server_context_.get());
  Handshake(server);
  // Far past the socket pair's buffer: the server's writes must stop with
  // kIoWouldBlock (partial writes report what the socket took) and resume with
  // the rest once the client reads.
  std::string reply(4 * 1024 * 1024, '\0');
  for (size_t i = 0; i < reply.size(); ++i) reply[i] = static_cast<char>('a' + i % 26);
  size_t sent = 0;
  bool blocked = false;
  std::string received;
  char buffer[64 * 1024];
  for (int turn = 0; turn < 100000 && received.size() < reply.size(); ++turn) {
    if (sent < reply.size()) {
      const ptrdiff_t n = server.Write(reply.data() + sent, reply.size() - sent);
      ASSERT_NE(n, 0);
      if (n == kIoWouldBlock) blocked = true;
      if (n > 0) sent += static_cast<size_t>(n);  // partial: what the socket took
    }
    if (blocked || sent == reply.size()) {
      const int n = SSL_read(client_, buffer, sizeof(buffer));
      if (n > 0) received.append(buffer, static_cast<size_t>(n));
    }
  }
  EXPECT_TRUE(blocked);
  EXPECT_TRUE(received == reply);
}

TEST_F(TransportTest, PlainTextOnATlsSocketEndsTheStream) {
  Transport server(server_fd_, server_context_.get());
  const std::string ping = "*1\r\n$4\r\nPING\r\n";
  ASSERT_EQ(::write(client_fd_, ping.data(), ping.size()), static_cast<ssize_t>(ping.size()));
  char buffer[64];
  EXPECT_EQ(server.Read(buffer, sizeof(buffer)), 0);
  EXPECT_EQ(server.Read(buffer, sizeof(buffer)), 0);  // and stays ended
  EXPECT_EQ(server.Write("+PONG\r\n", 7), 0);
  server.Shutdown();  // no close_notify after a fatal error; must not crash
}

TEST_F(TransportTest, ClosedTransportIsIdempotent) {
  Transport server(server_fd_, server_context_.get());
  Handshake(server);
  server.Shutdown();
  server.Close();
  server.Close();
  EXPECT_EQ(server.fd(), -1);
}

TEST(TlsContextTest, UnusableFilesAreRefusedNamingTheFile) {
  testing::TempDir dir;
  WriteSelfSigned(dir.File("a.pem"), dir.File("a.key"));
  WriteSelfSigned(dir.File("b.pem"), dir.File("b.key"));
  EXPECT_TRUE(TlsContext::Load({dir.File("a.pem"), dir.File("a.key"), ""}).ok());
  auto mismatched = TlsContext::Load({dir.File("a.pem"), dir.File("b.key"), ""});
  ASSERT_FALSE(mismatched.ok());
  EXPECT_NE(mismatched.status().message().find("does not match"), std::string::npos);
  auto missing = TlsContext::Load({dir.File("none.pem"), dir.File("a.key"), ""});
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("--tls-cert " + dir.File("none.pem")),
            std::string::npos);
  auto not_a_key = TlsContext::Load({dir.File("a.pem"), dir.File("a.pem"), ""});
  ASSERT_FALSE(not_a_key.ok());
  EXPECT_NE(not_a_key.status().message().find("--tls-key"), std::string::npos);
  auto bad_ca = TlsContext::Load({dir.File("a.pem"), dir.File("a.key"), dir.File("none.pem")});
  ASSERT_FALSE(bad_ca.ok());
  EXPECT_NE(bad_ca.status().message().find("--tls-ca-cert"), std::string::npos);
  auto with_ca = TlsContext::Load({dir.File("a.pem"), dir.File("a.key"), dir.File("b.pem")});
  ASSERT_TRUE(with_ca.ok());
  EXPECT_TRUE((*with_ca)->verifies_clients());
}

}  // namespace
}  // namespace exactly::net
