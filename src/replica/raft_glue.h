/* raft_glue: exactly's own C interface over C-Raft 0.22.1 and its libuv backend.
 *
 * C-Raft's raft.h does not compile as C++ (its ABI static asserts take sizeof of
 * anonymous structs), so every call into the library lives in raft_glue.c, compiled
 * as C, and C++ sees only this header: plain types, no raft.h, no uv.h.
 *
 * One exactly_raft is one voter: a libuv loop, the stock disk backend (segments
 * with checksums, auto-recovery off: a corrupt segment refuses to start instead of
 * being renamed aside; its receive and snapshot writes wrapped so a snapshot sent
 * by the leader never reaches the library while it writes one of its own, which
 * crashes 0.22.1), the stock TCP transport wrapped so every connection gets
 * TCP_NODELAY, and an FSM that hands committed entries to the caller in log order.
 *
 * Threads: exactly_raft_open, exactly_raft_run and exactly_raft_destroy may be
 * called from any thread, one after the other. Between the start of
 * exactly_raft_run and its return, every other function except exactly_raft_wake
 * must be called on the thread inside exactly_raft_run (the "loop thread"), and
 * every callback runs there. exactly_raft_wake may be called from any thread until
 * exactly_raft_shutdown has been called.
 *
 * Entries: the library stores only buffers whose length is a multiple of 8, so each
 * entry is framed as an 8-byte little-endian payload length, the payload, and zero
 * padding to the next multiple of 8. The exactly_raft_frame_* functions are that
 * framing, shared with the fixture tests. */
#ifndef EXACTLY_REPLICA_RAFT_GLUE_H
#define EXACTLY_REPLICA_RAFT_GLUE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* What a call or a request came to. */
enum exactly_raft_code {
  EXACTLY_RAFT_OK = 0,
  EXACTLY_RAFT_NOT_LEADER,    /* refused before entering the log: nothing happened */
  EXACTLY_RAFT_UNKNOWN,       /* in the log, but leadership was lost or the node shut
                                 down before the outcome was known: it may commit */
  EXACTLY_RAFT_INVALID,       /* a caller passed something unusable */
  EXACTLY_RAFT_IO_ERROR,      /* the disk backend failed */
  EXACTLY_RAFT_CORRUPT,       /* bytes on disk or in an entry are not what was written */
  EXACTLY_RAFT_SHUTTING_DOWN, /* refused: exactly_raft_shutdown was called */
  EXACTLY_RAFT_FAILED,        /* anything else (out of memory, busy, ...) */
  EXACTLY_RAFT_CHANGE_PENDING /* refused: a configuration change has not ended yet */
};

/* A member's role in the configuration (C-Raft's RAFT_VOTER, RAFT_STANDBY,
 * RAFT_SPARE). */
enum exactly_raft_member_role {
  EXACTLY_RAFT_VOTER = 0, /* replicates the log and counts toward a quorum */
  EXACTLY_RAFT_STANDBY,   /* replicates the log, does not vote */
  EXACTLY_RAFT_SPARE      /* neither: only listed */
};

enum exactly_raft_role {
  EXACTLY_RAFT_ROLE_UNAVAILABLE = 0,
  EXACTLY_RAFT_ROLE_FOLLOWER,
  EXACTLY_RAFT_ROLE_CANDIDATE,
  EXACTLY_RAFT_ROLE_LEADER
};

#define EXACTLY_RAFT_ADDRESS_MAX 64 /* "host:port", with its NUL */
#define EXACTLY_RAFT_ERRMSG_MAX 256
#define EXACTLY_RAFT_FRAME_HEADER_BYTES 8
#define EXACTLY_RAFT_MEMBER_ADDRESS_MAX 256 /* a member's address, with its NUL */
#define EXACTLY_RAFT_MEMBERS_MAX 16

/* Addresses: "raft-host:raft-port", or "resp-host:resp-port@raft-host:raft-port"
 * (the form of --peers), which carries the member's client address inside the
 * replicated configuration. The glue dials and listens on the part after '@'. */
struct exactly_raft_peer {
  uint64_t id;         /* > 0 */
  const char* address; /* as above */
};

/* One member of the current configuration. */
struct exactly_raft_member {
  uint64_t id;
  int role; /* enum exactly_raft_member_role */
  char address[EXACTLY_RAFT_MEMBER_ADDRESS_MAX];
};

struct exactly_raft_status {
  int role; /* enum exactly_raft_role */
  uint64_t id;
  uint64_t leader_id; /* 0 while unknown */
  char leader_address[EXACTLY_RAFT_ADDRESS_MAX];
  uint64_t term;
  uint64_t commit_index;
  uint64_t applied_index;
  uint64_t last_index;
  uint64_t nodelay_connections; /* connections on which TCP_NODELAY was set */
  /* InstallSnapshot messages held until this node's own snapshot was written
   * (C-Raft 0.22.1 crashes on one that arrives meanwhile; see raft_glue.c). */
  uint64_t held_installs;
  /* The log index of the current configuration (committed or not); it changes
   * with every membership change, so status_changed reports those too. */
  uint64_t configuration_index;
  uint64_t configuration_committed_index;
  int change_pending; /* an add, assign or remove has not called back yet */
};

/* Callbacks into the caller, all on the loop thread, all with `user` first. */
struct exactly_raft_callbacks {
  void* user;
  /* A committed command entry, exactly once per index per process lifetime, in log
   * order (indexes increase; barriers and configuration entries leave gaps). The
   * bytes are valid only during the call. Nonzero refuses it: the library keeps the
   * entry unapplied and offers it again later, so the caller must latch its own
   * failure and stop the node. */
  int (*apply)(void* user, uint64_t index, const void* data, size_t len);
  /* Fills *data and *len with the state's bytes, valid until the next call on this
   * thread; the glue copies them. Nonzero refuses the snapshot. */
  int (*snapshot)(void* user, const void** data, size_t* len);
  /* Replaces the state with a snapshot's bytes (valid only during the call). After
   * it, apply continues with the entry after the snapshot's last index. */
  int (*restore)(void* user, const void* data, size_t len);
  /* The status changed (role, leader, term or indexes); `status` is valid only
   * during the call. May be NULL. */
  void (*status_changed)(void* user, const struct exactly_raft_status* status);
  /* exactly_raft_wake was called (coalesced: one call may answer several wakes). */
  void (*woken)(void* user);
  /* exactly_raft_shutdown has finished closing the library; exactly_raft_run is
   * about to return. May be NULL. */
  void (*closed)(void* user);
};

struct exactly_raft_options {
  uint64_t id;         /* this voter's id, > 0 */
  const char* address; /* this voter's address (above), as the peers dial it */
  /* Where it listens, when not at address's raft part (a container's 0.0.0.0, a
   * proxy in front): the same port (the library's rule); NULL: address's raft part. */
  const char* bind_address;
  const char* dir; /* existing directory for the log, metadata and snapshots */
  /* Every voter, this one included; used only when dir is pristine (bootstrap), and
   * ignored on later starts in favour of the replicated configuration. None: the
   * node bootstraps nothing and waits for a leader to add it (joining a group). */
  const struct exactly_raft_peer* voters;
  unsigned n_voters;
  /* Nonzero: the dir is not pristine and `voters` replaces its configuration, by an
   * entry appended to its log (C-Raft's raft_recover): recovery after the loss of a
   * quorum, on one survivor, with the group stopped. */
  int recover;
  unsigned election_timeout_ms;  /* 0: the library's default (1000) */
  unsigned heartbeat_timeout_ms; /* 0: the library's default (100) */
  unsigned snapshot_threshold;   /* entries between snapshots; 0: default (1024) */
  unsigned snapshot_trailing;    /* entries kept after a snapshot; 0: default (128) */
  unsigned connect_retry_ms;     /* 0: the library's default (1000) */
};

struct exactly_raft; /* opaque */

/* Opens the log in options->dir (bootstrapping it with the voters if it is
 * pristine) and starts the node; nothing runs until exactly_raft_run. On failure
 * returns the code, writes a message into errmsg (errmsg_len bytes) and *out stays
 * NULL. */
int exactly_raft_open(const struct exactly_raft_options* options,
                      const struct exactly_raft_callbacks* callbacks, struct exactly_raft** out,
                      char* errmsg, size_t errmsg_len);

/* Runs the loop until exactly_raft_shutdown has completed. Returns 0. */
int exactly_raft_run(struct exactly_raft* r);

/* Thread-safe: makes the loop call callbacks->woken soon. */
void exactly_raft_wake(struct exactly_raft* r);

/* Closes the node: pending requests complete (EXACTLY_RAFT_UNKNOWN for proposals
 * that were in the log), then callbacks->closed runs and exactly_raft_run returns.
 * Later requests answer EXACTLY_RAFT_SHUTTING_DOWN. */
void exactly_raft_shutdown(struct exactly_raft* r);

/* Releases everything; only after exactly_raft_run has returned (or if it never
 * ran). */
void exactly_raft_destroy(struct exactly_raft* r);

/* Completion of a request: `code` is an exactly_raft_code; `index` the entry's log
 * index (0 if it never had one). A proposal's completion with EXACTLY_RAFT_OK comes
 * after callbacks->apply has run for its index on this node. */
typedef void (*exactly_raft_done_cb)(void* token, int code, uint64_t index);

/* Proposes one command entry of `len` opaque bytes (copied). If the return value is
 * EXACTLY_RAFT_OK, `done` runs exactly once later; otherwise it never runs. */
int exactly_raft_propose(struct exactly_raft* r, const void* data, size_t len, void* token,
                         exactly_raft_done_cb done);

/* Appends a barrier; `done` runs when every entry before it is applied. Same
 * contract as exactly_raft_propose. */
int exactly_raft_barrier(struct exactly_raft* r, void* token, exactly_raft_done_cb done);

/* Starts a leadership transfer to `id` (0: the library picks a voter). `done` runs
 * when the transfer ended, with the leader id known then in `index`'s place (0 if
 * none yet). Same contract as exactly_raft_propose. */
int exactly_raft_transfer(struct exactly_raft* r, uint64_t id, void* token,
                          exactly_raft_done_cb done);

/* Membership changes, one at a time, on the leader only (EXACTLY_RAFT_NOT_LEADER
 * elsewhere; EXACTLY_RAFT_CHANGE_PENDING while an earlier one has not called back).
 * `done` runs once the new configuration is committed (EXACTLY_RAFT_OK), or with
 * EXACTLY_RAFT_UNKNOWN when leadership was lost first (it may still commit), or
 * EXACTLY_RAFT_FAILED when a promotion's catch-up gave up. Same contract as
 * exactly_raft_propose; a refusal's reason is in exactly_raft_errmsg.
 * add: a new member `id` at `address` (above), as a spare. */
int exactly_raft_add(struct exactly_raft* r, uint64_t id, const char* address, void* token,
                     exactly_raft_done_cb done);
/* assign: gives member `id` the role `role` (enum exactly_raft_member_role); to
 * a voter, the library first catches its log up, then changes the configuration. */
int exactly_raft_assign(struct exactly_raft* r, uint64_t id, int role, void* token,
                        exactly_raft_done_cb done);
/* remove: member `id` leaves the configuration. */
int exactly_raft_remove(struct exactly_raft* r, uint64_t id, void* token,
                        exactly_raft_done_cb done);

/* Copies up to `max` members of the current configuration (committed or not)
 * into `out`; returns how many there are. */
unsigned exactly_raft_configuration(struct exactly_raft* r, struct exactly_raft_member* out,
                                    unsigned max);

/* The current status (also what status_changed reports). */
void exactly_raft_get_status(struct exactly_raft* r, struct exactly_raft_status* status);

/* The leader's match index for peer `id`; EXACTLY_RAFT_NOT_LEADER on a follower. */
int exactly_raft_match_index(struct exactly_raft* r, uint64_t id, uint64_t* index);

/* The message of the last failure the library reported on this node. */
const char* exactly_raft_errmsg(struct exactly_raft* r);

/* A readable name for an exactly_raft_code. */
const char* exactly_raft_code_name(int code);

/* Framing of one entry: bytes needed for a payload of `len` bytes. */
size_t exactly_raft_frame_size(size_t len);
/* Writes the frame of data[0, len) into out (exactly_raft_frame_size(len) bytes). */
void exactly_raft_frame_encode(const void* data, size_t len, void* out);
/* Finds the payload inside a frame of frame_len bytes. Returns 0, or
 * EXACTLY_RAFT_CORRUPT when the frame is not one exactly_raft_frame_encode wrote. */
int exactly_raft_frame_decode(const void* frame, size_t frame_len, const void** data, size_t* len);

#ifdef __cplusplus
}
#endif

#endif /* EXACTLY_REPLICA_RAFT_GLUE_H */
