// Level-triggered epoll over client sockets, woken through one Asio wait.
#include "net/socket_poller.h"

#include <errno.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <boost/asio/post.hpp>
#include <cstring>
#include <string>

#include "base/assert.h"

namespace exactly::net {
namespace {

// Events handled per turn; more stay ready (level-triggered) for the next turn,
// so a burst of connections cannot starve the loop's other work.
constexpr int kEventsPerTurn = 256;

uint32_t EventMask(bool readable, bool writable) {
  // EPOLLRDHUP is not asked for: a half-closed peer shows as readable, and the
  // recv that returns 0 ends the connection.
  return (readable ? EPOLLIN : 0u) | (writable ? EPOLLOUT : 0u);
}

}  // namespace

SocketPoller::SocketPoller(boost::asio::io_context& io)
    : epoll_fd_(::epoll_create1(EPOLL_CLOEXEC)), epoll_descriptor_(io) {
  // Without an epoll set the server cannot serve anyone; failing here at start-up
  // (out of descriptors) is the honest outcome.
  EXACTLY_ASSERT(epoll_fd_ >= 0);
  epoll_descriptor_.assign(epoll_fd_);
}

SocketPoller::~SocketPoller() {
  boost::system::error_code ignored;
  epoll_descriptor_.close(ignored);  // closes epoll_fd_
}

base::Result<uint64_t> SocketPoller::Add(int fd, std::shared_ptr<PollClient> client) {
  const uint64_t key = next_key_++;
  epoll_event event{};
  event.events = EventMask(true, false);
  event.data.u64 = key;
  if (::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &event) != 0) {
    return base::Status::IoError(std::string("epoll_ctl add: ") + std::strerror(errno));
  }
  clients_.emplace(key, std::move(client));
  Wait();
  return key;
}

void SocketPoller::Watch(uint64_t key, int fd, bool readable, bool writable) {
  EXACTLY_ASSERT(clients_.count(key) == 1);
  epoll_event event{};
  event.events = EventMask(readable, writable);
  event.data.u64 = key;
  // Only fails for a descriptor that is not registered, which the assertion above
  // rules out while the caller keeps its descriptor open until Remove.
  const int result = ::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, fd, &event);
  EXACTLY_ASSERT(result == 0);
}

void SocketPoller::Remove(uint64_t key, int fd) {
  auto found = clients_.find(key);
  if (found == clients_.end()) return;
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
  // Released from the loop, not here: the caller may be the client itself, or
  // code further up the stack may still be using it.
  boost::asio::post(epoll_descriptor_.get_executor(), [client = std::move(found->second)] {});
  clients_.erase(found);
}

void SocketPoller::QueueFlush(std::shared_ptr<PollClient> client) {
  flush_queue_.push_back(std::move(client));
  if (flush_queue_.size() > 1) return;  // a flush is already queued
  boost::asio::post(epoll_descriptor_.get_executor(), [this] { FlushAll(); });
}

void SocketPoller::FlushAll() {
  flushing_.swap(flush_queue_);
  // A client flushed here may queue itself again (a reply filled meanwhile): it
  // lands in flush_queue_, for the next flush.
  for (const std::shared_ptr<PollClient>& client : flushing_) client->OnFlush();
  flushing_.clear();
}

void SocketPoller::Wait() {
  if (waiting_ || clients_.empty()) return;
  waiting_ = true;
  epoll_descriptor_.async_wait(boost::asio::posix::stream_descriptor::wait_read,
                               [this](const boost::system::error_code& error) {
                                 waiting_ = false;
                                 if (error) return;  // the poller is being destroyed
                                 Dispatch();
                                 Wait();
                               });
}

void SocketPoller::Dispatch() {
  epoll_event events[kEventsPerTurn];
  int ready = 0;
  do {
    ready = ::epoll_wait(epoll_fd_, events, kEventsPerTurn, 0);
  } while (ready < 0 && errno == EINTR);
  for (int i = 0; i < ready; ++i) {
    // Looked up per event: an earlier callback of this turn may have removed it.
    auto found = clients_.find(events[i].data.u64);
    if (found == clients_.end()) continue;
    std::shared_ptr<PollClient> client = found->second;  // alive through its callbacks
    const uint32_t happened = events[i].events;
    // EPOLLIN comes only while the client watches reads; its recv then sees an
    // error or the end of the stream itself.
    if (happened & EPOLLIN) {
      client->OnReadable();
    } else if (happened & (EPOLLERR | EPOLLHUP)) {
      client->OnError();
      continue;
    }
    if ((happened & EPOLLOUT) && clients_.count(events[i].data.u64) == 1) client->OnWritable();
  }
}

}  // namespace exactly::net
