#!/usr/bin/env python3
"""Checks a job's history for "each second exactly once" (tests/deploy/test_kube_play.sh).

    solocron history JOB --json --limit N --store URL | count_ticks.py SINCE UNTIL

Every second from the first recorded tick to the last is recorded once: `succeeded`, or `missed`
with its reason. A duplicate, a gap, any other state (`lost` and `interrupted` among them: a
drain that was cut short) fails. The covered span must reach from before SINCE to after UNTIL
(RFC 3339 instants: the replica's deletion and its recreation). Prints counts by state and node.
"""
import collections
import datetime
import json
import sys


def instant(text):
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))


def main():
    since, until = (instant(t) for t in sys.argv[1:3])
    records = json.load(sys.stdin)
    errors = []
    by_tick = collections.defaultdict(list)
    for r in records:
        by_tick[instant(r["scheduled_at"])].append(r)
    ticks = sorted(by_tick)
    if not ticks:
        sys.exit("FAIL: no records")
    first, last = ticks[0], ticks[-1]
    second = datetime.timedelta(seconds=1)
    t = first
    while t <= last:
        found = by_tick.get(t, [])
        if not found:
            errors.append(f"{t:%H:%M:%S}: no record")
        elif len(found) > 1:
            errors.append(f"{t:%H:%M:%S}: {len(found)} records: " + ", ".join(f"{r['state']} on {r['node']}" for r in found))
        t += second
    for r in records:
        ok = r["state"] == "succeeded" or (r["state"] == "missed" and r["message"])
        if not ok:
            errors.append(f"{r['scheduled_at']}: {r['state']} on {r['node']}: {r['message']}")
    if not (first < since and last > until):
        errors.append(f"ticks {first:%H:%M:%S}..{last:%H:%M:%S} do not span the replica's deletion "
                      f"and recreation ({since:%H:%M:%S}..{until:%H:%M:%S})")
    counts = collections.Counter((r["state"], r["node"]) for r in records)
    print(f"ticks {first:%H:%M:%S}..{last:%H:%M:%S} UTC: {len(ticks)} seconds, {len(records)} records")
    for (state, node), n in sorted(counts.items()):
        print(f"  {state:10} {node}: {n}")
    for e in errors:
        print("FAIL:", e)
    sys.exit(1 if errors else 0)


if __name__ == "__main__":
    main()
