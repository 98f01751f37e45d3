// SocketPoller: one level-triggered epoll set for every client socket, run from
// the event loop's io_context.
//
// Why not Asio's per-socket operations: its reactor pays one syscall per request
// on top of the recv and the send, either an epoll_ctl re-arm per async_wait or a
// recv failing with EAGAIN per async_read_some (it always tries to read before it
// waits). Here a socket is registered once, read only when epoll says it is
// readable and written directly; a request costs one recv and one send, and the
// poller's own wait (an epoll_wait plus Asio's re-arm of the epoll descriptor) is
// shared by every socket that became ready in the same turn of the loop.
//
// Thread-safety: none; everything runs on the event-loop thread.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <cstdint>
#include <memory>
#include <unordered_map>
#include <vector>

#include "base/status.h"

namespace exactly::net {

// What the poller calls when a registered socket is ready.
class PollClient {
 public:
  virtual ~PollClient() = default;
  virtual void OnReadable() = 0;
  virtual void OnWritable() = 0;
  // An error or hang-up while not watching for reads (a paused reader): the
  // socket is unusable, and level-triggered epoll would report it every turn.
  virtual void OnError() = 0;
  // The flush QueueFlush asked for: send what is pending.
  virtual void OnFlush() = 0;
};

class SocketPoller {
 public:
  explicit SocketPoller(boost::asio::io_context& io);
  ~SocketPoller();
  SocketPoller(const SocketPoller&) = delete;
  SocketPoller& operator=(const SocketPoller&) = delete;

  // Watches `fd` for readability. The poller keeps `client` alive until Remove.
  // Returns the key
  // that names the registration (never reused, unlike descriptors).
  base::Result<uint64_t> Add(int fd, std::shared_ptr<PollClient> client);
  // Which readiness `key` wants reported. Costs an epoll_ctl, so callers change it
  // only when their wish changes (a paused reader, a socket buffer that filled).
  void Watch(uint64_t key, int fd, bool readable, bool writable);
  // Stops watching; the client is released by a later turn of the loop, so it
  // may call this from inside its own callback. The caller closes the
  // descriptor afterwards.
  void Remove(uint64_t key, int fd);

  // Calls client->OnFlush() once, after the work already queued on the loop
  // (the rest of this turn's reads, the batch they join). Replies that become
  // ready one by one in a turn then leave in one send per client, as Redis
  // writes its clients' buffers once before it sleeps.
  void QueueFlush(std::shared_ptr<PollClient> client);

  size_t size() const { return clients_.size(); }

 private:
  void Wait();
  void Dispatch();
  void FlushAll();

  int epoll_fd_;
  boost::asio::posix::stream_descriptor epoll_descriptor_;
  std::unordered_map<uint64_t, std::shared_ptr<PollClient>> clients_;
  uint64_t next_key_ = 1;
  bool waiting_ = false;
  std::vector<std::shared_ptr<PollClient>> flush_queue_;
  std::vector<std::shared_ptr<PollClient>> flushing_;
};

}  // namespace exactly::net
