// Chained nextRun() through croner, the loop bench_cron runs (see robfig_bench.go).
// run.sh starts one node per case with TZ set to the case's zone and no `timezone` option:
// croner then works in the process's local time, its fastest path (its `timezone` option goes
// through Intl.DateTimeFormat on every step and is about 100 times slower).
import { Cron } from "croner";
import { readFileSync } from "node:fs";

const start = new Date(Date.UTC(2026, 0, 1));

function measure(job) {
  let t = start;
  const step = (n) => {
    for (let i = 0; i < n; i++) {
      t = job.nextRun(t);
      if (t === null) t = start;
    }
  };
  let n = 100;
  for (;;) {
    const b = process.hrtime.bigint();
    step(n);
    if (Number(process.hrtime.bigint() - b) > 50e6) break;
    n *= 2;
  }
  const runs = [];
  for (let r = 0; r < 7; r++) {
    const b = process.hrtime.bigint();
    step(n);
    runs.push(Number(process.hrtime.bigint() - b) / n);
  }
  runs.sort((a, b) => a - b);
  return runs[3];
}

for (const line of readFileSync(0, "utf8").split("\n")) {
  if (!line || line.startsWith("#")) continue;
  const [name, expr, zone] = line.split("|");
  let job;
  try {
    job = process.env.TZ === zone ? new Cron(expr, { paused: true }) : new Cron(expr, { timezone: zone, paused: true });
  } catch (e) {
    console.log(`${name} n/a`);
    continue;
  }
  console.log(`${name} ${measure(job).toFixed(1)}`);
}
