#!/usr/bin/env bash
# Metrics through a real Prometheus: a node's /metrics passes `promtool check metrics` and has
# every family the docs promise (HELP and TYPE each); a Prometheus server on loopback scrapes
# the node (honor_labels, as docs/operations.md says), loads the shipped alert rules, answers a
# query for a job's runs, and raises SolocronJobFailing for the job that fails.
source "$(dirname "$0")/lib.sh"
STORE="sqlite:$WORK/state.db"
write_config "$WORK/config.yaml" "  - name: ok
    schedule: \"* * * * * *\"
    command: [\"true\"]
  - name: broken
    schedule: \"* * * * * *\"
    command: [\"/bin/sh\", \"-c\", \"exit 3\"]"
NODE_ARGS[a]="--http 127.0.0.1:0"
start_node a
port=$(http_port a)
metrics() { curl -s --max-time 2 "http://127.0.0.1:$port/metrics"; }
has_runs() { metrics | grep -q 'solocron_runs_total{job="broken",state="failed"}'; }
wait_until 20 has_runs || fail "no runs in /metrics"
metrics >"$WORK/metrics.txt"
promtool check metrics <"$WORK/metrics.txt" >"$WORK/promtool.out" 2>&1 || fail "promtool check metrics: $(cat "$WORK/promtool.out")"
python3 - "$WORK/metrics.txt" <<'PY' || fail "families missing from /metrics"
import re, sys
text = open(sys.argv[1]).read()
helps = set(re.findall(r"^# HELP (\S+) ", text, re.M))
types = dict(re.findall(r"^# TYPE (\S+) (\S+)", text, re.M))
want = {"solocron_runs_total": "counter", "solocron_run_duration_seconds": "histogram",
        "solocron_fire_lateness_seconds": "histogram", "solocron_last_success_timestamp_seconds": "gauge",
        "solocron_missed_total": "counter", "solocron_claims_total": "counter",
        "solocron_store_call_duration_seconds": "histogram", "solocron_node_ready": "gauge",
        "solocron_lease_renewals_total": "counter", "solocron_config_errors": "gauge",
        "solocron_build_info": "gauge", "solocron_job_interval_seconds": "gauge",
        "solocron_job_definition_info": "gauge"}
for name, kind in want.items():
    assert name in helps and types.get(name) == kind, (name, types.get(name))
for name in types:
    assert name in helps, f"{name} has no HELP"
for line in ('solocron_claims_total{outcome="won"}', 'solocron_lease_renewals_total{result="renewed"}',
             'solocron_store_call_duration_seconds_count{op="claim"}', 'solocron_node_ready 1',
             'solocron_job_interval_seconds{job="ok"} 1', 'solocron_last_success_timestamp_seconds{job="ok"}'):
    assert line in text, line
print(f"{len(types)} families, each with HELP and TYPE")
PY

prom_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat >"$WORK/prometheus.yml" <<EOF2
global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files:
  - $ROOT/deploy/prometheus/solocron-alerts.yaml
scrape_configs:
  - job_name: solocron
    honor_labels: true
    static_configs:
      - targets: ["127.0.0.1:$port"]
EOF2
prometheus --config.file="$WORK/prometheus.yml" --storage.tsdb.path="$WORK/prom" \
  --web.listen-address="127.0.0.1:$prom_port" >"$WORK/prometheus.log" 2>&1 &
prom_pid=$!
HELPER_PIDS+=("$prom_pid")
query() { curl -s --max-time 2 "http://127.0.0.1:$prom_port/api/v1/query" --data-urlencode "query=$1"; }
value_of() { query "$1" | python3 -c 'import json,sys; r = json.load(sys.stdin)["data"]["result"]; print(r[0]["value"][1] if r else 0)' 2>/dev/null || echo 0; }
scraped() { python3 -c "import sys; sys.exit(0 if float('$(value_of 'solocron_runs_total{job="ok",state="succeeded"}')') > 0 else 1)"; }
wait_until 30 scraped || fail "Prometheus has no runs of ok: $(query 'solocron_runs_total'); $(tail -5 "$WORK/prometheus.log")"
alerting() { query 'ALERTS{alertname="SolocronJobFailing",job="broken"}' | grep -q '"job":"broken"'; }
wait_until 30 alerting || fail "SolocronJobFailing was not raised for broken: $(query 'ALERTS')"
query 'ALERTS{alertname="SolocronJobFailing"}' | grep -q '"job":"ok"' && fail "SolocronJobFailing raised for ok"
log "Prometheus scraped the node: ok ran $(value_of 'solocron_runs_total{job="ok",state="succeeded"}') times; SolocronJobFailing raised for broken only"
kill -TERM "$prom_pid"
wait "$prom_pid" 2>/dev/null || true
stop_node a
log "PASS"
