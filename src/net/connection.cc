// Reads commands off one socket and writes their replies back in order, holding
// each until the journal is durable up to the LSN it depends on.
#include "net/connection.h"

#include <boost/asio/buffer.hpp>
#include <boost/asio/write.hpp>
#include <cstring>
#include <utility>

#include "base/assert.h"
#include "base/monotonic_clock.h"
#include "net/resp_writer.h"

namespace exactly::net {
namespace {

constexpr size_t kReadChunkBytes = 16 * 1024;

}  // namespace

Connection::Connection(boost::asio::ip::tcp::socket socket, uint64_t id, ConnectionHandler* handler,
                       const ConnectionLimits& limits)
    : socket_(std::move(socket)), id_(id), handler_(handler), limits_(limits) {
  boost::system::error_code ignored;
  socket_.set_option(boost::asio::ip::tcp::no_delay(true), ignored);
  socket_.non_blocking(true, ignored);
  last_activity_ms_ = base::MonotonicNowMs();
}

void Connection::Start() { Read(); }

std::string Connection::remote_address() const {
  boost::system::error_code error;
  auto endpoint = socket_.remote_endpoint(error);
  if (error) return "?";
  return endpoint.address().to_string() + ":" + std::to_string(endpoint.port());
}

void Connection::Read() {
  if (reading_ || closed_ || close_after_replies_) return;
  if (slots_.size() >= limits_.pipeline_depth_max) {
    read_paused_ = true;  // resumes in Release() once replies have left
    return;
  }
  read_paused_ = false;
  // Compact consumed bytes away before growing, so a long-lived pipelining client
  // does not drag an ever-growing buffer.
  if (input_start_ > 0) {
    std::memmove(input_.data(), input_.data() + input_start_, input_end_ - input_start_);
    input_end_ -= input_start_;
    input_start_ = 0;
  }
  // The buffer only grows (zero-filled once); input_end_ marks the bytes received,
  // so a steady stream of small commands neither allocates nor clears memory.
  if (input_.size() - input_end_ < kReadChunkBytes) input_.resize(input_end_ + kReadChunkBytes);
  reading_ = true;
  // Wait for readiness, then read what is there. Either this or async_read_some
  // costs one extra syscall per request (an epoll_ctl re-arm here, a recv that
  // fails with EAGAIN there, since a client waiting for its reply has sent
  // nothing yet); W1 measured the two alike.
  socket_.async_wait(boost::asio::ip::tcp::socket::wait_read,
                     [self = shared_from_this()](const boost::system::error_code& error) {
                       self->OnReadable(error);
                     });
}

void Connection::OnReadable(const boost::system::error_code& wait_error) {
  reading_ = false;
  if (closed_) return;
  if (wait_error) {
    Finish();
    return;
  }
  boost::system::error_code error;
  const size_t bytes = socket_.read_some(
      boost::asio::buffer(input_.data() + input_end_, input_.size() - input_end_), error);
  if (error == boost::asio::error::would_block) {
    Read();  // a spurious wake-up
    return;
  }
  if (error) {
    Finish();  // end of stream or a reset
    return;
  }
  input_end_ += bytes;
  last_activity_ms_ = base::MonotonicNowMs();
  ParseInput();
  if (closed_) return;
  if (input_end_ - input_start_ > limits_.input_bytes_max) {
    std::string reply;
    RespWriter(&reply, protocol).Error("ERR", "Protocol error: too big input (client closed)");
    const uint64_t slot = next_slot_++;
    slots_.emplace_back();
    Fill(slot, Lsn{0}, std::move(reply));
    CloseAfterReplies();
    return;
  }
  Read();
}

void Connection::ParseInput() {
  while (!closed_ && !close_after_replies_ && input_start_ < input_end_) {
    std::string_view pending(input_.data() + input_start_, input_end_ - input_start_);
    args_.clear();
    ParseResult parsed = ParseCommand(pending, limits_.parser, &args_);
    if (parsed.status == ParseStatus::kNeedMore) return;
    if (parsed.status == ParseStatus::kError) {
      // Like Redis: a framing error leaves the stream unreadable, so answer and close.
      std::string reply;
      RespWriter(&reply, protocol).Error("ERR", parsed.error);
      const uint64_t slot = next_slot_++;
      slots_.emplace_back();
      Fill(slot, Lsn{0}, std::move(reply));
      CloseAfterReplies();
      return;
    }
    input_start_ += parsed.consumed;
    if (args_.empty()) continue;
    const uint64_t slot = next_slot_++;
    slots_.emplace_back();
    handler_->OnCommand(*this, slot, args_);
  }
}

void Connection::Fill(uint64_t slot, Lsn wait_lsn, std::string bytes) {
  if (closed_) return;
  EXACTLY_ASSERT(slot >= first_slot_);
  EXACTLY_ASSERT(slot < first_slot_ + slots_.size());
  Slot& target = slots_[slot - first_slot_];
  EXACTLY_ASSERT(!target.filled);
  target.filled = true;
  target.wait_lsn = wait_lsn;
  held_bytes_ += bytes.size();
  target.bytes = std::move(bytes);
  if (slot == first_slot_) Release();
}

void Connection::Release() {
  if (closed_) return;
  const Lsn durable = handler_->DurableLsn();
  while (!slots_.empty() && slots_.front().filled && slots_.front().wait_lsn <= durable) {
    Slot& front = slots_.front();
    held_bytes_ -= front.bytes.size();
    output_ += front.bytes;
    slots_.pop_front();
    ++first_slot_;
  }
  if (output_.size() + held_bytes_ > limits_.output_bytes_max) {
    Close();  // a client that does not read its replies loses its connection
    return;
  }
  Write();
  if (read_paused_ && slots_.size() < limits_.pipeline_depth_max) Read();
}

void Connection::FailHeld(const std::string& error_bytes) {
  const Lsn durable = handler_->DurableLsn();
  for (Slot& slot : slots_) {
    if (slot.filled && slot.wait_lsn > durable) {
      held_bytes_ -= slot.bytes.size();
      slot.bytes = error_bytes;
      held_bytes_ += slot.bytes.size();
      slot.wait_lsn = Lsn{0};
    }
  }
  Release();
}

void Connection::Write() {
  if (writing_active_ || closed_) return;
  if (output_.empty()) {
    if (close_after_replies_ && slots_.empty()) Close();
    return;
  }
  writing_.clear();
  std::swap(writing_, output_);
  writing_active_ = true;
  boost::asio::async_write(
      socket_, boost::asio::buffer(writing_),
      [self = shared_from_this()](const boost::system::error_code& error, size_t bytes) {
        self->OnWrite(error, bytes);
      });
}

void Connection::OnWrite(const boost::system::error_code& error, size_t bytes) {
  writing_active_ = false;
  if (closed_) return;
  if (error) {
    Finish();
    return;
  }
  Write();
}

void Connection::CloseAfterReplies() {
  close_after_replies_ = true;
  Release();
}

void Connection::Close() {
  if (closed_) return;
  boost::system::error_code ignored;
  socket_.shutdown(boost::asio::ip::tcp::socket::shutdown_both, ignored);
  socket_.close(ignored);
  Finish();
}

void Connection::Finish() {
  if (closed_) return;
  closed_ = true;
  boost::system::error_code ignored;
  socket_.close(ignored);
  slots_.clear();
  held_bytes_ = 0;
  handler_->OnClosed(*this);
}

}  // namespace exactly::net
