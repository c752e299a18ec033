// The claimer's once-per-heartbeat sweep (cluster contract sections 5, 6, 11): runs whose
// holder's lease is gone, re-claims, runs of this node the store no longer counts as its own,
// catch-up, retention. Every decision is checked again by the store's guards (a lost mark only
// for a holder that is not live, a re-claim only against the fence it was decided on), so a
// sweep on stale information can be refused, never wrong.
#include <algorithm>
#include <set>

#include "scheduler/claimer.hpp"
#include "scheduler/job_publish.hpp"
#include "scheduler/retry_policy.hpp"

namespace solocron::detail {

using namespace std::chrono_literals;

namespace {

// Lost at_least_once occurrences are re-claimed within their starting_deadline, or, for jobs
// without one, within this window (an occurrence lost a day ago is history, not work).
constexpr auto kReclaimWindow = std::chrono::hours(24);
constexpr std::size_t kMaxReclaimsPerSweep = 1000;
constexpr std::size_t kPrunesPerSweep = 64;
// A run asked for is taken within this long of the request (or its job's starting_deadline,
// after which it is recorded missed): a request for a job no live node has is not kept as work.
constexpr auto kRequestWindow = std::chrono::hours(1);
// A backfill is carried out within this long of being asked; after it, what is left of it is
// dropped (its job is gone from every live node, or paused all along).
constexpr auto kBackfillWindow = std::chrono::hours(24);
// Failed runs are looked for this long after their backoff ends: a retry that no live node
// could take meanwhile (all down, or none with the job) is not made later.
constexpr auto kRetrySlack = std::chrono::minutes(5);
// A resume heard of later than this (a node started after it) goes on from now.
constexpr auto kResumeLookBack = std::chrono::seconds(10);
// Retention takes the store's locks (PostgreSQL makes concurrent claims wait while it deletes),
// so it stays out of the way of claiming: a job is pruned once its history grew by a tenth of
// history_keep_last, or a minute after it first grew.
constexpr auto kPruneInterval = std::chrono::seconds(60);

bool within(const JobDef& def, std::chrono::sys_seconds at, Clock::wall_time now) {
  const auto d = def.starting_deadline();
  return !d || now - Clock::wall_time(at) <= *d;
}

bool reclaims_lost(const JobDef& def) {
  return def.delivery == Delivery::at_least_once && def.run_on == RunOn::once;
}

}  // namespace

// The store's pause states (`solocron pause` / `resume`) win over the configuration's: applied
// at each sweep, so within a heartbeat on every node (the store refuses claims of a paused
// job's ticks meanwhile). A resumed job goes on from the pause's end, or from a little while
// ago when this node hears of an old resume (it started later): ticks just after a resume
// still run, an old span is not run as a storm.
void Claimer::apply_controls() {
  if (jobs_.size() == 0) return;
  bool jobs_changed;  // seeds are looked for only then: the scan walks every job
  {
    std::lock_guard g(mu_);
    jobs_changed = publish_due_;
  }
  std::vector<JobControl> controls;
  try {
    if (jobs_changed) {
      if (auto seed = jobs_.configured_paused(); !seed.empty()) store_.seed_paused(seed);
    }
    controls = store_.job_controls();
  } catch (const std::exception& ex) {
    events_.store_error("pause states", ex);
    return;
  }
  const std::int64_t now_s = std::chrono::floor<std::chrono::seconds>(cluster_clock_.now())
                                 .time_since_epoch()
                                 .count();
  bool changed = false;
  for (const JobControl& c : controls) {
    std::int64_t from_s = now_s;
    if (!c.paused && c.resumed_at) {
      from_s = std::max(c.resumed_at->time_since_epoch().count(),
                        now_s - kResumeLookBack.count());
    }
    changed = jobs_.apply_control(c.job, c.paused, from_s) || changed;
  }
  if (changed) {
    std::lock_guard g(mu_);
    publish_due_ = true;
  }
}

// Runs asked for (`solocron trigger`) go through dispatch like due occurrences: the
// starting_deadline applies, the claim decides which node runs them and the overlap policy
// whether they run. A node that does not have the job leaves its requests alone.
void Claimer::take_requests() {
  if (jobs_.size() == 0) return;
  const auto now = cluster_clock_.now();
  std::vector<RunRequest> pending;
  try {
    pending = store_.pending_requests(
        node_id_, std::chrono::floor<std::chrono::seconds>(now - kRequestWindow));
  } catch (const std::exception& ex) {
    events_.store_error("requests", ex);
    return;
  }
  std::vector<Occurrence> occs;
  std::set<std::int64_t> still;
  for (const RunRequest& r : pending) {
    still.insert(r.id);
    if (requests_taken_.count(r.id)) continue;  // handed on already, its claim not yet stored
    auto def = jobs_.def_of(r.job);
    if (!def || !def->store_backed()) continue;
    occs.push_back(Occurrence{std::move(def), r.at, false, false, r.id});
    requests_taken_.insert(r.id);
  }
  std::erase_if(requests_taken_, [&](std::int64_t id) { return !still.count(id); });
  if (!occs.empty()) redecide_(std::move(occs), now);
}

// Backfills (`solocron backfill`): per job, the oldest instant still to run, one at a time (none
// while one of the job's instants is active: a backfill never runs as a storm, nor out of
// order). The claim takes over the instant's `missed` record or inserts one; of all nodes and
// of backfills given twice, one claim wins.
void Claimer::take_backfills() {
  if (jobs_.size() == 0) return;
  const auto now = cluster_clock_.now();
  std::vector<BackfillItem> items;
  try {
    items = store_.pending_backfill(std::chrono::floor<std::chrono::milliseconds>(now - kBackfillWindow));
  } catch (const std::exception& ex) {
    events_.store_error("backfills", ex);
    return;
  }
  std::set<std::pair<std::string, std::chrono::sys_seconds>> still;
  std::vector<Occurrence> occs;
  for (std::size_t i = 0; i < items.size();) {
    std::size_t end = i;
    while (end < items.size() && items[end].job == items[i].job) ++end;  // by job, then instant
    bool busy = false;
    const BackfillItem* next = nullptr;
    for (std::size_t k = i; k < end; ++k) {
      still.emplace(items[k].job, items[k].at);
      busy = busy || (items[k].state && is_active(*items[k].state)) ||
             backfills_taken_.count({items[k].job, items[k].at});
      if (!next && (!items[k].state || *items[k].state == RunState::missed)) next = &items[k];
    }
    const std::string& job = items[i].job;
    i = end;
    if (busy || !next) continue;
    auto def = jobs_.unpaused_def(job);  // paused: the store refuses its ticks; later
    if (!def || !def->store_backed() || def->run_on != RunOn::once) continue;
    occs.push_back(Occurrence{std::move(def), next->at, false, false, 0, true});
    backfills_taken_.emplace(job, next->at);
  }
  std::erase_if(backfills_taken_, [&](const auto& k) { return !still.count(k); });
  if (!occs.empty()) submit(std::move(occs));
}

// Retries (the job's `retry`): any live node that has the job gives a failed or timed-out run
// its next attempt once the backoff is over; the store's compare-and-set on fence and attempt
// lets one node of all that try take it.
void Claimer::retry_failed() {
  if (retry_jobs_.empty()) return;
  const auto now = cluster_clock_.now();
  std::vector<RunRecord> failed;
  try {
    failed = store_.retry_candidates(
        retry_jobs_, std::chrono::floor<std::chrono::milliseconds>(now - retry_window_));
  } catch (const std::exception& ex) {
    events_.store_error("retries", ex);
    return;
  }
  const std::int64_t token = session_.view().token;
  std::vector<Reclaim> retries;
  for (const RunRecord& r : failed) {
    if (!r.key.node.empty() && r.key.node != node_id_) continue;  // every_node: each its own
    auto def = jobs_.unpaused_def(r.key.job);  // a paused job is not retried meanwhile
    if (!def || !retry_due(*def, r, now)) continue;
    retries.push_back({def, {r.key, r.fence, node_id_, token, r.attempt + 1}, Reclaim::Kind::retry,
                       Trigger::retry});
  }
  reclaim(std::move(retries));
}

void Claimer::sweep() {
  if (!session_.valid()) return;
  std::vector<Occurrence> again;
  bool catch_up_now;
  {
    std::lock_guard g(mu_);
    if (!claiming_) return;
    catch_up_now = catch_up_pending_;
    catch_up_pending_ = false;
    again.swap(retry_);
  }
  // Occurrences whose claim or record failed go through their misfire policy now (a failure
  // again puts them back). A catch-up pass covers them, with every other occurrence nobody
  // claimed: deciding them apart would let run_once run twice.
  if (catch_up_now) {
    if (!catch_up()) {
      std::lock_guard g(mu_);
      catch_up_pending_ = true;
    }
  } else if (!again.empty()) {
    redecide_(std::move(again), cluster_clock_.now());
  }
  apply_controls();
  publish_jobs();
  take_requests();
  take_backfills();
  try {
    const std::uint64_t seq = registry_.sequence();
    stop_replaced(store_.active_runs(node_id_), seq);
    take_over(store_.orphaned_runs());
    reclaim_lost();
    retry_failed();
    std::vector<std::string> live;
    for (const NodeLease& l : store_.nodes()) {
      if (l.live) live.push_back(l.node_id);
    }
    std::sort(live.begin(), live.end());
    std::lock_guard g(mu_);
    live_nodes_ = std::move(live);
  } catch (const std::exception& ex) {
    events_.store_error("sweep", ex);
  }
  miss_expired_waiting();
  prune_some();
}

// An occurrence waiting for a free slot is not claimed past its starting_deadline.
void Claimer::miss_expired_waiting() {
  const WallTime now = cluster_clock_.now();
  std::vector<Occurrence> expired;
  {
    std::lock_guard g(mu_);
    std::erase_if(waiting_, [&](Occurrence& o) {
      if (o.backfill || within(*o.def, o.at, now)) return false;
      expired.push_back(std::move(o));
      return true;
    });
  }
  if (!expired.empty()) {
    write_missed({std::move(expired), "no free slot (max_concurrent_runs) within its starting_deadline"});
  }
}

// Runs whose holder's lease is no longer live: an unstarted one (no running mark, and starts
// are gated on it) is taken over by this node if it has the job; a started one is lost, and
// re-claimed at once where the job is at_least_once.
void Claimer::take_over(const std::vector<RunRecord>& orphans) {
  const WallTime now = cluster_clock_.now();
  const std::int64_t token = session_.view().token;
  std::vector<StateUpdate> lost;
  std::vector<const RunRecord*> lost_records;
  std::vector<Reclaim> reclaims;
  for (const RunRecord& r : orphans) {
    // Still this node's own (a run from before it lost and re-registered its lease, whose
    // outcome it is about to write): its outcome, not a guess, goes on record.
    if (r.node == node_id_ && registry_.holds(r.fence)) continue;
    auto def = jobs_.def_of(r.key.job);
    if (r.state == RunState::claimed) {
      if (!def || !def->store_backed()) continue;  // left to a node that has the job
      if (r.key.node.empty() && within(*def, r.key.scheduled_at, now)) {
        reclaims.push_back({def, {r.key, r.fence, node_id_, token, r.attempt}, Reclaim::Kind::unstarted, r.trigger});
        continue;
      }
      lost.push_back({r.key, r.fence, RunState::lost, {}, {}, {},
                      "claimed by node " + r.node + ", whose lease expired before it started the run" +
                          (r.key.node.empty() ? "; past its starting_deadline" : "")});
    } else {
      lost.push_back({r.key, r.fence, RunState::lost, {}, {}, {},
                      "node " + r.node + "'s lease expired while it ran this"});
    }
    lost_records.push_back(&r);
  }
  if (!lost.empty()) {
    const std::vector<bool> applied = store_.update(lost);
    for (std::size_t i = 0; i < lost.size() && i < applied.size(); ++i) {
      if (!applied[i]) continue;
      const RunRecord& r = *lost_records[i];
      ++events_.counters.lost;
      RunEvent e = events_.make(RunEventKind::lost, r.key, r.fence, r.attempt);
      e.message = lost[i].message;
      events_.emit(e);
      auto def = jobs_.def_of(r.key.job);
      // This node's write recorded the loss: it tells (the job's hook, or the node's default).
      notifier_.notify(def ? def->hooks.get() : nullptr, HookEvent::failure,
                       {r.key, RunState::lost, r.fence, r.attempt, {}, {}, lost[i].message, {}, {}});
      if (def && reclaims_lost(*def) && r.state == RunState::running && within(*def, r.key.scheduled_at, now)) {
        reclaims.push_back({def, {r.key, r.fence, node_id_, token, r.attempt + 1}, Reclaim::Kind::lost, r.trigger});
      }
    }
  }
  reclaim(std::move(reclaims));
}

// at_least_once: any live node that has the job re-claims lost occurrences, also those
// another node marked lost and then could not re-claim (it died, or lacks the job).
void Claimer::reclaim_lost() {
  HistoryQuery q;
  q.states = {RunState::lost};
  q.limit = kMaxReclaimsPerSweep;
  const WallTime now = cluster_clock_.now();
  q.since = std::chrono::floor<std::chrono::seconds>(now - kReclaimWindow);
  const std::vector<RunRecord> lost = store_.history(q);
  const std::int64_t token = session_.view().token;
  std::vector<Reclaim> reclaims;
  for (const RunRecord& r : lost) {
    auto def = jobs_.def_of(r.key.job);
    if (!def || !reclaims_lost(*def) || !within(*def, r.key.scheduled_at, now)) continue;
    reclaims.push_back({def, {r.key, r.fence, node_id_, token, r.attempt + 1}, Reclaim::Kind::lost, r.trigger});
  }
  reclaim(std::move(reclaims));
}

void Claimer::reclaim(std::vector<Reclaim> requests) {
  if (requests.empty()) return;
  // Only what this node can start now; the rest stays for the next sweep, or another node.
  requests.resize(registry_.reserve(requests.size()));
  std::vector<ReclaimRequest> reqs;
  std::vector<RunPtr> runs;
  for (const Reclaim& r : requests) {
    runs.push_back(registry_.add_claiming(r.def, r.request.key, r.request.attempt, r.trigger));
    reqs.push_back(r.request);
  }
  std::vector<std::optional<RunRecord>> results;
  try {
    results = store_reclaims(requests);
  } catch (...) {
    for (const RunPtr& run : runs) registry_.abandon(*run);
    throw;
  }
  std::vector<RunPtr> won;
  for (std::size_t i = 0; i < runs.size(); ++i) {
    if (i >= results.size() || !results[i]) {
      registry_.abandon(*runs[i]);
      continue;
    }
    if (results[i]->fence > max_fence_) max_fence_ = results[i]->fence;
    registry_.claimed(*runs[i], results[i]->fence, reqs[i].lease_token);
    ++events_.counters.reclaimed;
    RunEvent e = events_.make(RunEventKind::reclaimed, runs[i]->key, results[i]->fence, reqs[i].attempt);
    switch (requests[i].kind) {
      case Reclaim::Kind::unstarted:
        e.message = "took over an occurrence whose node died before starting it";
        break;
      case Reclaim::Kind::lost:
        e.message = "re-claimed a lost occurrence (attempt " + std::to_string(reqs[i].attempt) + ")";
        break;
      case Reclaim::Kind::retry:
        e.message = "retrying: attempt " + std::to_string(reqs[i].attempt) + " of " +
                    std::to_string(requests[i].def->retry ? requests[i].def->retry->attempts : 0);
        break;
    }
    events_.emit(e);
    won.push_back(runs[i]);
  }
  mark_and_start(std::move(won));
}

// Retries go through Store::retry, the others through Store::reclaim; results in request order.
std::vector<std::optional<RunRecord>> Claimer::store_reclaims(const std::vector<Reclaim>& requests) {
  std::vector<ReclaimRequest> retries, others;
  for (const Reclaim& r : requests) (r.kind == Reclaim::Kind::retry ? retries : others).push_back(r.request);
  std::vector<std::optional<RunRecord>> retried, reclaimed, out;
  if (!retries.empty()) retried = store_.retry(retries);
  if (!others.empty()) reclaimed = store_.reclaim(others);
  std::size_t a = 0, b = 0;
  for (const Reclaim& r : requests) {
    auto& from = r.kind == Reclaim::Kind::retry ? retried : reclaimed;
    std::size_t& i = r.kind == Reclaim::Kind::retry ? a : b;
    out.push_back(i < from.size() ? std::move(from[i]) : std::nullopt);
    ++i;
  }
  return out;
}

// A run of this node that the store no longer counts as active under its fence was replaced
// (overlap: replace claimed by another node) or declared lost: it must stop.
void Claimer::stop_replaced(const std::vector<RunRecord>& active, std::uint64_t seq) {
  std::set<std::pair<std::int64_t, std::string>> mine;
  for (const RunRecord& r : active) mine.emplace(r.fence, r.key.job);
  std::vector<RunPtr> gone;
  for (const RunPtr& run : registry_.marked_before(seq)) {
    if (!mine.count({run->fence, run->key.job})) gone.push_back(run);
  }
  if (gone.empty()) return;
  auto stops = registry_.stop_if(
      [&](const Run& r) {
        return std::any_of(gone.begin(), gone.end(), [&](const RunPtr& g) { return g->id == r.id; });
      },
      StopReason::replaced);
  executor_.signal(stops);
  events_.counters.replaced += stops.size();
  for (const RunPtr& run : stops) {
    RunEvent e = events_.make(RunEventKind::replaced, run->key, run->fence, run->attempt);
    e.message = "no longer active in the store (replaced or declared lost); stopping it";
    events_.emit(e);
  }
}

void Claimer::prune_some() {
  std::vector<std::string> jobs;
  {
    std::lock_guard g(mu_);
    if (!pending_.empty() || !waiting_.empty()) return;  // claims first
    const SteadyTime now = clock_.steady_now();
    const std::size_t enough = std::max<std::size_t>(1, settings_.history_keep_last / 10);
    for (auto it = prune_dirty_.begin(); it != prune_dirty_.end() && jobs.size() < kPrunesPerSweep;) {
      if (it->second.records < enough && now - it->second.since < kPruneInterval) {
        ++it;
        continue;
      }
      jobs.push_back(it->first);
      it = prune_dirty_.erase(it);
    }
  }
  for (const std::string& job : jobs) {
    try {
      store_.prune(job, settings_.history_keep_last, settings_.history_max_age);
    } catch (const std::exception& ex) {
      events_.store_error("prune " + job, ex);
      return;
    }
  }
}

// The cluster's job set: this node's definitions, under its current lease, whenever they or
// the lease changed. A failure leaves it due for the next sweep.
void Claimer::publish_jobs() {
  {
    std::lock_guard g(mu_);
    if (!publish_due_) return;
    publish_due_ = false;
  }
  const std::int64_t token = session_.view().token;
  std::vector<PublishedJob> set;
  std::uint64_t digest = static_cast<std::uint64_t>(token);
  retry_jobs_.clear();
  retry_window_ = std::chrono::milliseconds(0);
  for (const JobInfo& info : jobs_.list()) {
    if (info.spec.retry.attempts > 1) {
      retry_jobs_.push_back(info.spec.name);
      retry_window_ = std::max<std::chrono::milliseconds>(
          retry_window_, longest_retry_wait(info.spec.retry) + kRetrySlack);
    }
    set.push_back(published_job(info.spec, info.paused));
    digest = stable_hash(std::to_string(digest) + set.back().job + set.back().fingerprint);
  }
  if (digest == published_digest_) return;
  bool published = false;
  try {
    published = store_.publish_jobs(node_id_, token, set);
  } catch (const std::exception& e) {
    events_.store_error("publish the job set", e);
  }
  std::lock_guard g(mu_);
  if (published) {
    published_digest_ = digest;
  } else {
    publish_due_ = true;
  }
}

}  // namespace solocron::detail
