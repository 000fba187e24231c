#!/usr/bin/env python3
"""webhook_receiver.py DIR PORT — a real HTTP receiver for tests/integration/webhooks.sh.

Listens on 127.0.0.1:PORT. Every POST is recorded as one JSON line in DIR/requests.jsonl:
{"path", "headers": {name: value}, "body": the body as text}. It answers 200, unless the file
DIR/fail holds a number N > 0: then it answers DIR/fail_status (default 500) and writes N - 1
back, so that a test can make it fail N times before it succeeds. While DIR/hang holds a
number S, it waits S seconds before it answers (after recording the request), to stand for a
receiver that does not answer. DIR/port is written once it listens.
"""
import json
import os
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DIR = sys.argv[1]
PORT = int(sys.argv[2])


def take_failure():
    path = os.path.join(DIR, "fail")
    try:
        with open(path) as f:
            n = int(f.read().strip() or "0")
    except (OSError, ValueError):
        return None
    if n <= 0:
        return None
    with open(path + ".new", "w") as f:
        f.write(str(n - 1))
    os.replace(path + ".new", path)
    try:
        with open(os.path.join(DIR, "fail_status")) as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return 500


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(n).decode("utf-8", "replace")
        rec = {"path": self.path, "headers": dict(self.headers.items()), "body": body}
        with open(os.path.join(DIR, "requests.jsonl"), "a") as f:
            f.write(json.dumps(rec) + "\n")
        try:
            with open(os.path.join(DIR, "hang")) as f:
                time.sleep(float(f.read().strip() or "0"))
        except (OSError, ValueError):
            pass
        status = take_failure() or 200
        self.send_response(status)
        if 300 <= status < 400:
            self.send_header("Location", "http://127.0.0.1:%d/elsewhere" % PORT)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, fmt, *args):
        pass


srv = ThreadingHTTPServer(("127.0.0.1", PORT), Handler)
with open(os.path.join(DIR, "port"), "w") as f:
    f.write(str(PORT))
srv.serve_forever()
