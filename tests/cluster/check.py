#!/usr/bin/env python3
"""Bookkeeping for the cluster scenarios: reads what the jobs themselves wrote and what the
store's history says, and fails with a precise message when the cluster contract is broken.

  check.py ticks  HISTORY.json TICKS_FILE JOB [--max-lost N] [--outage FROM TO] [--only-succeeded]
                  [--span FROM TO]
      every scheduled second of JOB between its first and last record (and, with --span, every
      second from FROM to TO, epoch seconds, whatever the records say) has exactly one history
      record; no record is `missed` (except inside the store outage FROM..TO, epoch seconds); at
      most N are `lost` (in-flight runs of a killed node); with --only-succeeded every record is
      `succeeded` (none interrupted, lost or missed);
      every succeeded record appears exactly once in TICKS_FILE (lines: SCHEDULED_AT NODE FENCE
      START_EPOCH) with the same node and fence; no SCHEDULED_AT appears twice in TICKS_FILE;
      fencing tokens increase with claim time.
  check.py not-early TICKS_FILE [--slack SECONDS]
      no run started (by the real clock) before its scheduled instant.
  check.py resumed NODE_LOG RESUME_EPOCH
      after RESUME_EPOCH the node started no run before it had re-acquired its lease.
  check.py stale HISTORY.json NODE_LOG SLOW_FILE NODE JOB
      an occurrence of JOB that NODE was running when it was paused is `lost` in the history and
      the node's late write about it was rejected by its fencing token.
  check.py runs HISTORY.json RUNS_FILE JOB [--min N]
      a long job's runs (RUNS_FILE lines: start|end SCHEDULED_AT NODE FENCE): at least N records,
      every record `succeeded`, every start has its end, no occurrence started twice, and the
      history's node and fence are those the job saw.
  check.py ready READY_FILE FROM TO [--not]
      every /readyz probe (lines: EPOCH STATUS) between FROM and TO (epoch seconds) answered 200
      (with --not: answered, and not 200).
  check.py once TICKS_FILE [--every] [--quiet-after EPOCH NODE...]
      no scheduled instant appears twice in the jobs' own output; with --every, every second
      between the first and the last appears; with --quiet-after, none of the NODEs started a
      run after EPOCH.
  check.py late TICKS_FILE NODE [--max SECONDS] [--min-runs N] [--from EPOCH --to EPOCH]
      how late NODE started its runs (the job's own start time minus the scheduled instant):
      printed as min/median/max; fails beyond --max or with fewer than --min-runs runs.
  check.py quiet HISTORY.json NODE FROM TO TICKS_FILE...
      NODE claimed nothing (history claimed_at, store clock) and started nothing (the jobs' own
      start times in the TICKS_FILEs) from FROM to TO (epoch seconds; e.g. from its lease's
      expiry in the store until it registered again).
  check.py covered HISTORY.json JOB FROM TO NODE
      every second of JOB from FROM to TO has a succeeded record by a node other than NODE.
  check.py attempts HISTORY.json RUNS_FILE JOB NODE...
      one occurrence of JOB ran once per NODE, in that order (RUNS_FILE lines: start|end
      SCHEDULED_AT NODE FENCE ATTEMPT): attempts 1, 2, ... with strictly increasing fences; only
      the last attempt ended; its history record is `succeeded` with that node, fence, attempt.
  check.py log NODE_LOG [--require EVENT[=COUNT]]... [--forbid EVENT]...
      the node's JSON log has each required event (at least once, or exactly COUNT times) and
      none of the forbidden ones.
"""
import json
import sys
from datetime import datetime, timezone


def die(msg):
    print("FAIL:", msg)
    sys.exit(1)


def epoch(rfc3339):
    return datetime.fromisoformat(rfc3339.replace("Z", "+00:00")).timestamp()


def load_history(path, job=None):
    with open(path) as f:
        records = json.load(f)
    return [r for r in records if job is None or r["job"] == job]


def load_log(path):
    events = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line.startswith("{"):
                try:
                    events.append(json.loads(line))
                except json.JSONDecodeError:
                    pass
    return events


def check_ticks(history_path, ticks_path, job, max_lost, outage=None, only_succeeded=False,
                span=None):
    records = load_history(history_path, job)
    if not records:
        die(f"no history for {job}")
    by_at = {}
    for r in records:
        if r["scheduled_at"] in by_at:
            die(f"two history records for {job} at {r['scheduled_at']}")
        by_at[r["scheduled_at"]] = r
    times = sorted(int(epoch(t)) for t in by_at)
    expected = set(range(times[0], times[-1] + 1))
    if span:
        expected |= set(range(int(span[0]), int(span[1]) + 1))
    gaps = sorted(expected - set(times))
    if gaps:
        stamps = [datetime.fromtimestamp(t, timezone.utc).isoformat() for t in gaps[:5]]
        die(f"{len(gaps)} scheduled seconds of {job} have no record at all, e.g. {stamps}")
    states = {}
    for r in records:
        states[r["state"]] = states.get(r["state"], 0) + 1
    print(f"{job}: {len(records)} occurrences, states {states}"
          + (f"; every second of the {int(span[1]) - int(span[0]) + 1}s span has one" if span else ""))
    # Missed is right only while no node could reach the store (an outage from..to, in epoch
    # seconds, with a second of slack each side for the nodes to notice).
    for r in records:
        if r["state"] != "missed":
            continue
        t = epoch(r["scheduled_at"])
        if outage is None or not (outage[0] - 1 <= t <= outage[1] + 1):
            die(f"{r['scheduled_at']} of {job} was missed while a node was alive and reached the store")
    if states.get("lost", 0) > max_lost:
        die(f"{states['lost']} occurrences lost, at most {max_lost} expected")
    if only_succeeded:
        other = [(r["scheduled_at"], r["state"], r["node"]) for r in records if r["state"] != "succeeded"]
        if other:
            die(f"{len(other)} occurrences of {job} did not succeed, e.g. {other[:5]}")
    bad = [r for r in records if r["state"] not in ("succeeded", "lost", "interrupted", "missed")]
    # The newest occurrence may still be running when the history is read.
    bad = [r for r in bad if int(epoch(r["scheduled_at"])) < times[-1] - 1]
    if bad:
        die(f"unexpected states: {[(r['scheduled_at'], r['state']) for r in bad[:5]]}")

    seen = {}
    with open(ticks_path) as f:
        for line in f:
            parts = line.split()
            if len(parts) < 3:
                continue
            at, node, fence = parts[0], parts[1], int(parts[2])
            if at in seen:
                die(f"{at} ran twice: on {seen[at][0]} and on {node}")
            seen[at] = (node, fence)
    for at, r in by_at.items():
        if r["state"] != "succeeded":
            continue
        if at not in seen:
            die(f"{at} is recorded succeeded but the job never wrote it")
        if seen[at] != (r["node"], r["fence"]):
            die(f"{at}: job saw {seen[at]}, history says {(r['node'], r['fence'])}")
    # skipped_overlap records are claimed without a fence (null in history --json).
    claimed = sorted((r for r in records if r["claimed_at"] and r["fence"] is not None),
                     key=lambda r: r["claimed_at"])
    for a, b in zip(claimed, claimed[1:]):
        if a["attempt"] == 1 and b["attempt"] == 1 and b["claimed_at"] > a["claimed_at"] \
                and b["fence"] <= a["fence"]:
            die(f"fence went backwards: {a['scheduled_at']}={a['fence']} then "
                f"{b['scheduled_at']}={b['fence']}")
    nodes = sorted({r["node"] for r in records if r["node"]})
    print(f"{job}: ran on nodes {nodes}; {len(seen)} distinct runs written by the jobs, none twice")


def check_not_early(ticks_path, slack):
    worst = None
    with open(ticks_path) as f:
        for line in f:
            parts = line.split()
            if len(parts) < 4:
                continue
            early = epoch(parts[0]) - float(parts[3])
            if worst is None or early > worst[0]:
                worst = (early, parts[0], parts[1])
    if worst is None:
        die("no runs recorded")
    if worst[0] > slack:
        die(f"{worst[1]} started {worst[0]:.3f}s early on {worst[2]}")
    print(f"no run started early (latest start relative to schedule: {-worst[0]:.3f}s late at best)")


def event_time(e):
    return epoch(e["ts"]) if isinstance(e.get("ts"), str) else float(e.get("ts", 0))


def check_resumed(log_path, resume_at):
    # Log times are cut to the millisecond: an event in the same millisecond as the resume
    # can print as slightly before it.
    events = [e for e in load_log(log_path) if event_time(e) >= resume_at - 0.001]
    reacquired = None
    for e in events:
        if e.get("event") == "lease_acquired" and reacquired is None:
            reacquired = event_time(e)
        if e.get("event") == "started" and reacquired is None:
            die(f"started {e.get('job')} {e.get('scheduled_at')} after resuming, before "
                "re-acquiring its lease")
    if reacquired is None:
        die("the paused node never re-acquired its lease after resuming")
    print(f"paused node re-registered {reacquired - resume_at:.2f}s after resuming and started "
          "nothing before")


def check_stale(history_path, log_path, slow_path, node, job):
    starts, ends = set(), set()
    with open(slow_path) as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 3 and parts[2] == node:
                (starts if parts[0] == "start" else ends).add(parts[1])
    records = {r["scheduled_at"]: r for r in load_history(history_path, job)}
    lost = [at for at in starts if records.get(at, {}).get("state") == "lost"
            and records[at]["node"] == node]
    if not lost:
        die(f"no occurrence of {job} run by {node} was recorded lost")
    rejected = [e for e in load_log(log_path)
                if e.get("event") == "stale_write" and e.get("scheduled_at") in lost]
    if not rejected:
        die(f"{node} never reported its late write for {lost} as rejected")
    print(f"{job} {lost} on {node}: recorded lost; the node's late write was rejected by its fence")


def check_runs(history_path, runs_path, job, minimum):
    records = load_history(history_path, job)
    if len(records) < minimum:
        die(f"{len(records)} records of {job}, at least {minimum} expected")
    starts, ends = {}, {}
    with open(runs_path) as f:
        for line in f:
            parts = line.split()
            if len(parts) < 4 or parts[0] not in ("start", "end"):
                continue
            side = starts if parts[0] == "start" else ends
            if parts[1] in side:
                die(f"{job} {parts[1]}: {parts[0]} written twice ({side[parts[1]]} and {parts[2:4]})")
            side[parts[1]] = (parts[2], int(parts[3]))
    states = {}
    for r in records:
        states[r["state"]] = states.get(r["state"], 0) + 1
    print(f"{job}: {len(records)} records, states {states}; {len(starts)} runs started, {len(ends)} ended")
    bad = [(r["scheduled_at"], r["state"], r["node"], r["message"]) for r in records if r["state"] != "succeeded"]
    if bad:
        die(f"{len(bad)} runs of {job} did not succeed, e.g. {bad[:3]}")
    for at, who in starts.items():
        if at not in ends:
            die(f"{job} {at} started on {who[0]} and never ended")
    for r in records:
        at = r["scheduled_at"]
        if at not in starts:
            die(f"{job} {at} is recorded succeeded but the job never started it")
        if starts[at] != (r["node"], r["fence"]):
            die(f"{job} {at}: job saw {starts[at]}, history says {(r['node'], r['fence'])}")
    nodes = sorted({r["node"] for r in records})
    print(f"{job}: every run succeeded and ended, none twice; ran on {nodes}")


def check_log(log_path, require, forbid):
    counts = {}
    for e in load_log(log_path):
        counts[e.get("event")] = counts.get(e.get("event"), 0) + 1
    said = []
    for spec in require:
        name, _, count = spec.partition("=")
        n = counts.get(name, 0)
        if count and n != int(count):
            die(f"{log_path}: {n} {name} events, {count} expected")
        if not count and n == 0:
            die(f"{log_path}: no {name} event")
        said.append(f"{name}={n}")
    for name in forbid:
        if counts.get(name, 0):
            die(f"{log_path}: {counts[name]} {name} events, none expected")
        said.append(f"{name}=0")
    print(f"{log_path.rsplit('/', 1)[-1]}: {', '.join(said)}")


def check_ready(ready_path, start, end, ready=True):
    probes = []
    with open(ready_path) as f:
        for line in f:
            parts = line.split()
            if len(parts) == 2 and start <= float(parts[0]) <= end:
                probes.append((float(parts[0]), parts[1]))
    if len(probes) < 5:
        die(f"only {len(probes)} /readyz probes between {start:.1f} and {end:.1f}")
    bad = [(round(t - start, 1), code) for t, code in probes
           if (code != "200" if ready else code in ("200", "0"))]
    name = ready_path.rsplit("/", 1)[-1]
    if bad:
        die(f"{name}: {len(bad)} of {len(probes)} /readyz probes were "
            f"{'not 200' if ready else '200 or unanswered'}, e.g. (s, status) {bad[:5]}")
    codes = sorted({code for _, code in probes})
    print(f"{name}: {len(probes)} /readyz probes over {end - start:.1f}s, all {codes}")


def check_once(ticks_path, quiet_after, quiet_nodes, every=False):
    seen, late = {}, []
    with open(ticks_path) as f:
        for line in f:
            parts = line.split()
            if len(parts) < 4:
                continue
            if parts[0] in seen:
                die(f"{parts[0]} ran twice: on {seen[parts[0]]} and on {parts[1]}")
            seen[parts[0]] = parts[1]
            if quiet_after is not None and parts[1] in quiet_nodes and float(parts[3]) > quiet_after:
                late.append((parts[0], parts[1], round(float(parts[3]) - quiet_after, 2)))
    if late:
        die(f"{len(late)} runs started on {quiet_nodes} after they should have stopped, e.g. "
            f"(scheduled, node, seconds after) {late[:5]}")
    if every:
        times = sorted(int(epoch(at)) for at in seen)
        gaps = sorted(set(range(times[0], times[-1] + 1)) - set(times))
        if gaps:
            stamps = [datetime.fromtimestamp(t, timezone.utc).isoformat() for t in gaps[:5]]
            die(f"{len(gaps)} seconds between the first and the last run never ran, e.g. {stamps}")
    by_node = {}
    for node in seen.values():
        by_node[node] = by_node.get(node, 0) + 1
    print(f"{len(seen)} runs in the jobs' output, none twice; per node {dict(sorted(by_node.items()))}"
          + (f"; none on {quiet_nodes} after the cut-off" if quiet_after is not None else ""))


def check_quiet(history_path, node, start, end, ticks_paths):
    mine = [r for r in load_history(history_path) if r["node"] == node and r["claimed_at"]]
    inside = [(r["job"], r["scheduled_at"], r["claimed_at"], r["state"]) for r in mine
              if start <= epoch(r["claimed_at"]) < end]
    if inside:
        die(f"{node} claimed {len(inside)} occurrences in the {end - start:.1f}s window, e.g. {inside[:3]}")
    started = []
    for path in ticks_paths:
        with open(path) as f:
            for line in f:
                parts = line.split()
                if len(parts) >= 4 and parts[1] == node and start <= float(parts[3]) < end:
                    started.append((path.rsplit("/", 1)[-1], parts[0], parts[3]))
    if started:
        die(f"{node} started {len(started)} runs in the {end - start:.1f}s window, e.g. {started[:3]}")
    before = sum(1 for r in mine if epoch(r["claimed_at"]) < start)
    after = sum(1 for r in mine if epoch(r["claimed_at"]) >= end)
    print(f"{node}: {before} claims before the window, none in its {end - start:.1f}s, {after} after; "
          "no run started in it")


def check_covered(history_path, job, start, end, node):
    by_at = {int(epoch(r["scheduled_at"])): r for r in load_history(history_path, job)}
    seconds = range(int(start), int(end) + 1)
    bad = [(t, by_at[t]["state"] if t in by_at else None, by_at[t]["node"] if t in by_at else None)
           for t in seconds
           if t not in by_at or by_at[t]["state"] != "succeeded" or by_at[t]["node"] == node]
    if bad:
        die(f"{len(bad)} of {len(seconds)} seconds of {job} were not run by another node than "
            f"{node}, e.g. (epoch, state, node) {bad[:5]}")
    nodes = sorted({by_at[t]["node"] for t in seconds})
    print(f"{job}: all {len(seconds)} seconds from {start:.0f} to {end:.0f} succeeded on {nodes}")


def check_late(ticks_path, node, max_late, min_runs, start, end):
    late = []
    with open(ticks_path) as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 4 and parts[1] == node and start <= epoch(parts[0]) <= end:
                late.append((float(parts[3]) - epoch(parts[0]), parts[0]))
    if len(late) < min_runs:
        die(f"{node} ran {len(late)} runs, at least {min_runs} expected")
    if not late:
        print(f"{node} ran no runs")
        return
    late.sort()
    median = late[len(late) // 2][0]
    print(f"{node}: {len(late)} runs started {late[0][0]:.3f}s / {median:.3f}s / {late[-1][0]:.3f}s "
          f"(min / median / max) after their scheduled instant")
    if max_late is not None and late[-1][0] > max_late:
        die(f"{node} started {late[-1][1]} {late[-1][0]:.3f}s late, more than {max_late}s")


def check_attempts(history_path, runs_path, job, nodes):
    starts, ends = [], []
    with open(runs_path) as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 5 and parts[0] in ("start", "end"):
                (starts if parts[0] == "start" else ends).append(
                    (parts[1], parts[2], int(parts[3]), int(parts[4])))
    said = [(n, f, a) for _, n, f, a in starts]
    print(f"{job}: attempts started (node, fence, attempt): {said}; ended: "
          f"{[(n, f, a) for _, n, f, a in ends]}")
    if len({at for at, *_ in starts}) != 1:
        die(f"expected one occurrence, saw {sorted({at for at, *_ in starts})}")
    if [n for _, n, _, _ in starts] != nodes:
        die(f"attempts ran on {[n for _, n, _, _ in starts]}, expected {nodes}")
    if [a for *_, a in starts] != list(range(1, len(nodes) + 1)):
        die(f"attempt numbers {[a for *_, a in starts]}, expected 1..{len(nodes)}")
    fences = [f for _, _, f, _ in starts]
    if any(b <= a for a, b in zip(fences, fences[1:])):
        die(f"fences do not increase from attempt to attempt: {fences}")
    if ends != starts[-1:]:
        die(f"only the last attempt {starts[-1][1:]} should have ended; ended: {ends}")
    at, node, fence, attempt = starts[-1]
    recs = [r for r in load_history(history_path, job) if r["scheduled_at"] == at]
    if len(recs) != 1:
        die(f"{len(recs)} history records for {job} {at}")
    r = recs[0]
    got = (r["state"], r["node"], r["fence"], r["attempt"])
    if got != ("succeeded", node, fence, attempt):
        die(f"{job} {at}: history says {got}, expected {('succeeded', node, fence, attempt)}")
    print(f"{job} {at}: history says succeeded on {node}, fence {fence}, attempt {attempt}")


def options(argv, flag):
    return [argv[i + 1] for i, a in enumerate(argv[:-1]) if a == flag]


def main(argv):
    cmd = argv[1]
    if cmd == "ticks":
        max_lost = int(argv[argv.index("--max-lost") + 1]) if "--max-lost" in argv else 0
        outage = None
        if "--outage" in argv:
            i = argv.index("--outage")
            outage = (float(argv[i + 1]), float(argv[i + 2]))
        span = None
        if "--span" in argv:
            i = argv.index("--span")
            span = (float(argv[i + 1]), float(argv[i + 2]))
        check_ticks(argv[2], argv[3], argv[4], max_lost, outage, "--only-succeeded" in argv, span)
    elif cmd == "not-early":
        slack = float(argv[argv.index("--slack") + 1]) if "--slack" in argv else 0.0
        check_not_early(argv[2], slack)
    elif cmd == "resumed":
        check_resumed(argv[2], float(argv[3]))
    elif cmd == "stale":
        check_stale(argv[2], argv[3], argv[4], argv[5], argv[6])
    elif cmd == "runs":
        minimum = int(argv[argv.index("--min") + 1]) if "--min" in argv else 1
        check_runs(argv[2], argv[3], argv[4], minimum)
    elif cmd == "ready":
        check_ready(argv[2], float(argv[3]), float(argv[4]), "--not" not in argv)
    elif cmd == "once":
        every = "--every" in argv
        if "--quiet-after" in argv:
            i = argv.index("--quiet-after")
            check_once(argv[2], float(argv[i + 1]), argv[i + 2:], every)
        else:
            check_once(argv[2], None, [], every)
    elif cmd == "late":
        opt = lambda flag, default: float(argv[argv.index(flag) + 1]) if flag in argv else default
        check_late(argv[2], argv[3], opt("--max", None), int(opt("--min-runs", 0)),
                   opt("--from", 0.0), opt("--to", float("inf")))
    elif cmd == "quiet":
        check_quiet(argv[2], argv[3], float(argv[4]), float(argv[5]), argv[6:])
    elif cmd == "covered":
        check_covered(argv[2], argv[3], float(argv[4]), float(argv[5]), argv[6])
    elif cmd == "attempts":
        check_attempts(argv[2], argv[3], argv[4], argv[5:])
    elif cmd == "log":
        check_log(argv[2], options(argv, "--require"), options(argv, "--forbid"))
    else:
        die(f"unknown check {cmd}")


if __name__ == "__main__":
    main(sys.argv)
