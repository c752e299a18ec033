// Claimer: every store call about occurrences, on a thread of its own (cluster contract
// sections 1, 3, 5, 6, 7, 11).
//
// The timer loop hands it due occurrences; it claims them in batches under the node's lease
// (staggered by rendezvous rank, so load spreads instead of going to the fastest node), only
// as many as the registry has free slots for (a busy node leaves the rest to idle ones and
// keeps them waiting, never past their starting_deadline); a claim with a free slot is stored
// as the run's `running` mark (one round trip), and a run starts only once its mark is
// stored. So an occurrence whose node died before its mark was stored is certainly unstarted,
// and another node takes it over.
//
// Once per heartbeat it sweeps (sweep.cpp): it finds runs whose holder's lease is gone (lost,
// or taken over when never started), re-claims lost at_least_once runs of jobs it has, stops
// its own runs that the store no longer considers its own, takes the runs asked for
// (`solocron trigger`) and the backfills (`solocron backfill`) of jobs it has, retries failed
// runs (the job's `retry`), catches up after a (re-)registration (catch_up.cpp), and applies
// retention.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "scheduler/cluster_clock.hpp"
#include "scheduler/events.hpp"
#include "scheduler/executor.hpp"
#include "scheduler/job_table.hpp"
#include "scheduler/node_session.hpp"
#include "scheduler/run_registry.hpp"
#include "scheduler/state_writer.hpp"
#include "solocron/node.hpp"
#include "solocron/store.hpp"

namespace solocron::detail {

// Hashes that every node and build computes alike (rendezvous, jitter, job fingerprints).
std::uint64_t stable_hash(std::string_view text);
std::uint64_t occurrence_hash(std::string_view job, std::chrono::sys_seconds at);

// Rendezvous rank of `node` among `nodes` for an occurrence: 0 for the preferred node.
std::size_t rendezvous_rank(std::string_view job, std::chrono::sys_seconds at,
                            std::string_view node, const std::vector<std::string>& nodes);

// Misfire policy over one job's misfired occurrences (oldest first): which to run now and
// which to record missed. Occurrences older than the starting deadline are never run.
struct MisfireDecision {
  std::vector<std::chrono::sys_seconds> run;
  std::vector<std::chrono::sys_seconds> missed;
};
MisfireDecision decide_misfire(const JobDef& def,
                               const std::vector<std::chrono::sys_seconds>& occurrences,
                               Clock::wall_time now);

class Claimer {
 public:
  using WallTime = Clock::wall_time;
  using SteadyTime = Clock::steady_time;
  // The misfire policy for occurrences whose claim failed (store errors): run or recorded.
  using Redecide = std::function<void(std::vector<Occurrence>, WallTime now)>;

  Claimer(const NodeSettings& settings, std::string node_id, Store& store, Clock& clock,
          ClusterClock& cluster_clock, Events& events, JobTable& jobs, RunRegistry& registry,
          NodeSession& session, Executor& executor, StateWriter& writer, Notifier& notifier,
          Redecide redecide);
  ~Claimer();
  Claimer(const Claimer&) = delete;
  Claimer& operator=(const Claimer&) = delete;

  void start();
  void stop();  // joins the thread

  // --- from the timer loop (never blocks on the store) ---
  void submit(std::vector<Occurrence> occs);
  // Records `missed` for store-backed occurrences (and reports every one).
  void record_missed(std::vector<Occurrence> occs, std::string why);

  // --- from the node session ---
  void lease_acquired();   // claim again, and catch up what nobody claimed meanwhile
  void fenced();           // stop claiming until the lease is back
  void heartbeat();        // sweep soon

  // Shutdown: stop claiming at once; occurrences not yet claimed are left to other nodes.
  void stop_claiming();
  // A slot freed: occurrences waiting for one may be claimed.
  void slots_freed();
  // A job was added, changed, paused or removed: publish this node's job set again.
  void jobs_changed();
  // A store-backed run ended (prune its job's history soon).
  void job_ran(const std::string& job);

  bool idle() const;
  std::size_t waiting() const;

 private:
  struct Pending {
    SteadyTime at;
    Occurrence occ;
  };
  struct MissedRequest {
    std::vector<Occurrence> occs;
    std::string why;
  };
  void main();
  bool has_work_locked(SteadyTime now) const;
  bool slots_settled_locked(SteadyTime now) const;
  void take_work_locked(SteadyTime now, std::vector<Occurrence>& claims,
                        std::vector<MissedRequest>& missed, bool& sweep);

  // claimer.cpp
  void claim(std::vector<Occurrence> occs);
  void claim_reserved(std::vector<Occurrence> occs);
  void drop_recorded_fallbacks(std::vector<Occurrence>& occs);
  void mark_and_start(std::vector<RunPtr> runs);
  void mark_stored(const RunPtr& run, const WriteResult& w);
  void not_claimed(const std::vector<Occurrence>& occs, const std::string& why);
  void retry_later(std::vector<Occurrence> occs);
  void defer(Occurrence occ, SteadyTime at);
  void write_missed(MissedRequest req);
  OccurrenceKey key_of(const Occurrence& o) const;

  // sweep.cpp
  void sweep();
  void take_over(const std::vector<RunRecord>& orphans);
  void reclaim_lost();
  struct Reclaim {
    enum class Kind {
      unstarted,  // taken over from a holder that never started it
      lost,       // at_least_once: a new attempt of a run whose node died
      retry,      // the job's retry policy: a new attempt of a failed or timed-out run
    };
    std::shared_ptr<const JobDef> def;
    ReclaimRequest request;
    Kind kind;
    Trigger trigger;  // of the new attempt
  };
  void reclaim(std::vector<Reclaim> requests);
  std::vector<std::optional<RunRecord>> store_reclaims(const std::vector<Reclaim>& requests);
  void stop_replaced(const std::vector<RunRecord>& active, std::uint64_t seq);
  void prune_some();
  void publish_jobs();
  void take_requests();
  void take_backfills();
  void retry_failed();
  void apply_controls();
  void miss_expired_waiting();

  // catch_up.cpp: false when the store failed (tried again at the next heartbeat).
  bool catch_up();
  std::set<std::pair<std::string, std::chrono::sys_seconds>> held_occurrences() const;

  const NodeSettings& settings_;
  const std::string node_id_;
  Store& store_;
  Clock& clock_;
  ClusterClock& cluster_clock_;
  Events& events_;
  JobTable& jobs_;
  RunRegistry& registry_;
  NodeSession& session_;
  Executor& executor_;
  StateWriter& writer_;
  Notifier& notifier_;
  Redecide redecide_;

  mutable std::mutex mu_;
  std::condition_variable_any cv_;
  // Not before their time (the rank stagger, too_early): batches, so that a burst of 10,000 is a
  // handful of entries.
  std::multimap<SteadyTime, std::vector<Occurrence>> pending_;
  std::deque<Occurrence> waiting_;  // due, waiting for a free slot, in the order they came due
  std::vector<MissedRequest> missed_;              // to record
  std::multimap<SteadyTime, MissedRequest> missed_later_;  // until no node may still claim them
  std::vector<Occurrence> retry_;  // claims or records that failed: decided again when healthy
  std::vector<std::string> live_nodes_;  // sorted
  // Requests handed on while the store still lists them pending (claimer thread only).
  std::set<std::int64_t> requests_taken_;
  // Backfill instants handed on, until the store lists them no more or their claim lost.
  std::set<std::pair<std::string, std::chrono::sys_seconds>> backfills_taken_;
  // Jobs with a retry policy, and how far back their failed runs may still be due a retry:
  // set with each publication of the job set (claimer thread only).
  std::vector<std::string> retry_jobs_;
  std::chrono::milliseconds retry_window_{0};
  // Jobs whose history grew since they were last pruned: by how many records, since when.
  struct Growth {
    std::size_t records = 0;
    SteadyTime since{};
  };
  std::unordered_map<std::string, Growth> prune_dirty_;
  bool claiming_ = false;
  bool catch_up_pending_ = false;
  bool publish_due_ = false;          // the job set changed, or the lease is new
  std::uint64_t published_digest_ = 0;  // of the set last published, with its lease token
  bool sweep_due_ = false;
  bool slots_freed_ = false;
  SteadyTime slots_freed_at_{};  // when slots_freed_ was first set since the last claim
  bool stop_ = false;
  bool started_ = false;
  bool busy_ = false;
  SteadyTime park_deadline_{};
  std::int64_t max_fence_ = 0;  // fences only grow: a lower one means the store went back
  std::thread thread_;
};

}  // namespace solocron::detail
