# The HTTP action with three nodes (sourced by test_*_http_action.sh after lib.sh and STORE=):
# solocron as a sidecar calling its application. A plain and an https endpoint (a self-signed
# certificate trusted through ca_file) are each called once per second of their schedule, by
# one node, with the run's headers; a 500 answer is a failed run with the status as exit code
# and the (binary) body's end as output; a request the job's timeout cuts is `timed_out`. A password in the URL stays out of every log.
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 \
  -addext subjectAltName=IP:127.0.0.1 -keyout "$WORK/key.pem" -out "$WORK/cert.pem" >/dev/null 2>&1 \
  || fail "openssl could not make a test certificate"
mkdir -p "$WORK/sink"
python3 "$ROOT/tests/cluster/http_sink.py" "$WORK/http.port" "$WORK/sink" &
HELPER_PIDS+=($!)
python3 "$ROOT/tests/cluster/http_sink.py" "$WORK/https.port" "$WORK/sink" --tls "$WORK/cert.pem" "$WORK/key.pem" &
HELPER_PIDS+=($!)
wait_until 20 test -s "$WORK/http.port" -a -s "$WORK/https.port" || fail "the test servers did not start"
HTTP=$(cat "$WORK/http.port")
HTTPS=$(cat "$WORK/https.port")
log "application on 127.0.0.1:$HTTP (http) and :$HTTPS (https)"

jobs="  - name: tick
    schedule: \"* * * * * *\"
    http: {url: \"http://app:hunter2@127.0.0.1:$HTTP/tick\", headers: {X-Token: \"\${SINK_TOKEN}\"}}
  - name: secure
    schedule: \"* * * * * *\"
    http: {url: \"https://127.0.0.1:$HTTPS/secure\", method: PUT, ca_file: \"$WORK/cert.pem\"}
  - name: broken
    schedule: \"*/2 * * * * *\"
    http: {url: \"http://127.0.0.1:$HTTP/fail/broken\", method: GET}
  - name: slow
    schedule: \"*/3 * * * * *\"
    timeout: 1s
    http: {url: \"http://127.0.0.1:$HTTP/slow/slow\"}"
write_config "$WORK/config.yaml" "$jobs"
for n in a b c; do start_node "$n" SINK_TOKEN=tok-sink-secret; done
wait_until 30 test -s "$WORK/sink/secure.ticks" || fail "no https call arrived"
sleep 10
stop_nodes a b c
history_json >"$WORK/history.json"

check ticks "$WORK/history.json" "$WORK/sink/tick.ticks" tick --max-lost 0 --only-succeeded
check ticks "$WORK/history.json" "$WORK/sink/secure.ticks" secure --max-lost 0 --only-succeeded
check once "$WORK/sink/fail_broken.ticks"
python3 - "$WORK/history.json" "$WORK/sink" <<'PY' || fail "the http records are not what the application answered"
import json, sys
records = json.load(open(sys.argv[1]))
def of(job): return [r for r in records if r["job"] == job]
broken = of("broken")
assert len(broken) >= 4, f"only {len(broken)} records of broken"
for r in broken:
    assert r["state"] == "failed" and r["exit_code"] == 500, r
    assert r["output_tail"] == "boom \ufffd\ufffd\u2400 end", repr(r["output_tail"])
    assert "500" in r["message"], r
for r in of("tick"):
    assert r["exit_code"] == 200 and r["output_tail"] == "ok \ufffd(\n", r
slow = of("slow")
assert len(slow) >= 2, f"only {len(slow)} records of slow"
for r in slow:
    assert r["state"] == "timed_out" and r["exit_code"] is None, r
methods = {line.split()[4] for line in open(sys.argv[2] + "/secure.ticks")}
assert methods == {"PUT"}, methods
print(f"broken: {len(broken)} failed records with status 500 and the body's end; "
      f"slow: {len(slow)} timed_out; tick/secure as answered")
PY
if grep -l -e hunter2 -e tok-sink-secret "$WORK"/*.log; then fail "a secret of the http action reached a log"; fi
log "PASS"
