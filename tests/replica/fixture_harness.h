/* fixture_harness: a C interface over C-Raft's raft_fixture (in-memory I/O, fake
 * clock) for the seeded protocol tests, since raft.h does not compile as C++.
 *
 * Each server runs an FSM that records the 64-bit values of the entries it applied,
 * in order; entries use the same framing as replica/raft_glue (an 8-byte length,
 * the payload, padding), and snapshots carry the whole applied list, so a server
 * brought up to date by a snapshot reports the same list. Servers are indexed from
 * 0; server i has raft id i + 1. Single-threaded, like the fixture. */
#ifndef EXACTLY_TESTS_REPLICA_FIXTURE_HARNESS_H
#define EXACTLY_TESTS_REPLICA_FIXTURE_HARNESS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct fixture_harness;

/* n voters (up to 8), all bootstrapped with one configuration and started.
 * election_ms[i] and latency_ms[i] set each server's randomized election timeout
 * and network latency; snapshot_threshold 0 keeps the library default. */
struct fixture_harness* fixture_harness_create(unsigned n, const unsigned* election_ms,
                                               const unsigned* latency_ms,
                                               unsigned snapshot_threshold,
                                               unsigned snapshot_trailing);
void fixture_harness_destroy(struct fixture_harness* h);

unsigned fixture_harness_n(struct fixture_harness* h);
/* The fixture's stable leader, or -1. */
int fixture_harness_leader(struct fixture_harness* h);
/* Steps the cluster until it has a stable leader or max_ms of fake time pass. */
int fixture_harness_step_until_leader(struct fixture_harness* h, unsigned max_ms);
/* Steps until the fixture sees no stable leader (e.g. after killing it). */
int fixture_harness_step_until_no_leader(struct fixture_harness* h, unsigned max_ms);
void fixture_harness_step_ms(struct fixture_harness* h, unsigned ms);
/* Steps until every server has applied `index` or max_ms pass; 1 if they did. */
int fixture_harness_step_until_applied(struct fixture_harness* h, uint64_t index, unsigned max_ms);

/* Proposes `value` on server i. Returns 0 when the server accepted it (its outcome
 * arrives later, see fixture_harness_take_outcomes), else the raft error code. On
 * acceptance *index is the entry's index and *term the server's term. */
int fixture_harness_propose(struct fixture_harness* h, unsigned i, uint64_t value, uint64_t* index,
                            uint64_t* term);

/* Outcomes of accepted proposals since the last call: values[k] finished with
 * statuses[k] (0: committed and applied on its leader). Returns how many were
 * written (at most max). */
size_t fixture_harness_take_outcomes(struct fixture_harness* h, uint64_t* values, int* statuses,
                                     size_t max);

/* The values server i applied, in order (at most max written); returns the count. */
size_t fixture_harness_applied(struct fixture_harness* h, unsigned i, uint64_t* out, size_t max);
uint64_t fixture_harness_applied_index(struct fixture_harness* h, unsigned i);
uint64_t fixture_harness_last_index(struct fixture_harness* h, unsigned i);
uint64_t fixture_harness_term(struct fixture_harness* h, unsigned i);
int fixture_harness_is_leader(struct fixture_harness* h, unsigned i);
int fixture_harness_alive(struct fixture_harness* h, unsigned i);
/* Snapshots restored on server i so far. */
unsigned fixture_harness_restores(struct fixture_harness* h, unsigned i);

void fixture_harness_kill(struct fixture_harness* h, unsigned i);
void fixture_harness_revive(struct fixture_harness* h, unsigned i);
/* Cuts or restores both directions between servers i and j. */
void fixture_harness_disconnect(struct fixture_harness* h, unsigned i, unsigned j);
void fixture_harness_reconnect(struct fixture_harness* h, unsigned i, unsigned j);
/* Messages from i to j are silently dropped (one direction), or delivered again. */
void fixture_harness_saturate(struct fixture_harness* h, unsigned i, unsigned j);
void fixture_harness_desaturate(struct fixture_harness* h, unsigned i, unsigned j);

#ifdef __cplusplus
}
#endif

#endif /* EXACTLY_TESTS_REPLICA_FIXTURE_HARNESS_H */
