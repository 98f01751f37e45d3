// Reads commands off one socket and writes their replies back in order, holding
// each until the journal is durable up to the LSN it depends on.
#include "net/connection.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <utility>

#include "base/assert.h"
#include "net/errors.h"
#include "net/resp_writer.h"

namespace exactly::net {
namespace {

// A whole TLS record's plaintext fits one read (net/transport.h).
constexpr size_t kReadChunkBytes = kTlsRecordBytes;

}  // namespace

Connection::Connection(boost::asio::ip::tcp::socket socket, uint64_t id, ConnectionHandler* handler,
                       const ConnectionLimits& limits, SocketPoller& poller, const TlsContext* tls)
    : SocketConnection(std::move(socket), id, poller, tls), handler_(handler), limits_(limits) {}

Connection::~Connection() = default;

void Connection::Start() {
  if (!Register(shared_from_this())) {
    Finish();
    return;
  }
  Read();
}

void Connection::Read() {
  if (closed_) return;
  // A full pipeline stops reading (backpressure); Release() resumes once replies
  // have left. After QUIT or a fatal error nothing more is read.
  // Unsent replies pause reading too: they have left the pipeline but not the
  // server, and a client that never reads must not make it read on forever.
  read_paused_ = !close_after_replies_ && Backlogged();
  want_read_ = !close_after_replies_ && !read_paused_;
  UpdateWatch();
}

void Connection::OnReadable() {
  if (write_waits_for_read()) [[unlikely]] {
    Write();  // TLS: a write waited for this
  }
  if (closed_ || !want_read_) return;
  // Compact consumed bytes away before growing, so a long-lived pipelining client
  // does not drag an ever-growing buffer.
  if (input_start_ > 0) {
    std::memmove(input_.data(), input_.data() + input_start_, input_end_ - input_start_);
    input_end_ -= input_start_;
    input_start_ = 0;
  }
  // A buffer grown for one large command goes back to its usual size once the
  // command is consumed, so thousands of clients don't each keep their peak.
  if (input_end_ < kReadChunkBytes && input_.size() > 4 * kReadChunkBytes) {
    input_.resize(2 * kReadChunkBytes);
    input_.shrink_to_fit();
  }
  // The buffer only grows (zero-filled once); input_end_ marks the bytes received,
  // so a steady stream of small commands neither allocates nor clears memory.
  if (input_.size() - input_end_ < kReadChunkBytes) input_.resize(input_end_ + kReadChunkBytes);
  // One recv per readiness report: epoll is level-triggered, so bytes left in the
  // socket are reported again on the next turn, after other clients had theirs.
  const ptrdiff_t got = Receive(input_.data() + input_end_, input_.size() - input_end_);
  if (got == kIoWouldBlock) return;
  if (got == 0) {
    Finish();  // end of stream, a reset, or a failed TLS handshake
    return;
  }
  input_end_ += static_cast<size_t>(got);
  ParseInput();
  if (closed_) return;
  if (input_end_ - input_start_ > limits_.input_bytes_max) {
    FillError(AddSlot(), kCodeErr, ErrInputTooBig());
    CloseAfterReplies();
    return;
  }
  Read();
  Account();
}

void Connection::OnWritable() {
  if (read_waits_for_write()) [[unlikely]] {
    OnReadable();  // TLS: a read waited for this
  }
  Write();
}

void Connection::OnError() { Finish(); }

bool Connection::Backlogged() const {
  return slot_count_ >= limits_.pipeline_depth_max ||
         output_.size() - output_start_ >= limits_.output_pause_bytes;
}

void Connection::ParseInput() {
  while (!closed_ && !close_after_replies_ && input_start_ < input_end_) {
    if (Backlogged()) {
      // The rest waits until replies leave (Write resumes it), so one read of
      // small commands cannot pile up more replies than the bound.
      parse_paused_ = true;
      return;
    }
    std::string_view pending(input_.data() + input_start_, input_end_ - input_start_);
    args_.clear();
    ParseResult parsed = ParseCommand(pending, limits_.parser, &args_);
    if (parsed.status == ParseStatus::kNeedMore) return;
    if (parsed.status == ParseStatus::kError) {
      // Like Redis: a framing error leaves the stream unreadable, so answer and close.
      FillError(AddSlot(), kCodeErr, parsed.error);
      CloseAfterReplies();
      return;
    }
    input_start_ += parsed.consumed;
    if (args_.empty()) continue;
    handler_->OnCommand(*this, AddSlot(), args_);
  }
}

uint64_t Connection::AddSlot() {
  if (slot_count_ == ring_.size()) {
    // Grow the ring, keeping slot n at n & (size - 1).
    std::vector<Slot> grown(std::max<size_t>(16, ring_.size() * 2));
    for (uint64_t n = first_slot_; n < next_slot_; ++n) {
      grown[n & (grown.size() - 1)] = ring_[n & (ring_.size() - 1)];
    }
    ring_.swap(grown);
  }
  const uint64_t slot = next_slot_++;
  ring_[slot & (ring_.size() - 1)] = Slot{};
  ++slot_count_;
  return slot;
}

Connection::Slot& Connection::SlotAt(uint64_t slot) {
  EXACTLY_ASSERT(slot >= first_slot_);
  EXACTLY_ASSERT(slot < next_slot_);
  return ring_[slot & (ring_.size() - 1)];
}

template <typename Append>
void Connection::Place(uint64_t slot, Lsn wait_lsn, Append append) {
  if (closed_) return;
  Slot& target = SlotAt(slot);
  EXACTLY_ASSERT(!target.filled);
  target.filled = true;
  target.wait_lsn = wait_lsn;
  if (slot == first_slot_ && wait_lsn <= handler_->DurableLsn()) {
    // Releasable now: straight to the output, never held.
    target.offset = SIZE_MAX;
    const size_t start = output_.size();
    append(&output_);
    target.length = output_.size() - start;
    Release();
    return;
  }
  target.offset = held_.size();
  append(&held_);
  target.length = held_.size() - target.offset;
  held_bytes_ += target.length;
  if (slot == first_slot_) {
    Release();
  } else {
    Account();
  }
}

void Connection::Fill(uint64_t slot, Lsn wait_lsn, std::string_view bytes) {
  Place(slot, wait_lsn, [bytes](std::string* into) { into->append(bytes); });
}

void Connection::FillError(uint64_t slot, std::string_view code, std::string_view message) {
  std::string bytes;
  RespWriter(&bytes, protocol).Error(code, message);
  Fill(slot, Lsn{0}, bytes);
}

void Connection::Release() {
  if (closed_) return;
  const Lsn durable = handler_->DurableLsn();
  while (slot_count_ > 0) {
    Slot& front = SlotAt(first_slot_);
    if (!front.filled || front.wait_lsn > durable) break;
    if (front.offset != SIZE_MAX) {
      output_.append(held_, front.offset, front.length);
      held_bytes_ -= front.length;
    }
    --slot_count_;
    ++first_slot_;
  }
  if (held_bytes_ == 0) {
    held_.clear();
  } else {
    CompactHeld();
  }
  if (output_.size() - output_start_ + held_bytes_ > limits_.output_bytes_max) {
    Close();  // a client that does not read its replies loses its connection
    return;
  }
  if (output_start_ < output_.size() && !flush_queued_) {
    flush_queued_ = true;
    poller_.QueueFlush(shared_from_this());
  }
  Account();
}

void Connection::CompactHeld() {
  if (held_.size() < 64 * 1024 || held_bytes_ * 2 > held_.size()) return;
  std::string kept;
  kept.reserve(held_bytes_);
  for (uint64_t n = first_slot_; n < next_slot_; ++n) {
    Slot& slot = SlotAt(n);
    if (!slot.filled || slot.offset == SIZE_MAX) continue;
    const size_t offset = kept.size();
    kept.append(held_, slot.offset, slot.length);
    slot.offset = offset;
  }
  EXACTLY_ASSERT(kept.size() == held_bytes_);
  held_.swap(kept);
}

void Connection::FillReply(uint64_t slot, Lsn wait_lsn, const core::Reply& reply) {
  // Rendered where the bytes wait (the output, or the held replies), not copied there.
  Place(slot, wait_lsn, [&](std::string* into) { RespWriter(into, protocol).Reply(reply); });
}

void Connection::FailHeld(std::string_view code, std::string_view message) {
  std::string bytes;
  RespWriter(&bytes, protocol).Error(code, message);
  FailHeld(bytes);
}

void Connection::FailHeld(const std::string& error_bytes) {
  const Lsn durable = handler_->DurableLsn();
  for (uint64_t n = first_slot_; n < next_slot_; ++n) {
    Slot& slot = SlotAt(n);
    if (slot.filled && slot.wait_lsn > durable) {
      if (slot.offset != SIZE_MAX) held_bytes_ -= slot.length;
      slot.offset = held_.size();
      slot.length = error_bytes.size();
      held_.append(error_bytes);
      held_bytes_ += error_bytes.size();
      slot.wait_lsn = Lsn{0};
    }
  }
  Release();
}

void Connection::OnFlush() {
  flush_queued_ = false;
  Write();
}

void Connection::Write() {
  if (closed_) return;
  while (output_start_ < output_.size()) {
    const ptrdiff_t sent = Send(output_.data() + output_start_, output_.size() - output_start_);
    if (sent == kIoWouldBlock) break;  // the socket buffer is full
    if (sent == 0) {
      Finish();
      return;
    }
    output_start_ += static_cast<size_t>(sent);
  }
  want_write_ = output_start_ < output_.size();
  if (want_write_ && output_start_ > 0) {
    // A slow reader: drop what was sent, so the buffer holds (and its capacity
    // grows for) only the unsent replies the pause bound allows.
    output_.erase(0, output_start_);
    output_start_ = 0;
  }
  if (!want_write_) {
    output_.clear();
    output_start_ = 0;
    // Keep a usual reply burst's capacity, give back a large one.
    if (output_.capacity() > limits_.output_pause_bytes) output_.shrink_to_fit();
    if (close_after_replies_ && slot_count_ == 0) {
      Close();
      return;
    }
  }
  Read();  // resumes reading once the pipeline and the unsent replies shrank
  if (parse_paused_ && !Backlogged()) {
    parse_paused_ = false;
    ParseInput();
  }
  Account();
}

void Connection::CloseAfterReplies() {
  close_after_replies_ = true;
  Read();  // stops reading
  Release();
  if (!flush_queued_) {
    flush_queued_ = true;  // closes once the output is sent, even if there is none
    poller_.QueueFlush(shared_from_this());
  }
}

void Connection::Close() {
  if (closed_) return;
  ShutdownSocket();
  Finish();
}

void Connection::Finish() {
  if (closed_) return;
  ReleaseSocket();
  slot_count_ = 0;
  first_slot_ = next_slot_;
  held_bytes_ = 0;
  std::string().swap(held_);
  std::string().swap(input_);
  std::string().swap(output_);
  output_start_ = 0;
  Account();
  handler_->OnClosed(*this);
}

void Connection::Account() {
  const size_t bytes = closed_ ? 0
                               : input_.capacity() + output_.capacity() + held_.capacity() +
                                     ring_.capacity() * sizeof(Slot);
  if (bytes == accounted_bytes_) return;
  const int64_t delta = static_cast<int64_t>(bytes) - static_cast<int64_t>(accounted_bytes_);
  accounted_bytes_ = bytes;
  handler_->OnBufferBytes(*this, delta);
}

}  // namespace exactly::net
