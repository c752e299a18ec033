"""Chained get_next() through croniter, the loop bench_cron runs (see robfig_bench.go).

croniter puts seconds last, so a 6-field expression has its first field moved to the end."""
import statistics
import sys
import time
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from croniter import croniter

START = datetime(2026, 1, 1, tzinfo=timezone.utc)


def measure(expr, zone):
    it = croniter(expr, START.astimezone(ZoneInfo(zone)))

    def step(n):
        nonlocal it
        for _ in range(n):
            try:
                it.get_next(datetime)
            except Exception:  # past the end of the schedule: start over
                it = croniter(expr, START.astimezone(ZoneInfo(zone)))

    n = 100
    while True:
        b = time.perf_counter_ns()
        step(n)
        if time.perf_counter_ns() - b > 50e6:
            break
        n *= 2
    runs = []
    for _ in range(5):
        b = time.perf_counter_ns()
        step(n)
        runs.append((time.perf_counter_ns() - b) / n)
    return statistics.median(runs)


for line in sys.stdin:
    line = line.strip()
    if not line or line.startswith("#"):
        continue
    name, expr, zone = line.split("|")
    fields = expr.split()
    if len(fields) == 6:
        expr = " ".join(fields[1:] + fields[:1])
    try:
        croniter(expr, START).get_next(datetime)
        print(f"{name} {measure(expr, zone):.1f}")
    except Exception:
        print(f"{name} n/a")
