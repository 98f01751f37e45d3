/* fixture_harness: raft_fixture driven through a C interface (see fixture_harness.h). */
#include "replica/fixture_harness.h"

#include <raft.h>
#include <raft/fixture.h>
#include <stdlib.h>
#include <string.h>

#include "replica/raft_glue.h"

struct values {
  uint64_t* items;
  size_t n;
  size_t cap;
};

static void ValuesPush(struct values* v, uint64_t value) {
  if (v->n == v->cap) {
    v->cap = v->cap == 0 ? 64 : v->cap * 2;
    v->items = realloc(v->items, v->cap * sizeof *v->items);
    if (v->items == NULL) abort();
  }
  v->items[v->n++] = value;
}

struct server_state {
  struct values applied;
  unsigned restores;
};

/* The fixture writes every diagnostic to stderr; tests stay quiet unless asked. */
static void TraceNothing(struct raft_tracer* t, int type, const void* data) {
  (void)t;
  (void)type;
  (void)data;
}
static struct raft_tracer quiet_tracer = {.impl = NULL, .version = 2, .emit = TraceNothing};

struct fixture_harness {
  struct raft_fixture fixture;
  struct raft_fsm fsms[RAFT_FIXTURE_MAX_SERVERS];
  struct server_state servers[RAFT_FIXTURE_MAX_SERVERS];
  struct values outcome_values;
  struct values outcome_statuses;
};

struct proposal {
  struct raft_apply req;
  struct fixture_harness* h;
  uint64_t value;
};

static uint64_t Get64(const unsigned char* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; i++) v |= (uint64_t)p[i] << (8 * i);
  return v;
}

static void Put64(unsigned char* p, uint64_t v) {
  for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i));
}

static int FsmApply(struct raft_fsm* fsm, const struct raft_buffer* buf, void** result) {
  struct server_state* s = fsm->data;
  const void* data = NULL;
  size_t len = 0;
  *result = NULL;
  if (exactly_raft_frame_decode(buf->base, buf->len, &data, &len) != 0 || len != 8) {
    return RAFT_MALFORMED;
  }
  ValuesPush(&s->applied, Get64(data));
  return 0;
}

static int FsmSnapshot(struct raft_fsm* fsm, struct raft_buffer* bufs[], unsigned* n_bufs) {
  struct server_state* s = fsm->data;
  struct raft_buffer* buf = raft_malloc(sizeof *buf);
  if (buf == NULL) return RAFT_NOMEM;
  buf->len = 8 * (s->applied.n + 1);
  buf->base = raft_malloc(buf->len);
  if (buf->base == NULL) {
    raft_free(buf);
    return RAFT_NOMEM;
  }
  unsigned char* p = buf->base;
  Put64(p, s->applied.n);
  for (size_t i = 0; i < s->applied.n; i++) Put64(p + 8 * (i + 1), s->applied.items[i]);
  *bufs = buf;
  *n_bufs = 1;
  return 0;
}

static int FsmRestore(struct raft_fsm* fsm, struct raft_buffer* buf) {
  struct server_state* s = fsm->data;
  const unsigned char* p = buf->base;
  if (buf->len < 8 || Get64(p) != buf->len / 8 - 1 || buf->len % 8 != 0) return RAFT_MALFORMED;
  size_t n = (size_t)Get64(p);
  s->applied.n = 0;
  for (size_t i = 0; i < n; i++) ValuesPush(&s->applied, Get64(p + 8 * (i + 1)));
  s->restores++;
  raft_free(buf->base);
  return 0;
}

struct fixture_harness* fixture_harness_create(unsigned n, const unsigned* election_ms,
                                               const unsigned* latency_ms,
                                               unsigned snapshot_threshold,
                                               unsigned snapshot_trailing) {
  if (n == 0 || n > RAFT_FIXTURE_MAX_SERVERS) return NULL;
  struct fixture_harness* h = calloc(1, sizeof *h);
  if (h == NULL) return NULL;
  if (raft_fixture_init(&h->fixture) != 0) abort();
  for (unsigned i = 0; i < n; i++) {
    h->fsms[i].version = 1;
    h->fsms[i].data = &h->servers[i];
    h->fsms[i].apply = FsmApply;
    h->fsms[i].snapshot = FsmSnapshot;
    h->fsms[i].restore = FsmRestore;
    if (raft_fixture_grow(&h->fixture, &h->fsms[i]) != 0) abort();
    struct raft* raft = raft_fixture_get(&h->fixture, i);
    if (snapshot_threshold != 0) raft_set_snapshot_threshold(raft, snapshot_threshold);
    if (snapshot_trailing != 0) raft_set_snapshot_trailing(raft, snapshot_trailing);
    raft_set_pre_vote(raft, true);
    if (getenv("EXACTLY_RAFT_TRACE") == NULL) raft->tracer = &quiet_tracer;
    raft_fixture_set_randomized_election_timeout(&h->fixture, i, election_ms[i]);
    raft_fixture_set_network_latency(&h->fixture, i, latency_ms[i]);
  }
  struct raft_configuration configuration;
  raft_configuration_init(&configuration);
  if (raft_fixture_configuration(&h->fixture, n, &configuration) != 0) abort();
  if (raft_fixture_bootstrap(&h->fixture, &configuration) != 0) abort();
  raft_configuration_close(&configuration);
  if (raft_fixture_start(&h->fixture) != 0) abort();
  return h;
}

void fixture_harness_destroy(struct fixture_harness* h) {
  if (h == NULL) return;
  unsigned n = raft_fixture_n(&h->fixture);
  raft_fixture_close(&h->fixture);
  for (unsigned i = 0; i < n; i++) free(h->servers[i].applied.items);
  free(h->outcome_values.items);
  free(h->outcome_statuses.items);
  free(h);
}

unsigned fixture_harness_n(struct fixture_harness* h) { return raft_fixture_n(&h->fixture); }

int fixture_harness_leader(struct fixture_harness* h) {
  unsigned i = raft_fixture_leader_index(&h->fixture);
  return i < raft_fixture_n(&h->fixture) ? (int)i : -1;
}

int fixture_harness_step_until_leader(struct fixture_harness* h, unsigned max_ms) {
  return raft_fixture_step_until_has_leader(&h->fixture, max_ms) ? 1 : 0;
}

int fixture_harness_step_until_no_leader(struct fixture_harness* h, unsigned max_ms) {
  return raft_fixture_step_until_has_no_leader(&h->fixture, max_ms) ? 1 : 0;
}

void fixture_harness_step_ms(struct fixture_harness* h, unsigned ms) {
  raft_fixture_step_until_elapsed(&h->fixture, ms);
}

int fixture_harness_step_until_applied(struct fixture_harness* h, uint64_t index, unsigned max_ms) {
  return raft_fixture_step_until_applied(&h->fixture, raft_fixture_n(&h->fixture), index, max_ms)
             ? 1
             : 0;
}

static void OnApplied(struct raft_apply* req, int status, void* result) {
  struct proposal* p = req->data;
  (void)result;
  ValuesPush(&p->h->outcome_values, p->value);
  ValuesPush(&p->h->outcome_statuses, (uint64_t)(unsigned)status);
  free(p);
}

int fixture_harness_propose(struct fixture_harness* h, unsigned i, uint64_t value, uint64_t* index,
                            uint64_t* term) {
  struct raft* raft = raft_fixture_get(&h->fixture, i);
  struct proposal* p = calloc(1, sizeof *p);
  if (p == NULL) abort();
  p->req.data = p;
  p->h = h;
  p->value = value;
  unsigned char payload[8];
  Put64(payload, value);
  struct raft_buffer buf;
  buf.len = exactly_raft_frame_size(sizeof payload);
  buf.base = raft_malloc(buf.len);
  if (buf.base == NULL) abort();
  exactly_raft_frame_encode(payload, sizeof payload, buf.base);
  int rv = raft_apply(raft, &p->req, &buf, 1, OnApplied);
  if (rv != 0) {
    raft_free(buf.base);
    free(p);
    return rv;
  }
  *index = p->req.index;
  *term = raft_current_term(raft);
  return 0;
}

size_t fixture_harness_take_outcomes(struct fixture_harness* h, uint64_t* values, int* statuses,
                                     size_t max) {
  size_t n = h->outcome_values.n < max ? h->outcome_values.n : max;
  for (size_t k = 0; k < n; k++) {
    values[k] = h->outcome_values.items[k];
    statuses[k] = (int)h->outcome_statuses.items[k];
  }
  size_t rest = h->outcome_values.n - n;
  /* Before the first outcome the arrays are NULL, which memmove must not get. */
  if (rest > 0) {
    memmove(h->outcome_values.items, h->outcome_values.items + n, rest * sizeof(uint64_t));
    memmove(h->outcome_statuses.items, h->outcome_statuses.items + n, rest * sizeof(uint64_t));
  }
  h->outcome_values.n = rest;
  h->outcome_statuses.n = rest;
  return n;
}

size_t fixture_harness_applied(struct fixture_harness* h, unsigned i, uint64_t* out, size_t max) {
  const struct values* v = &h->servers[i].applied;
  size_t n = v->n < max ? v->n : max;
  if (n > 0) memcpy(out, v->items, n * sizeof *out);
  return v->n;
}

uint64_t fixture_harness_applied_index(struct fixture_harness* h, unsigned i) {
  return raft_last_applied(raft_fixture_get(&h->fixture, i));
}

uint64_t fixture_harness_last_index(struct fixture_harness* h, unsigned i) {
  return raft_last_index(raft_fixture_get(&h->fixture, i));
}

uint64_t fixture_harness_term(struct fixture_harness* h, unsigned i) {
  return raft_current_term(raft_fixture_get(&h->fixture, i));
}

int fixture_harness_is_leader(struct fixture_harness* h, unsigned i) {
  return raft_state(raft_fixture_get(&h->fixture, i)) == RAFT_LEADER ? 1 : 0;
}

int fixture_harness_alive(struct fixture_harness* h, unsigned i) {
  return raft_fixture_alive(&h->fixture, i) ? 1 : 0;
}

unsigned fixture_harness_restores(struct fixture_harness* h, unsigned i) {
  return h->servers[i].restores;
}

void fixture_harness_kill(struct fixture_harness* h, unsigned i) {
  raft_fixture_kill(&h->fixture, i);
}

void fixture_harness_revive(struct fixture_harness* h, unsigned i) {
  raft_fixture_revive(&h->fixture, i);
}

void fixture_harness_disconnect(struct fixture_harness* h, unsigned i, unsigned j) {
  raft_fixture_disconnect(&h->fixture, i, j);
  raft_fixture_disconnect(&h->fixture, j, i);
}

void fixture_harness_reconnect(struct fixture_harness* h, unsigned i, unsigned j) {
  raft_fixture_reconnect(&h->fixture, i, j);
  raft_fixture_reconnect(&h->fixture, j, i);
}

void fixture_harness_saturate(struct fixture_harness* h, unsigned i, unsigned j) {
  raft_fixture_saturate(&h->fixture, i, j);
}

void fixture_harness_desaturate(struct fixture_harness* h, unsigned i, unsigned j) {
  raft_fixture_desaturate(&h->fixture, i, j);
}
