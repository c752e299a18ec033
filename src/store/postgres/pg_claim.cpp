// Claims on PostgreSQL: a whole batch in one statement and one round trip.
#include <algorithm>
#include <map>
#include <set>
#include <tuple>

#include "store/postgres/pg_store.hpp"
#include "store/sql_rows.hpp"

namespace solocron::detail {

namespace {

// $1 request index, $2 job, $3 node_key, $4 scheduled_at (epoch s), $5 the key's request,
// $6 claiming node, $7 its lease token, $8 overlap forbid, $9 max_clock_skew (ms), $10 store
// as running (the claimant starts at once: the claim is its running mark), $11 a backfill. The
// lease check, the skew guard, the retention mark and the overlap check are in the same
// statement as the insert; the rows are inserted in key order so that two nodes claiming
// overlapping batches wait for each other instead of deadlocking. A backfill also takes over a
// `missed` record: ON CONFLICT locks the row and re-checks its state, so of several, one wins;
// where forbid would skip it, it writes nothing (`waits`).
constexpr const char* kClaimSql = R"sql(
WITH req AS (
  SELECT x.*, to_timestamp(x.at) AS sched
  FROM unnest($1::int[], $2::text[], $3::text[], $4::bigint[], $5::bigint[], $6::text[],
              $7::bigint[], $8::bool[], $9::bigint[], $10::bool[], $11::bool[])
       AS x(i, job, node_key, at, request, node, lease_token, forbid, skew_ms, start, backfill)
), cls AS (
  SELECT r.*,
         NOT EXISTS (SELECT 1 FROM solocron_nodes n WHERE n.node_id = r.node
                     AND n.token = r.lease_token AND n.expires_at > now()) AS no_lease,
         r.sched > now() + r.skew_ms * interval '1 millisecond' AS too_early,
         EXISTS (SELECT 1 FROM solocron_pruned m
                 WHERE m.job = r.job AND m.through >= r.sched)
           OR )sql" SOLOCRON_PG_PAUSED("r.job", "r.sched", "r.request") R"sql( AS pruned,
         r.forbid AND EXISTS (
           SELECT 1 FROM solocron_runs p JOIN solocron_nodes n ON n.node_id = p.node
             AND n.token = p.lease_token
           WHERE p.job = r.job AND p.node_key = r.node_key
             AND (p.scheduled_at, p.request) < (r.sched, r.request)
             AND p.state IN ('claimed', 'running') AND n.expires_at > now()) AS blocked,
         CASE WHEN r.backfill THEN (
           SELECT p.state FROM solocron_runs p WHERE p.job = r.job AND p.node_key = r.node_key
             AND p.scheduled_at = r.sched AND p.request = r.request) END AS existing
  FROM req r
), ins AS (
  INSERT INTO solocron_runs AS o (job, node_key, scheduled_at, request, state, node, lease_token,
                                  fence, claimed_at, started_at, finished_at, cause)
  SELECT job, node_key, sched, request,
         CASE WHEN blocked THEN 'skipped_overlap' WHEN start THEN 'running' ELSE 'claimed' END,
         node, lease_token, CASE WHEN blocked THEN 0 ELSE nextval('solocron_fence') END, now(),
         CASE WHEN start AND NOT blocked THEN now() END, CASE WHEN blocked THEN now() END,
         CASE WHEN backfill THEN 'backfill' ELSE '' END
  FROM cls WHERE NOT no_lease AND NOT too_early AND NOT pruned AND NOT (backfill AND blocked)
  ORDER BY job, node_key, sched, request
  ON CONFLICT (job, node_key, scheduled_at, request) DO UPDATE
    SET state = EXCLUDED.state, node = EXCLUDED.node, lease_token = EXCLUDED.lease_token,
        fence = EXCLUDED.fence, attempt = 1, claimed_at = EXCLUDED.claimed_at,
        started_at = EXCLUDED.started_at, finished_at = NULL, exit_code = NULL, signal = NULL,
        output_tail = '', message = '', cause = EXCLUDED.cause
    WHERE o.state = 'missed' AND EXCLUDED.cause = 'backfill'
  RETURNING job, node_key, scheduled_at, request, fence, state
)
SELECT c.i, c.no_lease, c.too_early, i.fence, i.state, solocron_ms(now()),
       c.backfill AND c.blocked AND NOT c.pruned AND coalesce(c.existing, 'missed') = 'missed'
         AS waits
FROM cls c LEFT JOIN ins i
  ON i.job = c.job AND i.node_key = c.node_key AND i.scheduled_at = c.sched
     AND i.request = c.request
)sql";

using KeyTuple = std::tuple<const std::string&, const std::string&, std::chrono::sys_seconds,
                            std::int64_t>;
KeyTuple tie_key(const OccurrenceKey& k) { return {k.job, k.node, k.scheduled_at, k.request}; }

}  // namespace

void PostgresStore::claim_batch(std::span<const ClaimRequest* const> requests,
                                std::span<ClaimResult*> out) {
  PgKeyArrays keys;
  PgArray node, token, forbid, skew, start, backfill;
  for (std::size_t i = 0; i < requests.size(); ++i) {
    const ClaimRequest& r = *requests[i];
    keys.add(i, r.key);
    node.add(r.node_id);
    token.add(r.lease_token);
    forbid.add(r.overlap == OverlapMode::forbid ? "t" : "f");
    skew.add(static_cast<std::int64_t>(r.max_clock_skew.count()));
    start.add(r.start ? "t" : "f");
    backfill.add(r.backfill ? "t" : "f");
  }
  const PgParams p = keys.params({&node, &token, &forbid, &skew, &start, &backfill});
  auto r = conn_.exec_prepared("solocron_claim", kClaimSql, p);
  for (int row = 0; row < r.rows(); ++row) {
    ClaimResult& res = *out[static_cast<std::size_t>(r.integer(row, 0))];
    res.store_now = store_time_ms(r.integer(row, 5));
    if (r.boolean(row, 1)) {
      res.outcome = ClaimResult::Outcome::no_lease;
    } else if (r.boolean(row, 2)) {
      res.outcome = ClaimResult::Outcome::too_early;
    } else if (r.boolean(row, 6)) {
      res.outcome = ClaimResult::Outcome::overlap_skipped;  // a backfill waits: nothing written
    } else if (r.null(row, 3)) {
      res.outcome = ClaimResult::Outcome::taken;  // a record exists, or the instant was pruned
    } else if (r.text(row, 4) == "skipped_overlap") {
      res.outcome = ClaimResult::Outcome::overlap_skipped;
    } else {
      res.outcome = ClaimResult::Outcome::won;
      res.fence = r.integer(row, 3);
    }
  }
}

// replace: the claim and the interruption of the previous runs in one transaction, so that
// they happen together and only when the claim is won.
ClaimResult PostgresStore::claim_replacing(const ClaimRequest& request) {
  ClaimResult result;
  ClaimResult* out = &result;
  const ClaimRequest* in = &request;
  conn_.exec("BEGIN");
  try {
    claim_batch(std::span(&in, 1), std::span(&out, 1));
    if (result.outcome == ClaimResult::Outcome::won) {
      auto r = conn_.exec(
          "UPDATE solocron_runs SET state = 'interrupted', finished_at = now()"
          " WHERE job = $1 AND node_key = $2"
          " AND (scheduled_at, request) < (to_timestamp($3::bigint), $4::bigint)"
          " AND state IN ('claimed', 'running')"
          " RETURNING extract(epoch FROM scheduled_at)::bigint, request",
          PgParams()
              .add(request.key.job)
              .add(request.key.node)
              .add(request.key.scheduled_at.time_since_epoch().count())
              .add(request.key.request));
      for (int i = 0; i < r.rows(); ++i) {
        result.replaced.push_back({request.key.job,
                                   std::chrono::sys_seconds(std::chrono::seconds(r.integer(i, 0))),
                                   request.key.node, r.integer(i, 1)});
      }
    }
    conn_.exec("COMMIT");
  } catch (...) {
    conn_.rollback_quietly();
    throw;
  }
  return result;
}

std::vector<ClaimResult> PostgresStore::claim(std::span<const ClaimRequest> requests) {
  std::vector<ClaimResult> results(requests.size());
  // A key asked twice in one batch: the first request decides, the others are `taken`
  // (or `too_early` with it), as if they had come one after the other.
  std::map<KeyTuple, std::size_t> first;
  std::vector<const ClaimRequest*> batch;
  std::vector<ClaimResult*> batch_out;
  std::vector<std::size_t> replacing, duplicates, after;
  // A statement does not see its own inserts: a second `forbid` occurrence of the same job
  // must be claimed after the first, in a statement of its own (catch-up batches).
  std::set<std::pair<std::string_view, std::string_view>> forbid_seen;
  for (std::size_t i = 0; i < requests.size(); ++i) {
    const ClaimRequest& r = requests[i];
    if (!first.emplace(tie_key(r.key), i).second) {
      duplicates.push_back(i);
    } else if (r.overlap == OverlapMode::replace) {
      replacing.push_back(i);
    } else if (r.overlap == OverlapMode::forbid &&
               !forbid_seen.emplace(r.key.job, r.key.node).second) {
      after.push_back(i);
    } else {
      batch.push_back(&requests[i]);
      batch_out.push_back(&results[i]);
    }
  }
  std::lock_guard lock(mutex_);
  if (!batch.empty())
    retrying([&] {
      claim_batch(batch, batch_out);
      return 0;
    });
  for (std::size_t i : after) {
    const ClaimRequest* in = &requests[i];
    ClaimResult* out = &results[i];
    retrying([&] {
      claim_batch(std::span(&in, 1), std::span(&out, 1));
      return 0;
    });
  }
  for (std::size_t i : replacing) {
    results[i] = retrying([&] { return claim_replacing(requests[i]); });
  }
  for (std::size_t i : duplicates) {
    const ClaimResult& decided = results[first.at(tie_key(requests[i].key))];
    results[i].store_now = decided.store_now;
    // Refused for the claimant or the instant: so is the repeat. Otherwise it is taken.
    const bool refused = decided.outcome == ClaimResult::Outcome::too_early ||
                         decided.outcome == ClaimResult::Outcome::no_lease;
    results[i].outcome = refused ? decided.outcome : ClaimResult::Outcome::taken;
  }
  return results;
}

}  // namespace solocron::detail
