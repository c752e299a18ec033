#!/usr/bin/env python3
"""The application a sidecar solocron calls: an HTTP(S) server on 127.0.0.1 that records every
request of the cluster scenarios.

  http_sink.py PORT_FILE DIR [--tls CERT KEY]

Listens on a free port (written to PORT_FILE once listening). A request to /NAME appends
"SCHEDULED_AT NODE FENCE EPOCH METHOD" (from the X-Solocron-* headers) to DIR/NAME.ticks and
answers 200 with a body that is not UTF-8; /fail/NAME is recorded the same way and answers 500;
/slow/NAME is recorded and answered after 30 s.

Webhooks: a POST to /hook/NAME appends "SCHEDULED_AT NODE FENCE EPOCH EVENT STATE JOB" from its
JSON body to DIR/hook_NAME.ticks and answers 200; /hook-flaky/NAME answers the first request of
each (job, instant, event) with 500 (recorded in DIR/hook_NAME.refused), the next ones like /hook/.
"""
import json
import http.server
import os
import ssl
import sys
import threading
import time

port_file, out_dir = sys.argv[1], sys.argv[2]
lock = threading.Lock()


refused = set()


class Handler(http.server.BaseHTTPRequestHandler):
    def webhook(self, body):
        flaky = self.path.startswith("/hook-flaky/")
        name = self.path.rstrip("/").split("/")[-1]
        r = json.loads(body)
        line = "%s %s %s %.6f %s %s %s\n" % (r["scheduled_at"], r["node"], r["fence"], time.time(),
                                            r["event"], r["state"], r["job"])
        key = (r["job"], r["scheduled_at"], r["event"])
        with lock:
            refuse = flaky and key not in refused
            refused.add(key)
            with open(os.path.join(out_dir, "hook_%s.%s" % (name, "refused" if refuse else "ticks")), "a") as f:
                f.write(line)
        self.send_response(500 if refuse else 200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def handle_any(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if self.path.startswith("/hook"):
            return self.webhook(body)
        name = self.path.strip("/").split("?")[0].replace("/", "_") or "root"
        line = "%s %s %s %.6f %s\n" % (self.headers.get("X-Solocron-Scheduled-At"),
                                      self.headers.get("X-Solocron-Node"),
                                      self.headers.get("X-Solocron-Fence"), time.time(), self.command)
        with lock, open(os.path.join(out_dir, name + ".ticks"), "a") as f:
            f.write(line)
        if self.path.startswith("/slow/"):
            time.sleep(30)
        failing = self.path.startswith("/fail/")
        body = b"boom \xff\xfe\x00 end" if failing else b"ok \xc3\x28\n"
        self.send_response(500 if failing else 200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = handle_any

    def log_message(self, *args):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
if len(sys.argv) > 3 and sys.argv[3] == "--tls":
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(sys.argv[4], sys.argv[5])
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
with open(port_file + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
os.rename(port_file + ".tmp", port_file)
server.serve_forever()
