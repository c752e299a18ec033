#!/usr/bin/env python3
"""The HTTP API end to end, through the real binary (docs/api.md).

Four nodes share one SQLite store: bound to loopback or to every interface, with or without a
tokens file, so that every row of the authorisation table is asked. Every endpoint is called
with each status it documents; every response is checked against the OpenAPI document the node
serves, and every operation of that document must have been called. A fifth node on its own
PostgreSQL answers 503 while that server is halted, and recovers. Tokens never reach a log.

usage: api_test.py /path/to/solocron
"""
import copy
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

import jsonschema

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = sys.argv[1]
ALICE = "alice-operate-token-0123456789"   # operate
BOB = "bob-read-token-abcdefghijklmnop"    # read
CAROL = "carol-operate-token-after-hup-42"  # operate, added by a reload
BAD = "not-a-token-of-this-cluster-000"

JOBS = """
  - name: tick
    schedule: "* * * * * *"
    command: ["sh", "-c", "printf 'tick\\\\377\\\\n'"]
  - name: failing
    schedule: "*/2 * * * * *"
    command: ["sh", "-c", "echo '<script>alert(1)</script>'; exit 3"]
    retry: {attempts: 2, backoff: 1s}
  - name: nightly
    schedule: "30 2 * * *"
    time_zone: America/New_York
    command: ["true"]
  - name: mine
    schedule: "0 0 1 1 *"
    run_on: local
    command: ["true"]
  - name: everywhere
    schedule: "0 0 1 1 *"
    run_on: every_node
    command: ["true"]
"""

failures = []
procs = []
calls = []  # (method, path template, status, body) of every answer, for the OpenAPI check


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what, flush=True)


def write(path, text, mode=0o600):
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)


def start_node(work, name, http, tokens=None, store=None):
    cfg = os.path.join(work, name + ".yaml")
    node = "node:\n  heartbeat: 500ms\n  node_ttl: 3s\n"
    if tokens:
        node += "  api_tokens_file: %s\n" % tokens
    write(cfg, node + "jobs:" + JOBS)
    log = open(os.path.join(work, name + ".log"), "wb")
    p = subprocess.Popen([BIN, "run", "--config", cfg, "--store", store or "sqlite:" + os.path.join(work, "s.db"),
                          "--node-id", name, "--http", http], stdout=log, stderr=subprocess.STDOUT)
    procs.append(p)
    port = None
    for _ in range(200):
        m = re.search(r"on port ([0-9]+)", read(os.path.join(work, name + ".log")))
        if m:
            port = int(m.group(1))
            break
        time.sleep(0.05)
    if port is None:
        raise SystemExit("node %s did not serve: %s" % (name, read(os.path.join(work, name + ".log"))))
    return p, port


def read(path):
    with open(path, "rb") as f:
        return f.read().decode("utf-8", "replace")


def call(port, method, path, template, token=None, body=None, raw=None):
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    if method == "POST" and data is None:
        data = b"{}"
    req = urllib.request.Request("http://127.0.0.1:%d%s" % (port, path), data=data, method=method)
    if token:
        req.add_header("Authorization", "Bearer " + token)
    req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            status, text = r.status, r.read()
    except urllib.error.HTTPError as e:
        status, text = e.code, e.read()
    parsed = json.loads(text)
    calls.append((method, template, status, parsed))
    return status, parsed


def eventually(fn, limit=20):
    deadline = time.time() + limit
    while time.time() < deadline:
        v = fn()
        if v:
            return v
        time.sleep(0.2)
    return fn()


def inline_refs(node, doc):
    if isinstance(node, dict):
        if "$ref" in node:
            target = doc
            for part in node["$ref"].lstrip("#/").split("/"):
                target = target[part]
            return inline_refs(copy.deepcopy(target), doc)
        return {k: inline_refs(v, doc) for k, v in node.items()}
    if isinstance(node, list):
        return [inline_refs(v, doc) for v in node]
    return node


def check_openapi(doc):
    """Every answer matches its documented response; every documented operation was called."""
    called = set()
    for method, template, status, body in calls:
        op = doc["paths"].get(template, {}).get(method.lower())
        if op is None:
            check(False, "%s %s is not in the OpenAPI document" % (method, template))
            continue
        called.add((method.lower(), template))
        resp = op["responses"].get(str(status))
        if resp is None:
            check(False, "%s %s answered %d, which the document does not list: %s" % (method, template, status, body))
            continue
        schema = inline_refs(resp, doc)["content"]["application/json"]["schema"]
        errors = list(jsonschema.Draft202012Validator(schema).iter_errors(body))
        check(not errors, "%s %s %d does not match the document: %s" % (
            method, template, status, "; ".join(e.message[:200] + " at " + "/".join(map(str, e.path)) for e in errors[:3])))
    for template, ops in doc["paths"].items():
        for method in ops:
            check((method, template) in called, "%s %s is documented but no test called it" % (method.upper(), template))
    jsonschema.Draft202012Validator.check_schema(doc["components"]["schemas"]["JobDetail"])


def test_roles(a, b, c, d):
    """The authorisation table of docs/api.md, row by row."""
    J = "/api/v1/jobs"
    check(call(a, "GET", J, J)[0] == 200, "loopback, no token: read")
    check(call(a, "GET", J, J, BAD)[0] == 401, "loopback, bad token: 401")
    check(call(a, "GET", J, J, BOB)[0] == 200, "read token: read")
    check(call(a, "GET", J, J, ALICE)[0] == 200, "operate token: read")
    check(call(b, "GET", J, J)[0] == 401, "every interface, no token: 401")
    check(call(b, "GET", J, J, BOB)[0] == 200, "every interface, read token: read")
    check(call(d, "GET", J, J)[0] == 401, "every interface, no tokens file: nobody reads")
    check(call(c, "GET", J, J)[0] == 200, "loopback, no tokens file: read")
    T = "/api/v1/jobs/{name}/trigger"
    check(call(a, "POST", "/api/v1/jobs/tick/trigger", T)[0] == 401, "POST without token: 401")
    check(call(a, "POST", "/api/v1/jobs/tick/trigger", T, BAD)[0] == 401, "POST bad token: 401")
    status, body = call(a, "POST", "/api/v1/jobs/tick/trigger", T, BOB)
    check(status == 403 and body["error"]["code"] == "forbidden", "read token cannot trigger: %d" % status)
    check(call(c, "POST", "/api/v1/jobs/tick/trigger", T)[0] == 403, "no tokens file: POST 403")
    check(call(c, "POST", "/api/v1/jobs/tick/trigger", T, ALICE)[0] == 403, "no tokens file, any token: 403")


def test_reads(a):
    status, page = call(a, "GET", "/api/v1/jobs?limit=2&offset=1", "/api/v1/jobs")
    check(status == 200 and page["total"] == 5 and len(page["jobs"]) == 2 and page["offset"] == 1, "paging: %s" % page)
    status, page = call(a, "GET", "/api/v1/jobs?q=nigh", "/api/v1/jobs")
    nightly = page["jobs"][0] if page["jobs"] else {}
    check(page["total"] == 1 and nightly.get("job") == "nightly", "q filters by name")
    check(nightly.get("description", "").startswith("At 02:30") and nightly.get("next_in_zone", "").endswith(":30:00-05:00"),
          "plain English and the job's zone: %s" % nightly)
    check(call(a, "GET", "/api/v1/jobs?limit=0", "/api/v1/jobs")[0] == 400, "limit 0: 400")
    J = "/api/v1/jobs/{name}"
    status, job = call(a, "GET", "/api/v1/jobs/nightly", J)
    check(status == 200 and len(job["next_fires"]) == 5 and job["definitions"][0]["nodes"], "job detail: %s" % status)
    check(call(a, "GET", "/api/v1/jobs/nosuch", J)[0] == 404, "unknown job: 404")
    H = "/api/v1/jobs/{name}/history"
    eventually(lambda: len(call(a, "GET", "/api/v1/jobs/tick/history?limit=3", H)[1]["records"]) == 3)
    status, page = call(a, "GET", "/api/v1/jobs/tick/history?limit=2", H)
    check(status == 200 and len(page["records"]) == 2 and page["next_before"], "history page: %s" % page)
    status, older = call(a, "GET", "/api/v1/jobs/tick/history?limit=2&before=" + page["next_before"], H)
    check(status == 200 and older["records"] and older["records"][0]["scheduled_at"] < page["records"][-1]["scheduled_at"],
          "the next page is older: %s then %s" % (page, older))
    check(all(r["output_tail"] == "tick\ufffd\n" for r in page["records"] if r["state"] == "succeeded"),
          "output is bytes: the invalid byte is U+FFFD: %r" % [r["output_tail"] for r in page["records"]])
    check(call(a, "GET", "/api/v1/jobs/tick/history?state=bogus", H)[0] == 400, "bad state: 400")
    check(call(a, "GET", "/api/v1/jobs/tick/history?before=yesterday", H)[0] == 400, "bad before: 400")
    check(call(a, "GET", "/api/v1/jobs/nosuch/history", H)[0] == 404, "history of an unknown job: 404")
    retried = eventually(lambda: [r for r in call(a, "GET", "/api/v1/history?job=failing&state=failed", "/api/v1/history")[1]["records"]
                                  if r["earlier_attempts"]], 30)
    check(retried and retried[0]["attempt"] == 2 and retried[0]["earlier_attempts"][0]["attempt"] == 1,
          "a retried run shows its earlier attempt")
    check(retried and "<script>" in retried[0]["output_tail"], "output is returned as data, unchanged")
    status, nodes = call(a, "GET", "/api/v1/nodes", "/api/v1/nodes")
    check(status == 200 and {n["node"] for n in nodes["nodes"]} >= {"api-a", "api-b", "api-c", "api-d"}
          and nodes["answered_by"]["node"] == "api-a", "nodes: %s" % nodes)
    # Every node's version comes from its own lease, not from the node answering.
    version = subprocess.run([BIN, "--version"], capture_output=True, text=True).stdout.split()[-1]
    check(status == 200 and nodes["answered_by"]["version"] == version
          and all(n["version"] == version for n in nodes["nodes"] if n["node"].startswith("api-")),
          "each node's version (%s): %s" % (version, nodes))
    check(call(a, "GET", "/api/v1/nosuch", "/api/v1/nosuch")[0] == 404, "unknown path: JSON 404")
    calls.pop()  # not an operation of the document


def test_operations(a):
    T = "/api/v1/jobs/{name}/trigger"
    status, req = call(a, "POST", "/api/v1/jobs/tick/trigger", T, ALICE, {"note": "from the test"})
    check(status == 202 and req["requested_by"] == "alice", "trigger: %d %s" % (status, req))
    ran = eventually(lambda: [r for r in call(a, "GET", "/api/v1/history?job=tick&limit=200", "/api/v1/history")[1]["records"]
                              if r["request"] == req["request"] and r["state"] == "succeeded"])
    check(ran and ran[0]["trigger"] == "manual" and ran[0]["requested_by"] == "alice" and ran[0]["note"] == "from the test",
          "the triggered run ran, once, as alice's: %s" % ran)
    check(call(a, "POST", "/api/v1/jobs/nosuch/trigger", T, ALICE)[0] == 404, "trigger unknown: 404")
    check(call(a, "POST", "/api/v1/jobs/mine/trigger", T, ALICE)[0] == 409, "trigger run_on local: 409")
    check(call(a, "POST", "/api/v1/jobs/tick/trigger", T, ALICE, raw=b"[1,2")[0] == 400, "bad JSON body: 400")
    check(call(a, "POST", "/api/v1/jobs/tick/trigger", T, ALICE, {"note": 5})[0] == 400, "note not a string: 400")
    P, R = "/api/v1/jobs/{name}/pause", "/api/v1/jobs/{name}/resume"
    status, body = call(a, "POST", "/api/v1/jobs/nightly/pause", P, ALICE, {"note": "maintenance"})
    check(status == 200 and body["paused"] and body["changed_by"] == "alice", "pause: %s" % body)
    check(call(a, "POST", "/api/v1/jobs/nightly/pause", P, ALICE)[0] == 409, "pause a paused job: 409")
    check(call(a, "GET", "/api/v1/jobs/nightly", "/api/v1/jobs/{name}")[1]["control"]["note"] == "maintenance",
          "the pause state is the job's")
    check(call(a, "POST", "/api/v1/jobs/nosuch/pause", P, ALICE)[0] == 404, "pause unknown: 404")
    status, body = call(a, "POST", "/api/v1/jobs/nightly/resume", R, ALICE)
    check(status == 200 and not body["paused"], "resume: %s" % body)
    check(call(a, "POST", "/api/v1/jobs/nightly/resume", R, ALICE)[0] == 409, "resume a running job: 409")
    check(call(a, "POST", "/api/v1/jobs/nosuch/resume", R, BOB)[0] == 403, "read token cannot resume")
    B = "/api/v1/jobs/{name}/backfill"
    start = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(STARTED - 60))
    end = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(STARTED - 58))
    after_end = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(STARTED - 57))
    status, plan = call(a, "POST", "/api/v1/jobs/tick/backfill", B, ALICE, {"from": start, "to": end, "dry_run": True})
    check(status == 200 and len(plan["instants"]) == 3 and plan["backfill"] is None, "dry run: %s" % plan)
    status, plan = call(a, "POST", "/api/v1/jobs/tick/backfill", B, ALICE, {"from": start, "to": end, "note": "gap"})
    check(status == 202 and plan["backfill"] and len(plan["instants"]) == 3, "backfill: %s" % plan)
    def backfilled():
        records = call(a, "GET", "/api/v1/history?job=tick&before=" + after_end, "/api/v1/history")[1]["records"]
        return [r for r in records if r["trigger"] == "backfill" and r["state"] == "succeeded"]
    done = eventually(lambda: len(backfilled()) == 3 and backfilled(), 30)
    check(len(done) == 3 and all(r["requested_by"] == "alice" for r in done), "the backfilled ticks ran once each: %s" % done)
    check(call(a, "POST", "/api/v1/jobs/tick/backfill", B, ALICE, {"from": start})[0] == 400, "backfill without to: 400")
    check(call(a, "POST", "/api/v1/jobs/tick/backfill", B, ALICE, {"from": end, "to": start})[0] == 400, "reversed: 400")
    check(call(a, "POST", "/api/v1/jobs/everywhere/backfill", B, ALICE, {"from": start, "to": end})[0] == 409,
          "backfill of an every_node job: 409")
    check(call(a, "POST", "/api/v1/jobs/nosuch/backfill", B, ALICE, {"from": start, "to": end})[0] == 404, "backfill unknown: 404")


def test_reload(work, a, node_a):
    write(os.path.join(work, "tokens"), "operate carol %s\n" % CAROL)
    node_a.send_signal(signal.SIGHUP)
    T = "/api/v1/jobs/{name}/trigger"
    check(eventually(lambda: call(a, "POST", "/api/v1/jobs/tick/trigger", T, CAROL)[0] == 202, 10), "SIGHUP: carol's new token works")
    check(call(a, "POST", "/api/v1/jobs/tick/trigger", T, ALICE)[0] == 401, "SIGHUP: alice's removed token no longer does")
    write(os.path.join(work, "tokens"), "operate carol\n")
    node_a.send_signal(signal.SIGHUP)
    check(eventually(lambda: "api_tokens_rejected" in read(os.path.join(work, "api-a.log")), 10), "a bad tokens file is logged")
    check(call(a, "POST", "/api/v1/jobs/tick/trigger", T, CAROL)[0] == 202, "a bad tokens file keeps the tokens in force")


def test_bad_tokens_file(work):
    bad = os.path.join(work, "bad-tokens")
    write(bad, "# ok\noperate dave %s\nadmin erin %s\n" % ("d" * 20, "secret-erin-token-xyz"))
    cfg = os.path.join(work, "bad.yaml")
    write(cfg, "node:\n  api_tokens_file: bad-tokens\njobs: []\n")
    r = subprocess.run([BIN, "run", "--config", cfg, "--store", "sqlite:" + os.path.join(work, "bad.db"),
                        "--http", "127.0.0.1:0"], capture_output=True, timeout=20)
    out = (r.stdout + r.stderr).decode()
    check(r.returncode == 2 and bad + ":3:1: ROLE: expected read or operate" in out, "a bad tokens file stops the node: %d %s" % (r.returncode, out))
    check("secret-erin-token-xyz" not in out and "d" * 20 not in out, "the error shows no token")
    r = subprocess.run([BIN, "check", cfg], capture_output=True, timeout=20)
    out = (r.stdout + r.stderr).decode()
    check(r.returncode == 2 and bad + ":3:1: ROLE: expected read or operate" in out and "secret-erin" not in out,
          "check finds the same error: %d %s" % (r.returncode, out))


def test_store_down(work):
    env = subprocess.run([os.path.join(ROOT, "scripts/pg-server.sh"), "start", "--owner", str(os.getpid()), "--env"],
                         capture_output=True, text=True, check=True).stdout
    pg = dict(line.split("=", 1) for line in env.split())
    try:
        p, port = start_node(work, "api-pg", "127.0.0.1:0", store=pg["SOLOCRON_PG_URL"])
        J = "/api/v1/jobs"
        check(eventually(lambda: call(port, "GET", J, J)[1].get("total") == 5, 15), "a node on PostgreSQL answers")
        subprocess.run([os.path.join(ROOT, "scripts/pg-server.sh"), "halt", pg["SOLOCRON_PG_DIR"]], check=True, capture_output=True)
        status, body = call(port, "GET", J, J)
        check(status == 503 and body["error"]["code"] == "store_unavailable", "store down: %d %s" % (status, body))
        status, body = call(port, "GET", "/api/v1/nodes", "/api/v1/nodes")
        check(status == 503, "store down, nodes: %d" % status)
        subprocess.run([os.path.join(ROOT, "scripts/pg-server.sh"), "resume", pg["SOLOCRON_PG_DIR"]], check=True, capture_output=True)
        check(eventually(lambda: call(port, "GET", J, J)[0] == 200, 15), "the API recovers with the store")
        p.send_signal(signal.SIGTERM)
        p.wait(timeout=60)
    finally:
        subprocess.run([os.path.join(ROOT, "scripts/pg-server.sh"), "stop", pg["SOLOCRON_PG_DIR"]], capture_output=True)


def main():
    global STARTED
    work = tempfile.mkdtemp(prefix="solocron-api.")
    os.chmod(work, 0o755)  # the PostgreSQL helper runs as postgres
    try:
        tokens = os.path.join(work, "tokens")
        write(tokens, "# ROLE NAME TOKEN\noperate alice %s\n\nread    bob   %s\n" % (ALICE, BOB))
        STARTED = time.time()
        node_a, a = start_node(work, "api-a", "127.0.0.1:0", tokens)
        _, b = start_node(work, "api-b", ":0", tokens)
        _, c = start_node(work, "api-c", "127.0.0.1:0")
        _, d = start_node(work, "api-d", ":0")
        check(eventually(lambda: call(a, "GET", "/api/v1/jobs", "/api/v1/jobs")[1].get("total") == 5), "the jobs are published")
        test_roles(a, b, c, d)
        test_reads(a)
        test_operations(a)
        test_reload(work, a, node_a)
        test_bad_tokens_file(work)
        test_store_down(work)
        with urllib.request.urlopen("http://127.0.0.1:%d/api/v1/openapi.json" % a) as r:
            check_openapi(json.load(r))
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in procs:
            check(p.wait(timeout=60) == 0, "a node exits 0 on SIGTERM")
        logs = "".join(read(os.path.join(work, f)) for f in os.listdir(work) if f.endswith(".log"))
        for secret in (ALICE, BOB, CAROL, BAD):
            check(secret not in logs, "a token in a log")
        check("api_operation: alice triggered tick" in logs, "operations are logged with who")
        check("api_refused" in logs, "refusals are logged")
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        if failures:
            for f in sorted(os.listdir(work)):
                if f.endswith(".log"):
                    print("----- tail of", f)
                    print("\n".join(read(os.path.join(work, f)).splitlines()[-25:]))
        subprocess.run(["rm", "-rf", work])
    print("%d API calls checked; %d failure(s)" % (len(calls), len(failures)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
