"""Checks the history a containerised node left on its volume (used by test_image.sh).

Usage: check_history.py HISTORY_JSON NODE_LOG TICK_OUTPUT JOB...
For each JOB, every second from its first recorded tick to its last has exactly one record, succeeded, and
as many records as the node logged `finished` lines for that job; tick's output is TICK_OUTPUT
(the image's `solocron --version`). Prints the counts; exits 1 with the reason otherwise.
"""
import collections
import datetime
import json
import re
import sys


def seconds(stamp):
    return int(datetime.datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp())


def stamps(instants):
    return [datetime.datetime.fromtimestamp(t, datetime.timezone.utc).isoformat() for t in instants]


def check_job(job, records, logged, tick_output):
    instants = collections.Counter(seconds(r["scheduled_at"]) for r in records)
    twice = sorted(t for t, n in instants.items() if n > 1)
    if twice:
        return f"{job}: ticks recorded more than once: {stamps(twice)}"
    missing = sorted(set(range(min(instants), max(instants) + 1)) - set(instants))
    if missing:
        return f"{job}: ticks without a record between the first and the last: {stamps(missing)}"
    bad = [r for r in records if r["state"] != "succeeded"]
    if bad:
        return f"{job}: runs that did not succeed: {bad}"
    if len(records) != logged:
        return f"{job}: {len(records)} records in the store but {logged} 'finished' lines in the log"
    if job == "tick":
        outputs = {r["output_tail"] for r in records}
        if outputs != {tick_output + "\n"}:
            return f"tick printed {outputs}, expected {tick_output!r}"
    return None


def main():
    history_path, log_path, tick_output, *jobs = sys.argv[1:]
    with open(history_path) as f:
        history = json.load(f)
    with open(log_path) as f:
        log = f.read()
    by_job = collections.defaultdict(list)
    for record in history:
        by_job[record["job"]].append(record)
    for job in jobs:
        if not by_job[job]:
            sys.exit(f"FAIL: no record of {job} in the history")
        logged = len(re.findall(rf" finished {job}@", log))
        if error := check_job(job, by_job[job], logged, tick_output):
            sys.exit("FAIL: " + error)
        print(f"{job}: {len(by_job[job])} ticks, each recorded once, all succeeded")


if __name__ == "__main__":
    main()
