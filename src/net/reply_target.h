// ReplyTarget: what the server answers a submitted command into, whatever the
// client's protocol. A RESP connection (net/connection.h) renders a reply as RESP;
// an HTTP connection (http/http_connection.h) as JSON. Either holds it in its slot,
// in request order, until the journal is durable up to the reply's LSN.
//
// Thread-safety: none; targets live on the event-loop thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "base/units.h"
#include "core/reply.h"

namespace exactly::net {

class ReplyTarget {
 public:
  virtual ~ReplyTarget() = default;

  // Fills reply slot `slot` with the engine's `reply`, rendered in the target's
  // protocol, to leave once `wait_lsn` is durable.
  virtual void FillReply(uint64_t slot, Lsn wait_lsn, const core::Reply& reply) = 0;
  // Fills `slot` with the error "code message" (net/errors.h), releasable at once.
  virtual void FillError(uint64_t slot, std::string_view code, std::string_view message) = 0;
  // Sends every leading slot that is filled and durable (the durable LSN advanced).
  virtual void Release() = 0;
  // The journal failed: replies held for an LSN that will never be durable
  // become the error "code message", then are released.
  virtual void FailHeld(std::string_view code, std::string_view message) = 0;
  virtual bool closed() const = 0;
  virtual bool has_held_replies() const = 0;
  // A reference that keeps the target alive while a reply for it is pending.
  virtual std::shared_ptr<ReplyTarget> SharedTarget() = 0;

  // Set while the target sits in the server's list of targets whose replies wait
  // for durability, so it is listed once.
  bool awaiting_durability = false;
  // Waiter ids of the target's parked commands (LOCK/IDEM ... WAIT), so the
  // server can withdraw them from the engine when the client goes away.
  std::vector<uint64_t> parked_waiters;
};

}  // namespace exactly::net
