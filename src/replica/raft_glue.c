/* raft_glue: every call exactly makes into C-Raft and libuv (see raft_glue.h). */
#include "replica/raft_glue.h"

#include <raft.h>
#include <raft/uv.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

/* A received message held back until the node's own snapshot is written (see
 * "held messages" below), with its own copy of the sender's address. */
struct glue_held {
  struct glue_held* next;
  struct raft_message message;
  char* address;
};

struct exactly_raft {
  uv_loop_t loop;
  /* The stock TCP transport, and the wrapper the disk backend is given: the
   * wrapper forwards every call and sets TCP_NODELAY on each stream it hands on. */
  struct raft_uv_transport tcp;
  struct raft_uv_transport transport;
  raft_uv_accept_cb accept_cb;
  raft_uv_transport_close_cb transport_close_cb;
  struct raft_io io;
  /* The disk backend's own start and snapshot_put, which io's now wrap. */
  int (*io_start)(struct raft_io* io, unsigned msecs, raft_io_tick_cb tick, raft_io_recv_cb recv);
  int (*io_snapshot_put)(struct raft_io* io, unsigned trailing, struct raft_io_snapshot_put* req,
                         const struct raft_snapshot* snapshot, raft_io_snapshot_put_cb cb);
  raft_io_recv_cb recv_cb; /* the library's, given to io->start */
  bool taking_snapshot;    /* a snapshot of our own is being written */
  struct glue_held* held_head;
  struct glue_held* held_tail;
  uint64_t held_installs;
  struct raft_fsm fsm;
  struct raft raft;
  uv_async_t wake;
  uv_check_t watch; /* after every loop iteration: report status changes */
  struct exactly_raft_callbacks callbacks;
  struct exactly_raft_status reported;
  bool reported_once;
  bool shutting_down;
  bool raft_initialized;
  bool handles_initialized;
  uint64_t last_delivered_index;
  uint64_t nodelay_connections;
  /* This node's raft address (the part after '@' of its address), which the TCP
   * transport keeps a pointer to. */
  char raft_address[EXACTLY_RAFT_MEMBER_ADDRESS_MAX];
  /* An add, assign or remove whose callback has not run. The library's own check
   * (no uncommitted configuration) passes between a change's commit and its
   * apply, where a second request trips an assertion in 0.22.1 (legacy.c asserts
   * no change is pending), so the glue keeps its own, cleared in the callback. */
  bool change_pending;
  char errmsg[EXACTLY_RAFT_ERRMSG_MAX];
};

/* One request in flight: the library's request, then what to tell the caller. */
struct glue_apply {
  struct raft_apply req;
  void* token;
  exactly_raft_done_cb done;
};
struct glue_barrier {
  struct raft_barrier req;
  void* token;
  exactly_raft_done_cb done;
};
struct glue_transfer {
  struct raft_transfer req;
  struct exactly_raft* r;
  void* token;
  exactly_raft_done_cb done;
};
struct glue_change {
  struct raft_change req;
  struct exactly_raft* r;
  void* token;
  exactly_raft_done_cb done;
};
struct glue_connect {
  struct raft_uv_connect inner;
  struct raft_uv_connect* outer;
  struct exactly_raft* r;
};
struct glue_put {
  struct raft_io_snapshot_put inner;
  struct raft_io_snapshot_put* outer;
  raft_io_snapshot_put_cb cb;
  struct exactly_raft* r;
};

static int MapCode(int rv) {
  switch (rv) {
    case 0:
      return EXACTLY_RAFT_OK;
    case RAFT_NOTLEADER:
      return EXACTLY_RAFT_NOT_LEADER;
    case RAFT_LEADERSHIPLOST:
    case RAFT_SHUTDOWN:
      return EXACTLY_RAFT_UNKNOWN;
    case RAFT_IOERR:
    case RAFT_NOSPACE:
      return EXACTLY_RAFT_IO_ERROR;
    case RAFT_CORRUPT:
    case RAFT_MALFORMED:
      return EXACTLY_RAFT_CORRUPT;
    case RAFT_INVALID:
    case RAFT_BADID:
    case RAFT_DUPLICATEID:
    case RAFT_DUPLICATEADDRESS:
    case RAFT_BADROLE:
    case RAFT_NAMETOOLONG:
    case RAFT_TOOBIG:
    case RAFT_NOTFOUND:
      return EXACTLY_RAFT_INVALID;
    case RAFT_CANTCHANGE:
      return EXACTLY_RAFT_CHANGE_PENDING;
    default:
      return EXACTLY_RAFT_FAILED;
  }
}

static void SetError(struct exactly_raft* r, const char* what, int rv, const char* detail) {
  snprintf(r->errmsg, sizeof r->errmsg, "%s: %s%s%s", what, raft_strerror(rv),
           detail != NULL && detail[0] != '\0' ? ": " : "", detail != NULL ? detail : "");
}

/* ---- framing ---------------------------------------------------------------- */

size_t exactly_raft_frame_size(size_t len) {
  size_t padded = (len + 7u) & ~(size_t)7u;
  return EXACTLY_RAFT_FRAME_HEADER_BYTES + padded;
}

void exactly_raft_frame_encode(const void* data, size_t len, void* out) {
  unsigned char* bytes = out;
  uint64_t n = len;
  for (int i = 0; i < 8; i++) bytes[i] = (unsigned char)(n >> (8 * i));
  if (len > 0) memcpy(bytes + EXACTLY_RAFT_FRAME_HEADER_BYTES, data, len);
  size_t total = exactly_raft_frame_size(len);
  size_t used = EXACTLY_RAFT_FRAME_HEADER_BYTES + len;
  memset(bytes + used, 0, total - used);
}

int exactly_raft_frame_decode(const void* frame, size_t frame_len, const void** data, size_t* len) {
  const unsigned char* bytes = frame;
  if (frame_len < EXACTLY_RAFT_FRAME_HEADER_BYTES || frame_len % 8 != 0) {
    return EXACTLY_RAFT_CORRUPT;
  }
  uint64_t n = 0;
  for (int i = 0; i < 8; i++) n |= (uint64_t)bytes[i] << (8 * i);
  if (n > frame_len - EXACTLY_RAFT_FRAME_HEADER_BYTES || exactly_raft_frame_size(n) != frame_len) {
    return EXACTLY_RAFT_CORRUPT;
  }
  for (size_t i = EXACTLY_RAFT_FRAME_HEADER_BYTES + n; i < frame_len; i++) {
    if (bytes[i] != 0) return EXACTLY_RAFT_CORRUPT;
  }
  *data = bytes + EXACTLY_RAFT_FRAME_HEADER_BYTES;
  *len = n;
  return 0;
}

/* ---- transport wrapper: TCP_NODELAY on every connection -------------------- */

static void SetNoDelay(struct exactly_raft* r, struct uv_stream_s* stream) {
  if (stream != NULL && stream->type == UV_TCP && uv_tcp_nodelay((uv_tcp_t*)stream, 1) == 0) {
    r->nodelay_connections++;
  }
}

/* The part of a member address the transport dials: after '@' if there is one. */
static const char* RaftPart(const char* address) {
  const char* at = strrchr(address, '@');
  return at != NULL ? at + 1 : address;
}

static int TransportInit(struct raft_uv_transport* t, raft_id id, const char* address) {
  struct exactly_raft* r = t->impl;
  const char* raft_address = RaftPart(address);
  if (strlen(raft_address) >= sizeof r->raft_address) {
    snprintf(t->errmsg, sizeof t->errmsg, "address too long: %.64s...", raft_address);
    return RAFT_NAMETOOLONG;
  }
  snprintf(r->raft_address, sizeof r->raft_address, "%s", raft_address);
  int rv = r->tcp.init(&r->tcp, id, r->raft_address);
  if (rv != 0) memcpy(t->errmsg, r->tcp.errmsg, sizeof t->errmsg);
  return rv;
}

static void TransportAccepted(struct raft_uv_transport* tcp, raft_id id, const char* address,
                              struct uv_stream_s* stream) {
  struct exactly_raft* r = tcp->data;
  SetNoDelay(r, stream);
  r->accept_cb(&r->transport, id, address, stream);
}

static int TransportListen(struct raft_uv_transport* t, raft_uv_accept_cb cb) {
  struct exactly_raft* r = t->impl;
  r->accept_cb = cb;
  int rv = r->tcp.listen(&r->tcp, TransportAccepted);
  if (rv != 0) memcpy(t->errmsg, r->tcp.errmsg, sizeof t->errmsg);
  return rv;
}

static void TransportConnected(struct raft_uv_connect* inner, struct uv_stream_s* stream,
                               int status) {
  struct glue_connect* c = inner->data;
  struct raft_uv_connect* outer = c->outer;
  if (status == 0) SetNoDelay(c->r, stream);
  free(c);
  outer->cb(outer, stream, status);
}

static int TransportConnect(struct raft_uv_transport* t, struct raft_uv_connect* req, raft_id id,
                            const char* address, raft_uv_connect_cb cb) {
  struct exactly_raft* r = t->impl;
  struct glue_connect* c = calloc(1, sizeof *c);
  if (c == NULL) return RAFT_NOMEM;
  c->inner.data = c;
  c->outer = req;
  c->r = r;
  req->cb = cb;
  /* The stock transport parses the address before it returns. */
  int rv = r->tcp.connect(&r->tcp, &c->inner, id, RaftPart(address), TransportConnected);
  if (rv != 0) {
    memcpy(t->errmsg, r->tcp.errmsg, sizeof t->errmsg);
    free(c);
  }
  return rv;
}

static void TransportClosed(struct raft_uv_transport* tcp) {
  struct exactly_raft* r = tcp->data;
  r->transport_close_cb(&r->transport);
}

static void TransportClose(struct raft_uv_transport* t, raft_uv_transport_close_cb cb) {
  struct exactly_raft* r = t->impl;
  r->transport_close_cb = cb;
  r->tcp.close(&r->tcp, TransportClosed);
}

/* ---- held messages: no snapshot install while our own snapshot is written ---
 *
 * C-Raft 0.22.1 crashes when an InstallSnapshot message arrives while the node is
 * writing a snapshot it took itself: the legacy layer parks the install until the
 * write ends, then clears the parked pointer before reading it and passes NULL on
 * (takeSnapshotCb in src/legacy.c: `snapshot_pending = NULL; persist =
 * snapshot_pending; legacyPersistSnapshotStart(persist)`), a SIGSEGV reading
 * NULL->r. So the library never sees that: io->snapshot_put is wrapped to know
 * when a snapshot of our own is being written (a take passes the trailing count,
 * an install 0), and io->start's receive callback is wrapped to hold an
 * InstallSnapshot arriving meanwhile, and every message after it so the order is
 * kept, until the write has ended. To the library it is a slower network. */

static struct exactly_raft* FromIo(struct raft_io* io) {
  return (struct exactly_raft*)((char*)io - offsetof(struct exactly_raft, io));
}

/* Frees what a received message owns, as the library does for one it drops. */
static void FreeMessage(struct raft_message* message) {
  switch (message->type) {
    case RAFT_APPEND_ENTRIES: {
      struct raft_append_entries* args = &message->append_entries;
      void* batch = NULL;
      for (unsigned i = 0; i < args->n_entries; i++) {
        if (args->entries[i].batch != batch) {
          batch = args->entries[i].batch;
          raft_free(batch);
        }
      }
      raft_free(args->entries);
      break;
    }
    case RAFT_INSTALL_SNAPSHOT:
      raft_configuration_close(&message->install_snapshot.conf);
      raft_free(message->install_snapshot.data.base);
      break;
    default:
      break;
  }
}

static void HoldMessage(struct exactly_raft* r, struct raft_message* message) {
  struct glue_held* h = calloc(1, sizeof *h);
  size_t address_len = message->server_address != NULL ? strlen(message->server_address) : 0;
  char* address = h != NULL ? malloc(address_len + 1) : NULL;
  if (address == NULL) {
    /* Out of memory: lose the message, as a network may. */
    FreeMessage(message);
    free(h);
    return;
  }
  if (address_len > 0) memcpy(address, message->server_address, address_len);
  address[address_len] = '\0';
  h->message = *message;
  h->message.server_address = address;
  h->address = address;
  if (message->type == RAFT_INSTALL_SNAPSHOT) r->held_installs++;
  if (r->held_tail != NULL) {
    r->held_tail->next = h;
  } else {
    r->held_head = h;
  }
  r->held_tail = h;
}

static void GlueRecv(struct raft_io* io, struct raft_message* message) {
  struct exactly_raft* r = FromIo(io);
  if (r->held_head == NULL && !(r->taking_snapshot && message->type == RAFT_INSTALL_SNAPSHOT)) {
    r->recv_cb(io, message);
    return;
  }
  HoldMessage(r, message);
}

/* Hands the held messages on in order, until an install meets a new write of
 * our own (delivering entries can start one). */
static void DeliverHeld(struct exactly_raft* r) {
  while (r->held_head != NULL) {
    struct glue_held* h = r->held_head;
    if (r->taking_snapshot && h->message.type == RAFT_INSTALL_SNAPSHOT) return;
    r->held_head = h->next;
    if (r->held_head == NULL) r->held_tail = NULL;
    r->recv_cb(&r->io, &h->message);
    free(h->address);
    free(h);
  }
}

/* Only if the library never got them (the loop ended first). */
static void FreeHeld(struct exactly_raft* r) {
  while (r->held_head != NULL) {
    struct glue_held* h = r->held_head;
    r->held_head = h->next;
    FreeMessage(&h->message);
    free(h->address);
    free(h);
  }
  r->held_tail = NULL;
}

static int GlueStart(struct raft_io* io, unsigned msecs, raft_io_tick_cb tick,
                     raft_io_recv_cb recv) {
  struct exactly_raft* r = FromIo(io);
  r->recv_cb = recv;
  return r->io_start(io, msecs, tick, GlueRecv);
}

static void GlueTakeWritten(struct raft_io_snapshot_put* inner, int status) {
  struct glue_put* p = inner->data;
  struct exactly_raft* r = p->r;
  struct raft_io_snapshot_put* outer = p->outer;
  raft_io_snapshot_put_cb cb = p->cb;
  free(p);
  r->taking_snapshot = false;
  cb(outer, status);
  DeliverHeld(r);
}

static int GlueSnapshotPut(struct raft_io* io, unsigned trailing, struct raft_io_snapshot_put* req,
                           const struct raft_snapshot* snapshot, raft_io_snapshot_put_cb cb) {
  struct exactly_raft* r = FromIo(io);
  /* trailing 0: a snapshot the leader sent is being installed; the library
   * takes its own with the configured trailing count, which is never 0. */
  if (trailing == 0) return r->io_snapshot_put(io, trailing, req, snapshot, cb);
  struct glue_put* p = calloc(1, sizeof *p);
  if (p == NULL) return RAFT_NOMEM;
  p->inner.data = p;
  p->outer = req;
  p->cb = cb;
  p->r = r;
  r->taking_snapshot = true;
  int rv = r->io_snapshot_put(io, trailing, &p->inner, snapshot, GlueTakeWritten);
  if (rv != 0) {
    r->taking_snapshot = false;
    free(p);
  }
  return rv;
}

/* ---- the FSM: committed entries to the caller ------------------------------ */

static int FsmApply(struct raft_fsm* fsm, const struct raft_buffer* buf, void** result) {
  struct exactly_raft* r = fsm->data;
  *result = NULL;
  const void* data = NULL;
  size_t len = 0;
  if (exactly_raft_frame_decode(buf->base, buf->len, &data, &len) != 0) {
    snprintf(r->errmsg, sizeof r->errmsg, "apply: entry %llu is not a valid frame",
             raft_last_applied(&r->raft) + 1);
    return RAFT_CORRUPT;
  }
  /* The library advances last_applied past every entry before this one (commands,
   * barriers, configurations) before it calls us, so this is the entry's index. */
  uint64_t index = raft_last_applied(&r->raft) + 1;
  if (index <= r->last_delivered_index) {
    snprintf(r->errmsg, sizeof r->errmsg, "apply: index %llu after %llu", (unsigned long long)index,
             (unsigned long long)r->last_delivered_index);
    return RAFT_CORRUPT;
  }
  int rv = r->callbacks.apply(r->callbacks.user, index, data, len);
  if (rv != 0) return RAFT_IOERR;
  r->last_delivered_index = index;
  return 0;
}

static int FsmSnapshot(struct raft_fsm* fsm, struct raft_buffer* bufs[], unsigned* n_bufs) {
  struct exactly_raft* r = fsm->data;
  const void* data = NULL;
  size_t len = 0;
  if (r->callbacks.snapshot(r->callbacks.user, &data, &len) != 0) return RAFT_IOERR;
  struct raft_buffer* buf = raft_malloc(sizeof *buf);
  if (buf == NULL) return RAFT_NOMEM;
  buf->len = len;
  buf->base = raft_malloc(len > 0 ? len : 1);
  if (buf->base == NULL) {
    raft_free(buf);
    return RAFT_NOMEM;
  }
  if (len > 0) memcpy(buf->base, data, len);
  *bufs = buf;
  *n_bufs = 1;
  return 0;
}

static int FsmRestore(struct raft_fsm* fsm, struct raft_buffer* buf) {
  struct exactly_raft* r = fsm->data;
  if (r->callbacks.restore(r->callbacks.user, buf->base, buf->len) != 0) return RAFT_CORRUPT;
  /* A snapshot moves the state forward to its index: entries after it follow. */
  r->last_delivered_index = 0;
  /* On success the FSM owns the snapshot's memory (on failure the library frees it). */
  raft_free(buf->base);
  return 0;
}

/* ---- status, wake, close --------------------------------------------------- */

void exactly_raft_get_status(struct exactly_raft* r, struct exactly_raft_status* status) {
  memset(status, 0, sizeof *status);
  status->role = (int)raft_state(&r->raft);
  status->id = r->raft.id;
  raft_id leader_id = 0;
  const char* leader_address = NULL;
  raft_leader(&r->raft, &leader_id, &leader_address);
  status->leader_id = leader_id;
  if (leader_address != NULL) {
    snprintf(status->leader_address, sizeof status->leader_address, "%s", leader_address);
  }
  status->term = raft_current_term(&r->raft);
  status->commit_index = raft_commit_index(&r->raft);
  status->applied_index = raft_last_applied(&r->raft);
  status->last_index = raft_last_index(&r->raft);
  status->nodelay_connections = r->nodelay_connections;
  status->held_installs = r->held_installs;
  status->configuration_committed_index = r->raft.configuration_committed_index;
  status->configuration_index = r->raft.configuration_uncommitted_index != 0
                                    ? r->raft.configuration_uncommitted_index
                                    : r->raft.configuration_committed_index;
  status->change_pending = r->change_pending ? 1 : 0;
}

unsigned exactly_raft_configuration(struct exactly_raft* r, struct exactly_raft_member* out,
                                    unsigned max) {
  const struct raft_configuration* c = &r->raft.configuration;
  for (unsigned i = 0; i < c->n && i < max; i++) {
    out[i].id = c->servers[i].id;
    switch (c->servers[i].role) {
      case RAFT_STANDBY:
        out[i].role = EXACTLY_RAFT_STANDBY;
        break;
      case RAFT_SPARE:
        out[i].role = EXACTLY_RAFT_SPARE;
        break;
      default:
        out[i].role = EXACTLY_RAFT_VOTER;
        break;
    }
    snprintf(out[i].address, sizeof out[i].address, "%s", c->servers[i].address);
  }
  return c->n;
}

static void OnWatch(uv_check_t* handle) {
  struct exactly_raft* r = handle->data;
  if (r->shutting_down || r->callbacks.status_changed == NULL) return;
  struct exactly_raft_status now;
  exactly_raft_get_status(r, &now);
  if (r->reported_once && memcmp(&now, &r->reported, sizeof now) == 0) return;
  r->reported = now;
  r->reported_once = true;
  r->callbacks.status_changed(r->callbacks.user, &now);
}

static void OnWake(uv_async_t* handle) {
  struct exactly_raft* r = handle->data;
  r->callbacks.woken(r->callbacks.user);
}

static void OnWakeClosed(uv_handle_t* handle) {
  struct exactly_raft* r = handle->data;
  if (r->callbacks.closed != NULL) r->callbacks.closed(r->callbacks.user);
}

static void CloseHandles(struct exactly_raft* r) {
  if (!r->handles_initialized) return;
  r->handles_initialized = false;
  uv_close((uv_handle_t*)&r->watch, NULL);
  uv_close((uv_handle_t*)&r->wake, OnWakeClosed);
}

static void OnRaftClosed(struct raft* raft) {
  struct exactly_raft* r = raft->data;
  CloseHandles(r);
}

void exactly_raft_shutdown(struct exactly_raft* r) {
  if (r->shutting_down) return;
  r->shutting_down = true;
  uv_check_stop(&r->watch);
  raft_close(&r->raft, OnRaftClosed);
}

int exactly_raft_run(struct exactly_raft* r) {
  uv_run(&r->loop, UV_RUN_DEFAULT);
  return 0;
}

void exactly_raft_wake(struct exactly_raft* r) { uv_async_send(&r->wake); }

void exactly_raft_destroy(struct exactly_raft* r) {
  if (r == NULL) return;
  if (r->raft_initialized) raft_uv_close(&r->io);
  raft_uv_tcp_close(&r->tcp);
  /* Let the library's last close callbacks run before the loop goes. */
  uv_run(&r->loop, UV_RUN_NOWAIT);
  uv_loop_close(&r->loop);
  FreeHeld(r);
  free(r);
}

/* ---- open ------------------------------------------------------------------ */

static int Bootstrap(struct exactly_raft* r, const struct exactly_raft_options* options) {
  struct raft_configuration configuration;
  raft_configuration_init(&configuration);
  int rv = 0;
  for (unsigned i = 0; i < options->n_voters && rv == 0; i++) {
    rv = raft_configuration_add(&configuration, options->voters[i].id, options->voters[i].address,
                                RAFT_VOTER);
  }
  if (rv == 0 && options->recover) {
    rv = raft_recover(&r->raft, &configuration);
    if (rv != 0) SetError(r, "recover", rv, raft_errmsg(&r->raft));
  } else if (rv == 0) {
    rv = raft_bootstrap(&r->raft, &configuration);
    /* A directory that already holds a log keeps its replicated configuration. */
    if (rv == RAFT_CANTBOOTSTRAP) rv = 0;
    if (rv != 0) SetError(r, "bootstrap", rv, raft_errmsg(&r->raft));
  } else {
    SetError(r, "configuration", rv, NULL);
  }
  raft_configuration_close(&configuration);
  return rv;
}

/* Closes what a failed open had set up, running the loop until it is quiet. */
static void AbandonOpen(struct exactly_raft* r) {
  r->shutting_down = true;
  r->callbacks.closed = NULL;
  if (r->handles_initialized) uv_check_stop(&r->watch);
  if (r->raft_initialized) {
    raft_close(&r->raft, OnRaftClosed);
  } else {
    CloseHandles(r);
  }
  uv_run(&r->loop, UV_RUN_DEFAULT);
  exactly_raft_destroy(r);
}

int exactly_raft_open(const struct exactly_raft_options* options,
                      const struct exactly_raft_callbacks* callbacks, struct exactly_raft** out,
                      char* errmsg, size_t errmsg_len) {
  *out = NULL;
  if (options->id == 0 || options->address == NULL || options->dir == NULL ||
      callbacks->apply == NULL || callbacks->snapshot == NULL || callbacks->restore == NULL ||
      callbacks->woken == NULL) {
    snprintf(errmsg, errmsg_len, "open: id, address, dir and callbacks are required");
    return EXACTLY_RAFT_INVALID;
  }
  struct exactly_raft* r = calloc(1, sizeof *r);
  if (r == NULL) {
    snprintf(errmsg, errmsg_len, "open: out of memory");
    return EXACTLY_RAFT_FAILED;
  }
  r->callbacks = *callbacks;
  int rv = uv_loop_init(&r->loop);
  if (rv != 0) {
    snprintf(errmsg, errmsg_len, "open: uv_loop_init: %s", uv_strerror(rv));
    free(r);
    return EXACTLY_RAFT_FAILED;
  }

  r->tcp.version = 1; /* 0.22.1 refuses a transport whose version is unset */
  rv = raft_uv_tcp_init(&r->tcp, &r->loop);
  if (rv != 0) {
    snprintf(errmsg, errmsg_len, "open: raft_uv_tcp_init: %s", r->tcp.errmsg);
    uv_loop_close(&r->loop);
    free(r);
    return MapCode(rv);
  }
  if (options->bind_address != NULL) {
    rv = raft_uv_tcp_set_bind_address(&r->tcp, options->bind_address);
    if (rv != 0) {
      snprintf(errmsg, errmsg_len, "open: bind address %s: %s", options->bind_address,
               raft_strerror(rv));
      raft_uv_tcp_close(&r->tcp);
      uv_loop_close(&r->loop);
      free(r);
      return MapCode(rv);
    }
  }
  r->tcp.data = r;
  r->transport.version = 1;
  r->transport.impl = r;
  r->transport.init = TransportInit;
  r->transport.listen = TransportListen;
  r->transport.connect = TransportConnect;
  r->transport.close = TransportClose;

  rv = raft_uv_init(&r->io, &r->loop, options->dir, &r->transport);
  if (rv != 0) {
    snprintf(errmsg, errmsg_len, "open: %s: %s", options->dir, r->io.errmsg);
    raft_uv_tcp_close(&r->tcp);
    uv_loop_close(&r->loop);
    free(r);
    return MapCode(rv);
  }
  /* Hold snapshot installs while a snapshot of our own is written (above). */
  r->io_start = r->io.start;
  r->io.start = GlueStart;
  r->io_snapshot_put = r->io.snapshot_put;
  r->io.snapshot_put = GlueSnapshotPut;
  /* Fail stop: a corrupt segment refuses to start rather than being set aside. */
  raft_uv_set_auto_recovery(&r->io, false);
  if (options->connect_retry_ms != 0) {
    raft_uv_set_connect_retry_delay(&r->io, options->connect_retry_ms);
  }

  r->fsm.version = 1;
  r->fsm.data = r;
  r->fsm.apply = FsmApply;
  r->fsm.snapshot = FsmSnapshot;
  r->fsm.restore = FsmRestore;
  rv = raft_init(&r->raft, &r->io, &r->fsm, options->id, options->address);
  if (rv != 0) {
    snprintf(errmsg, errmsg_len, "open: raft_init: %s", raft_errmsg(&r->raft));
    raft_uv_close(&r->io);
    raft_uv_tcp_close(&r->tcp);
    uv_loop_close(&r->loop);
    free(r);
    return MapCode(rv);
  }
  r->raft_initialized = true;
  r->raft.data = r;
  if (options->election_timeout_ms != 0) {
    raft_set_election_timeout(&r->raft, options->election_timeout_ms);
  }
  if (options->heartbeat_timeout_ms != 0) {
    raft_set_heartbeat_timeout(&r->raft, options->heartbeat_timeout_ms);
  }
  if (options->snapshot_threshold != 0) {
    raft_set_snapshot_threshold(&r->raft, options->snapshot_threshold);
  }
  if (options->snapshot_trailing != 0) {
    raft_set_snapshot_trailing(&r->raft, options->snapshot_trailing);
  }
  /* A node that was cut off does not depose a healthy leader when it comes back. */
  raft_set_pre_vote(&r->raft, true);

  uv_async_init(&r->loop, &r->wake, OnWake);
  r->wake.data = r;
  uv_check_init(&r->loop, &r->watch);
  r->watch.data = r;
  uv_check_start(&r->watch, OnWatch);
  r->handles_initialized = true;

  if (options->n_voters > 0 && Bootstrap(r, options) != 0) {
    snprintf(errmsg, errmsg_len, "open: %s", r->errmsg);
    int code = EXACTLY_RAFT_FAILED;
    AbandonOpen(r);
    return code;
  }
  rv = raft_start(&r->raft);
  if (rv != 0) {
    snprintf(errmsg, errmsg_len, "open: start: %s: %s", raft_strerror(rv), raft_errmsg(&r->raft));
    AbandonOpen(r);
    return MapCode(rv);
  }
  *out = r;
  return EXACTLY_RAFT_OK;
}

/* ---- requests ---------------------------------------------------------------- */

static void OnApplied(struct raft_apply* req, int status, void* result) {
  struct glue_apply* a = req->data;
  (void)result;
  /* Once accepted, an entry is in the leader's log: any failure leaves its fate open. */
  a->done(a->token, status == 0 ? EXACTLY_RAFT_OK : EXACTLY_RAFT_UNKNOWN, req->index);
  free(a);
}

int exactly_raft_propose(struct exactly_raft* r, const void* data, size_t len, void* token,
                         exactly_raft_done_cb done) {
  if (r->shutting_down) return EXACTLY_RAFT_SHUTTING_DOWN;
  struct glue_apply* a = calloc(1, sizeof *a);
  if (a == NULL) return EXACTLY_RAFT_FAILED;
  struct raft_buffer buf;
  buf.len = exactly_raft_frame_size(len);
  buf.base = raft_malloc(buf.len);
  if (buf.base == NULL) {
    free(a);
    return EXACTLY_RAFT_FAILED;
  }
  exactly_raft_frame_encode(data, len, buf.base);
  a->req.data = a;
  a->token = token;
  a->done = done;
  int rv = raft_apply(&r->raft, &a->req, &buf, 1, OnApplied);
  if (rv != 0) {
    SetError(r, "apply", rv, NULL);
    raft_free(buf.base);
    free(a);
    return MapCode(rv);
  }
  return EXACTLY_RAFT_OK;
}

static void OnBarrier(struct raft_barrier* req, int status) {
  struct glue_barrier* b = req->data;
  b->done(b->token, status == 0 ? EXACTLY_RAFT_OK : EXACTLY_RAFT_UNKNOWN, req->index);
  free(b);
}

int exactly_raft_barrier(struct exactly_raft* r, void* token, exactly_raft_done_cb done) {
  if (r->shutting_down) return EXACTLY_RAFT_SHUTTING_DOWN;
  struct glue_barrier* b = calloc(1, sizeof *b);
  if (b == NULL) return EXACTLY_RAFT_FAILED;
  b->req.data = b;
  b->token = token;
  b->done = done;
  int rv = raft_barrier(&r->raft, &b->req, OnBarrier);
  if (rv != 0) {
    SetError(r, "barrier", rv, NULL);
    free(b);
    return MapCode(rv);
  }
  return EXACTLY_RAFT_OK;
}

static void OnTransferred(struct raft_transfer* req) {
  struct glue_transfer* t = req->data;
  raft_id leader_id = 0;
  const char* leader_address = NULL;
  raft_leader(&t->r->raft, &leader_id, &leader_address);
  t->done(t->token, EXACTLY_RAFT_OK, leader_id);
  free(t);
}

int exactly_raft_transfer(struct exactly_raft* r, uint64_t id, void* token,
                          exactly_raft_done_cb done) {
  if (r->shutting_down) return EXACTLY_RAFT_SHUTTING_DOWN;
  struct glue_transfer* t = calloc(1, sizeof *t);
  if (t == NULL) return EXACTLY_RAFT_FAILED;
  t->req.data = t;
  t->r = r;
  t->token = token;
  t->done = done;
  int rv = raft_transfer(&r->raft, &t->req, id, OnTransferred);
  if (rv != 0) {
    SetError(r, "transfer", rv, NULL);
    free(t);
    return MapCode(rv);
  }
  return EXACTLY_RAFT_OK;
}

/* ---- membership ------------------------------------------------------------ */

static void OnChanged(struct raft_change* req, int status) {
  struct glue_change* c = req->data;
  struct exactly_raft* r = c->r;
  r->change_pending = false;
  int code = EXACTLY_RAFT_OK;
  if (status == RAFT_LEADERSHIPLOST || status == RAFT_SHUTDOWN) {
    code = EXACTLY_RAFT_UNKNOWN;
  } else if (status != 0) {
    /* RAFT_NOCONNECTION: a promotion's catch-up rounds gave up; nothing changed. */
    SetError(r, "configuration change", status, NULL);
    code = EXACTLY_RAFT_FAILED;
  }
  c->done(c->token, code, r->raft.configuration_committed_index);
  free(c);
}

/* What every change checks first; 0 or the refusal's code. */
static int CanChange(struct exactly_raft* r) {
  if (r->shutting_down) return EXACTLY_RAFT_SHUTTING_DOWN;
  /* raft_add and raft_remove assert leadership rather than check it. */
  if (raft_state(&r->raft) != RAFT_LEADER || raft_transferee(&r->raft) != 0) {
    snprintf(r->errmsg, sizeof r->errmsg, "configuration change: not the leader");
    return EXACTLY_RAFT_NOT_LEADER;
  }
  if (r->change_pending || r->raft.configuration_uncommitted_index != 0) {
    snprintf(r->errmsg, sizeof r->errmsg, "configuration change: another one is pending");
    return EXACTLY_RAFT_CHANGE_PENDING;
  }
  return EXACTLY_RAFT_OK;
}

static struct glue_change* NewChange(struct exactly_raft* r, void* token,
                                     exactly_raft_done_cb done) {
  struct glue_change* c = calloc(1, sizeof *c);
  if (c == NULL) return NULL;
  c->req.data = c;
  c->r = r;
  c->token = token;
  c->done = done;
  return c;
}

/* After the library's call: either the request is in flight or it was refused. */
static int Changing(struct exactly_raft* r, struct glue_change* c, const char* what, int rv) {
  if (rv != 0) {
    SetError(r, what, rv, raft_errmsg(&r->raft));
    free(c);
    return MapCode(rv);
  }
  r->change_pending = true;
  return EXACTLY_RAFT_OK;
}

int exactly_raft_add(struct exactly_raft* r, uint64_t id, const char* address, void* token,
                     exactly_raft_done_cb done) {
  int code = CanChange(r);
  if (code != EXACTLY_RAFT_OK) return code;
  if (id == 0 || address == NULL || strlen(address) >= EXACTLY_RAFT_MEMBER_ADDRESS_MAX) {
    snprintf(r->errmsg, sizeof r->errmsg, "add: bad id or address");
    return EXACTLY_RAFT_INVALID;
  }
  struct glue_change* c = NewChange(r, token, done);
  if (c == NULL) return EXACTLY_RAFT_FAILED;
  return Changing(r, c, "add", raft_add(&r->raft, &c->req, id, address, OnChanged));
}

int exactly_raft_assign(struct exactly_raft* r, uint64_t id, int role, void* token,
                        exactly_raft_done_cb done) {
  int code = CanChange(r);
  if (code != EXACTLY_RAFT_OK) return code;
  int raft_role = RAFT_VOTER;
  switch (role) {
    case EXACTLY_RAFT_VOTER:
      raft_role = RAFT_VOTER;
      break;
    case EXACTLY_RAFT_STANDBY:
      raft_role = RAFT_STANDBY;
      break;
    case EXACTLY_RAFT_SPARE:
      raft_role = RAFT_SPARE;
      break;
    default:
      snprintf(r->errmsg, sizeof r->errmsg, "assign: unknown role %d", role);
      return EXACTLY_RAFT_INVALID;
  }
  struct glue_change* c = NewChange(r, token, done);
  if (c == NULL) return EXACTLY_RAFT_FAILED;
  return Changing(r, c, "assign", raft_assign(&r->raft, &c->req, id, raft_role, OnChanged));
}

int exactly_raft_remove(struct exactly_raft* r, uint64_t id, void* token,
                        exactly_raft_done_cb done) {
  int code = CanChange(r);
  if (code != EXACTLY_RAFT_OK) return code;
  struct glue_change* c = NewChange(r, token, done);
  if (c == NULL) return EXACTLY_RAFT_FAILED;
  return Changing(r, c, "remove", raft_remove(&r->raft, &c->req, id, OnChanged));
}

int exactly_raft_match_index(struct exactly_raft* r, uint64_t id, uint64_t* index) {
  if (raft_state(&r->raft) != RAFT_LEADER) return EXACTLY_RAFT_NOT_LEADER;
  raft_index match = 0;
  int rv = raft_match_index(&r->raft, id, &match);
  if (rv != 0) return MapCode(rv);
  *index = match;
  return EXACTLY_RAFT_OK;
}

const char* exactly_raft_errmsg(struct exactly_raft* r) { return r->errmsg; }

const char* exactly_raft_code_name(int code) {
  switch (code) {
    case EXACTLY_RAFT_OK:
      return "ok";
    case EXACTLY_RAFT_NOT_LEADER:
      return "not leader";
    case EXACTLY_RAFT_UNKNOWN:
      return "outcome unknown";
    case EXACTLY_RAFT_INVALID:
      return "invalid argument";
    case EXACTLY_RAFT_IO_ERROR:
      return "I/O error";
    case EXACTLY_RAFT_CORRUPT:
      return "corruption";
    case EXACTLY_RAFT_SHUTTING_DOWN:
      return "shutting down";
    case EXACTLY_RAFT_CHANGE_PENDING:
      return "a configuration change is pending";
    default:
      return "failed";
  }
}
