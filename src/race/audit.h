// `exactly race audit session.har`: replays a recorded browser session's
// state-changing requests one endpoint at a time, N synchronized copies and then one
// more alone, and flags each endpoint that is not safe to send twice at once: one
// that let more than one copy succeed while the later lone copy was refused meant
// "once" and acted more than once; one whose copies failed with 5xx while the lone
// copy did not broke under concurrency; one whose rule's state probe saw a lost
// update broke its expectation. It sends only to hosts the HAR names, and only to
// loopback ones unless told otherwise: it is a tool for one's own services.
#pragma once

#include <string>
#include <vector>

#include "race/fire.h"
#include "race/har.h"
#include "race/judge.h"

namespace exactly::race {

enum class AuditOutcome { kFlagged, kUnjudged, kHeld, kRepeatable };

const char* AuditOutcomeName(AuditOutcome outcome);

// One endpoint's replay and verdict.
struct EndpointResult {
  HarRequest request;   // as replayed, -H overrides applied
  std::string rule;     // the rules-file pattern that applied (empty: none)
  std::string observe;  // what the rule's probe reads (empty: no probe)
  AuditOutcome outcome = AuditOutcome::kUnjudged;
  std::string reason;    // one line: why this outcome
  RoundRun copies;       // the N synchronized copies
  RoundVerdict verdict;  // their counts, the probe readings, the rule's expectations
  RequestResult lone;    // the copy sent alone afterwards
  bool lone_sent = false;
  bool lone_success = false;
  int64_t excess = 0;  // how far past "once" (or the expectation) it went, for ranking
};

struct AuditReport {
  std::string har_path;
  int64_t copies = 10;
  std::vector<std::string> hosts;         // host:port the replay may send to
  size_t recorded = 0;                    // entries in the HAR
  size_t skipped = 0;                     // entries not replayed (method, patterns, duplicates)
  std::vector<EndpointResult> endpoints;  // ranked: flagged first, worst first
};

// The once-only test (no rule expectations): from the copies' counts and the lone
// copy's fate, the outcome, a reason and the excess. Exposed for tests.
AuditOutcome JudgeOnce(const Counts& copies, bool lone_answered, bool lone_success, int lone_status,
                       std::string& reason, int64_t& excess);

// Ranks endpoints: flagged (largest excess first), unjudged, held, repeatable.
void RankEndpoints(std::vector<EndpointResult>& endpoints);

// 1 when an endpoint is flagged, else 2 when one could not be judged, else 0.
int AuditExitCode(const AuditReport& report);

std::string AuditTable(const AuditReport& report);
std::string AuditJson(const AuditReport& report);
std::string AuditHtml(const AuditReport& report);

// Runs `exactly race audit`; argv[0] is "audit". Returns the exit code above, or 2
// on a usage error, an unreadable HAR or a refused remote host.
int AuditMain(int argc, char** argv);

}  // namespace exactly::race
