// Connection: one client socket, its input buffer, and its replies in order.
//
// A connection knows bytes, RESP framing and reply order, not what commands mean.
// Every parsed command takes a reply slot in arrival order; a slot is filled when
// its reply is known and leaves only when (a) every earlier slot has left and (b)
// the journal is durable up to the slot's LSN. So a pipelined PING after a CLAIM
// never overtakes the CLAIM, and no write is acknowledged before its sync.
//
// I/O goes through the SocketPoller (see socket_poller.h for why not Asio's
// per-socket operations) and the socket's Transport, plain or TLS
// (net/socket_connection.h): a readable socket gets one recv; released replies are
// sent by one flush per turn of the loop (so 32 pipelined replies leave in one
// send, not 32), and only a full socket buffer makes the connection watch for
// writability. Held reply bytes live back to back in one buffer per connection,
// so a reply costs no allocation of its own.
//
// Memory: reading and parsing pause while the pipeline is full or 1 MiB of
// released replies is unsent (a client that never reads is never read past
// that); buffer_bytes() is reported to the handler, which bounds all clients.
//
// Thread-safety: none; a connection lives on the event-loop thread.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/units.h"
#include "core/command.h"
#include "net/connection_limits.h"
#include "net/reply_target.h"
#include "net/resp_parser.h"
#include "net/socket_connection.h"
#include "net/socket_poller.h"

namespace exactly::net {

class Connection;
struct User;

// What a connection hands its commands to (server/ implements it).
class ConnectionHandler {
 public:
  virtual ~ConnectionHandler() = default;
  // One complete command; `args` point into the connection's input buffer and are
  // valid only during the call. The handler must fill `slot` (now or later) with
  // Connection::Fill.
  virtual void OnCommand(Connection& connection, uint64_t slot,
                         std::span<const std::string_view> args) = 0;
  // The connection has closed; no slot of it will be written any more.
  virtual void OnClosed(Connection& connection) = 0;
  // The lowest LSN not yet durable is above this one.
  virtual Lsn DurableLsn() const = 0;
  // True once the journal failed: held replies will never be released.
  virtual bool StorageFailed() const = 0;
  // The connection's buffers grew or shrank by `delta` bytes (its buffer_bytes()).
  // The handler keeps the total across clients and may close connections, but not
  // from inside this call.
  virtual void OnBufferBytes(Connection& connection, int64_t delta) = 0;
};

struct ConnectionLimits {
  ParserLimits parser;
  size_t input_bytes_max = kInputBytesMax;
  size_t output_bytes_max = kOutputBytesMax;
  size_t pipeline_depth_max = kPipelineDepthMax;
  size_t output_pause_bytes = kOutputPauseBytes;
};

class Connection final : public SocketConnection,
                         public ReplyTarget,
                         public std::enable_shared_from_this<Connection> {
 public:
  // Takes the descriptor over from `socket`; with `tls` (not owned, outlives
  // this), the client speaks TLS.
  Connection(boost::asio::ip::tcp::socket socket, uint64_t id, ConnectionHandler* handler,
             const ConnectionLimits& limits, SocketPoller& poller, const TlsContext* tls = nullptr);
  ~Connection() override;
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Starts reading. The poller keeps the connection alive until it finishes.
  void Start();

  // Fills reply slot `slot` with RESP bytes (copied) that may leave once `wait_lsn`
  // is durable.
  void Fill(uint64_t slot, Lsn wait_lsn, std::string_view bytes);
  // Fills `slot` with the engine's reply rendered as RESP in the connection's
  // protocol (ReplyTarget).
  void FillReply(uint64_t slot, Lsn wait_lsn, const core::Reply& reply) override;
  // Fills `slot` with the error reply "-code message" (net/errors.h), releasable at
  // once.
  void FillError(uint64_t slot, std::string_view code, std::string_view message) override;
  // Moves every leading slot that is filled and durable to the output and asks the
  // poller for a flush, so all replies released in one turn leave in one send.
  // Called after Fill and whenever the durable LSN advances.
  void Release() override;
  // Replaces held replies that wait for an LSN that will never be durable with
  // `error_bytes` (the journal failed), then releases.
  void FailHeld(const std::string& error_bytes);
  // The same with the error "-code message" in the connection's protocol.
  void FailHeld(std::string_view code, std::string_view message) override;
  std::shared_ptr<ReplyTarget> SharedTarget() override { return shared_from_this(); }
  // Sends what is queued, then closes (QUIT, fatal protocol errors).
  void CloseAfterReplies();
  // Closes at once, dropping unsent replies.
  void Close() override;

  bool closed() const override { return closed_; }
  bool has_held_replies() const override { return slot_count_ != 0; }
  // Memory this connection holds for its client: the input buffer, replies held
  // for durability and replies not yet taken by the socket.
  size_t buffer_bytes() const { return accounted_bytes_; }

  // Session state per client: protocol version, auth, name and the MULTI queue,
  // kept here and given meaning by the session commands (net/session.h).
  int protocol = 2;
  // The user the connection runs as (net/acl.h); nullptr until it authenticates.
  const User* user = nullptr;
  std::string name;
  bool in_multi = false;
  bool multi_failed = false;  // a command queued after MULTI was rejected: EXEC aborts
  std::vector<core::Command> multi_queue;
  size_t multi_record_bytes = 0;  // bound on the queued group's journal bytes
  // For CLIENT LIST: when the client connected (monotonic ms) and the name of its
  // last command (a command table row's name, static storage).
  int64_t created_ms = 0;
  std::string_view last_command;

  // PollClient
  void OnReadable() override;
  void OnWritable() override;
  void OnError() override;
  void OnFlush() override;

 private:
  // A reply slot; its bytes, once filled, are held_[offset, offset + length).
  struct Slot {
    bool filled = false;
    Lsn wait_lsn;
    size_t offset = 0;
    size_t length = 0;
  };

  void Read();
  void ParseInput();
  // Too many replies in flight or unsent: stop reading and parsing.
  bool Backlogged() const;
  void Write();
  void Finish();
  // Tells the handler how buffer_bytes() changed since it was last told.
  void Account();
  // Takes the next reply slot (for a command just parsed, or an error reply).
  uint64_t AddSlot();
  Slot& SlotAt(uint64_t slot);
  // Fills `slot` with what `append(std::string*)` appends: to the output when the
  // slot may leave now, else to held_.
  template <typename Append>
  void Place(uint64_t slot, Lsn wait_lsn, Append append);
  // Drops held_ bytes no slot refers to any more, once they are most of it.
  void CompactHeld();

  ConnectionHandler* handler_;
  ConnectionLimits limits_;

  std::string input_;
  size_t input_start_ = 0;  // parsed bytes before this offset are consumed
  size_t input_end_ = 0;    // bytes received; input_.size() is the capacity
  std::vector<std::string_view> args_;

  // Reply slots in a ring (a power-of-two vector): slot number n sits at
  // n & (ring_.size() - 1); first_slot_ is the oldest not yet released.
  std::vector<Slot> ring_;
  size_t slot_count_ = 0;
  uint64_t first_slot_ = 0;
  uint64_t next_slot_ = 0;
  // Bytes of filled, unreleased replies, back to back in fill order; slots point
  // into it. Cleared whenever no slot is held, compacted when mostly released.
  std::string held_;
  size_t held_bytes_ = 0;    // bytes of held_ still referred to by a slot
  std::string output_;       // released bytes not yet handed to the socket
  size_t output_start_ = 0;  // bytes of output_ already sent
  bool flush_queued_ = false;

  bool read_paused_ = false;
  bool parse_paused_ = false;  // input left unparsed while backlogged
  bool close_after_replies_ = false;
  size_t accounted_bytes_ = 0;  // buffer bytes the handler was last told of
};

}  // namespace exactly::net
